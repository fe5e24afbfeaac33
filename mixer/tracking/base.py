"""The tracker interface: an abstract ``Tracker`` (a run's parameters, metrics, tags and
artifacts; a context manager that ends the run with the right status), the do-nothing
``NullTracker`` for tests and runs without tracking, and ``flatten_dict``."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["Tracker", "NullTracker", "flatten_dict"]


def flatten_dict(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into one level with dotted keys:
    ``{"a": {"b": 1}, "c": 2}`` -> ``{"a.b": 1, "c": 2}``. Non-mapping values are kept as they
    are (lists included); keys are converted to strings."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_dict(value, name))
        else:
            flat[name] = value
    return flat


class Tracker(abc.ABC):
    """Where a run reports its parameters, metrics, tags and artifacts.

    Use as a context manager: ``with tracker: ...`` calls ``start`` and then ``end`` with status
    ``"FINISHED"``, ``"KILLED"`` when the block is interrupted (Ctrl-C, ``SystemExit``) or
    ``"FAILED"`` when it raises. Nested mappings given to ``log_params``, ``log_metrics`` and
    ``set_tags`` are flattened to dotted keys.
    """

    def __enter__(self) -> Tracker:
        self.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.end("FINISHED")
        else:
            self.end("FAILED" if issubclass(exc_type, Exception) else "KILLED")

    def reference(self) -> dict[str, str]:
        """Where the open run lives, as plain data to store with a run's files (empty when
        nothing is tracked); :func:`log_to_run` takes it back."""
        return {}

    @abc.abstractmethod
    def start(self) -> None:
        """Open the run."""

    @abc.abstractmethod
    def end(self, status: str = "FINISHED") -> None:
        """Close the run with the given status (``"FINISHED"``, ``"FAILED"``, ``"KILLED"``)."""

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record the run's settings (values are stored as strings)."""
        self._log_params({key: str(value) for key, value in flatten_dict(params).items()})

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        """Record scalar metrics (anything ``float()`` accepts, e.g. 0-d JAX arrays) at ``step``."""
        values = {key: float(value) for key, value in flatten_dict(metrics).items()}
        self._log_metrics(values, int(step))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Attach tags to the run (values are stored as strings)."""
        self._set_tags({key: str(value) for key, value in flatten_dict(tags).items()})

    @abc.abstractmethod
    def log_artifact(self, path: str | Path) -> None:
        """Copy a file (or a directory's contents) into the run's artifacts."""

    @abc.abstractmethod
    def _log_params(self, params: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def _log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    @abc.abstractmethod
    def _set_tags(self, tags: dict[str, str]) -> None: ...


class NullTracker(Tracker):
    """A tracker that records nothing (tests, dry runs, tracking switched off)."""

    def start(self) -> None:
        pass

    def end(self, status: str = "FINISHED") -> None:
        pass

    def log_artifact(self, path: str | Path) -> None:
        pass

    def _log_params(self, params: dict[str, str]) -> None:
        pass

    def _log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def _set_tags(self, tags: dict[str, str]) -> None:
        pass
