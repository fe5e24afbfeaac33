"""Experiment tracking: an abstract ``Tracker``, a do-nothing ``NullTracker`` and an MLflow
backend (``MlflowTracker``).

This is the only module of the library that uses MLflow, and it imports MLflow lazily (inside
the functions that need it), so ``import mixer.tracking`` stays cheap. MLflow is a browsing
dashboard only: results, tables and figures are built from the files the workflow writes.

The MLflow store is an SQLite database (e.g. ``sqlite:///results/mlflow.db``) shared by many
concurrent jobs. Creating the database and the experiments is serialised with a file lock next
to the database, experiment creation is create-or-get, and every write is retried on database
contention, so several processes may start on a new store and log at once.

One training run is one MLflow run: a resumed job reopens the run of its earlier attempt
(``MlflowTracker(resume_run_id=...)``), a run left RUNNING by a killed job is marked KILLED at
the next start, and the evaluation jobs add their metrics to the finished run
(:func:`log_to_run`). Artifact locations given as relative paths stay relative (to the working
directory of the processes that log and serve them), so moving the working directory with its
``results/`` keeps every artifact reachable.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import functools
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeGuard, TypeVar
from urllib.parse import urlparse

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")


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


# ---------------------------------------------------------------------------------------------
# MLflow backend


def _sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of an ``sqlite:///`` URI (None for other stores or in-memory)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    path = tracking_uri[len(prefix) :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


@contextlib.contextmanager
def _store_lock(tracking_uri: str) -> Iterator[None]:
    """Exclusive inter-process lock (``<db>.lock``) around store and experiment creation for
    SQLite stores; creates the database's folder. A no-op for other stores."""
    db_path = _sqlite_path(tracking_uri)
    if db_path is None:
        yield
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(db_path.with_name(db_path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_transient(error: Exception) -> bool:
    """Errors worth retrying: database trouble (locks, races on a new store), as opposed to
    invalid input."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, MlflowException):
        return error.error_code not in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    return isinstance(error, SQLAlchemyError)


def _with_retries(action: Callable[[], _T], what: str, attempts: int = 8) -> _T:
    """Run ``action``, retrying transient failures with exponential backoff (0.1 s doubling,
    about 13 s in all); the last failure, or any non-transient one, is raised."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as error:
            if attempt == attempts - 1 or not _is_transient(error):
                raise
            _LOG.warning("%s failed (attempt %d/%d): %s", what, attempt + 1, attempts, error)
            time.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")


def _artifact_uri(location: str | Path) -> str:
    """A URI stays as it is, an absolute path becomes a ``file://`` URI, and a relative path
    stays relative (to the working directory of every process that logs or serves artifacts)."""
    location = str(location)
    if len(urlparse(location).scheme) > 1:  # a URI: file://, s3://, mlflow-artifacts:, ...
        return location
    path = Path(location)
    return path.resolve().as_uri() if path.is_absolute() else path.as_posix()


def _default_artifact_location(tracking_uri: str, experiment: str) -> str | None:
    db_path = _sqlite_path(tracking_uri)
    return None if db_path is None else _artifact_uri(db_path.parent / "mlartifacts" / experiment)


def _is_relative(location: str | None) -> TypeGuard[str]:
    return (
        location is not None
        and len(urlparse(location).scheme) <= 1
        and not Path(location).is_absolute()
    )


def _keep_relative_location(tracking_uri: str, experiment_id: str, location: str) -> None:
    """MLflow makes a relative artifact location absolute when it creates an experiment; write
    the relative form back (SQLite stores only), so that the runs' artifact URIs, derived from
    it, stay relative to the working directory."""
    db_path = _sqlite_path(tracking_uri)
    if db_path is None:
        _LOG.warning("artifact location %r: only an SQLite store keeps it relative", location)
        return
    with contextlib.closing(sqlite3.connect(db_path, timeout=60)) as connection, connection:
        connection.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
            (location, int(experiment_id)),
        )


def _get_or_create_experiment(
    client, tracking_uri: str, name: str, artifact_location: str | None
) -> str:
    """The id of experiment ``name``, created when missing (a relative ``artifact_location``
    stays relative). Safe against a concurrent creation by another process (the loser of the
    unique-name race reads the winner's experiment)."""

    def attempt() -> str:
        existing = client.get_experiment_by_name(name)
        if existing is None:
            try:
                experiment_id = client.create_experiment(name, artifact_location=artifact_location)
            except Exception:
                existing = client.get_experiment_by_name(name)
                if existing is None:
                    raise
            else:
                if _is_relative(artifact_location):
                    _keep_relative_location(tracking_uri, experiment_id, artifact_location)
                return experiment_id
        if existing.lifecycle_stage == "deleted":
            _LOG.warning("restoring deleted MLflow experiment %r", name)
            client.restore_experiment(existing.experiment_id)
        return existing.experiment_id

    return _with_retries(attempt, f"getting or creating MLflow experiment {name!r}")


def _open_store(tracking_uri: str, artifact_locations: Mapping[str, str | None]):
    """A client on the store plus the id of every experiment, creating what is missing."""
    from mlflow.tracking import MlflowClient

    with _store_lock(tracking_uri):
        client = MlflowClient(tracking_uri=tracking_uri)
        ids = {
            name: _get_or_create_experiment(client, tracking_uri, name, location)
            for name, location in artifact_locations.items()
        }
    return client, ids


def ensure_store(
    tracking_uri: str, artifact_root: str | Path, experiments: Iterable[str]
) -> dict[str, str]:
    """Create the tracking store (the SQLite database and its tables) and the given
    experiments if they do not exist yet; experiment ``name`` stores its artifacts under
    ``artifact_root/name``. Idempotent. Returns the id of every experiment."""
    locations = {name: _artifact_uri(Path(artifact_root) / name) for name in experiments}
    _, ids = _open_store(tracking_uri, locations)
    return ids


def _find_run(client, run_id: str, experiment_id: str):
    """The live run ``run_id`` of experiment ``experiment_id``, or None (unknown id, deleted
    run, another experiment)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None
    if run.info.lifecycle_stage == "deleted" or run.info.experiment_id != experiment_id:
        return None
    return run


def _kill_stale_runs(client, experiment_id: str, run_name: str, keep: str) -> list[str]:
    """Mark KILLED every other RUNNING run named ``run_name`` (left by a killed job: one run
    name is one workflow job, never two at once). Returns their ids."""
    if "'" in run_name:
        raise ValueError(f"run name {run_name!r} must not contain a quote")
    query = f"attributes.run_name = '{run_name}' AND attributes.status = 'RUNNING'"
    runs = _with_retries(
        lambda: client.search_runs([experiment_id], filter_string=query),
        "searching stale MLflow runs",
    )
    stale = [run.info.run_id for run in runs if run.info.run_id != keep]
    for run_id in stale:
        _LOG.warning(
            "MLflow run %s (%s) was left RUNNING by an interrupted job: marked KILLED",
            run_id,
            run_name,
        )
        _with_retries(
            functools.partial(client.set_terminated, run_id, status="KILLED"),
            "marking a stale run KILLED",
        )
    return stale


class MlflowTracker(Tracker):
    """Logs one MLflow run through an ``MlflowClient`` (no global MLflow state is touched).

    Args:
        tracking_uri: the store, e.g. ``"sqlite:///results/mlflow.db"``.
        experiment: experiment name; created (with ``artifact_location``) if missing.
        run_name: the run's display name.
        artifact_location: where a newly created experiment keeps artifacts; by default
            ``mlartifacts/<experiment>`` next to an SQLite database (relative when the
            database path is).
        resume_run_id: the run of an earlier attempt of the same job: ``start`` reopens it
            (status RUNNING again) so that a resumed job stays one run; a new run is created
            when it is unknown to the store.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        artifact_location: str | Path | None = None,
        *,
        resume_run_id: str | None = None,
    ):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_name = run_name
        self.resume_run_id = resume_run_id
        if artifact_location is None:
            self.artifact_location = _default_artifact_location(tracking_uri, experiment)
        else:
            self.artifact_location = _artifact_uri(artifact_location)
        self._client = None
        self._run_id: str | None = None

    @property
    def run_id(self) -> str:
        """The MLflow id of the open run."""
        return self._active()[1]

    def reference(self) -> dict[str, str]:
        return {"mlflow_tracking_uri": self.tracking_uri, "mlflow_run_id": self.run_id}

    def _active(self):
        if self._run_id is None:
            raise RuntimeError("the MLflow tracker is not started (use it as a context manager)")
        return self._client, self._run_id

    def _reopen(self, client, experiment_id: str) -> str | None:
        if self.resume_run_id is None:
            return None
        if _find_run(client, self.resume_run_id, experiment_id) is None:
            _LOG.warning(
                "MLflow run %s of an earlier attempt is not in the store; starting a new run",
                self.resume_run_id,
            )
            return None
        run_id = self.resume_run_id
        _with_retries(lambda: client.update_run(run_id, status="RUNNING"), "reopening the run")
        return run_id

    def start(self) -> None:
        if self._run_id is not None:
            raise RuntimeError("the tracker is already started")
        client, ids = _open_store(self.tracking_uri, {self.experiment: self.artifact_location})
        experiment_id = ids[self.experiment]
        run_id = self._reopen(client, experiment_id)
        if run_id is None:
            run = _with_retries(
                lambda: client.create_run(experiment_id, run_name=self.run_name),
                "creating an MLflow run",
            )
            run_id = run.info.run_id
        _kill_stale_runs(client, experiment_id, self.run_name, keep=run_id)
        self._client, self._run_id = client, run_id
        verb = "reopened" if run_id == self.resume_run_id else "started"
        _LOG.info("MLflow run %s (%s) in %r %s", run_id, self.run_name, self.experiment, verb)

    def end(self, status: str = "FINISHED") -> None:
        if self._run_id is None:
            return
        client, run_id = self._active()
        _with_retries(lambda: client.set_terminated(run_id, status=status), "ending the run")
        self._client, self._run_id = None, None

    def log_artifact(self, path: str | Path) -> None:
        client, run_id = self._active()
        path = Path(path)
        if path.is_dir():
            client.log_artifacts(run_id, str(path))
        else:
            client.log_artifact(run_id, str(path))

    def _log_batch(self, **entities) -> None:
        client, run_id = self._active()
        _with_retries(lambda: client.log_batch(run_id, **entities), "logging to MLflow")

    def _log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        self._log_batch(params=[Param(key, value) for key, value in params.items()])

    def _log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._log_batch(metrics=[Metric(key, value, now, step) for key, value in metrics.items()])

    def _set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self._log_batch(tags=[RunTag(key, value) for key, value in tags.items()])


def log_to_run(
    reference: Mapping[str, str],
    metrics: Mapping[str, Any],
    *,
    tags: Mapping[str, Any] | None = None,
    artifacts: Iterable[str | Path] = (),
) -> list[str]:
    """Add metrics (at step 0), tags and artifacts to an existing run, e.g. a finished training
    run, without changing its status.

    ``reference`` is a :meth:`Tracker.reference` (``mlflow_tracking_uri``, ``mlflow_run_id``);
    an empty one (nothing was tracked) logs nothing. Metrics that are None or not finite (an
    unknown value, e.g. of a diverged evaluation) are not logged: their names are returned.
    Writes are retried on database contention, so parallel jobs lose no update.
    """
    if not reference:
        return []
    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=reference["mlflow_tracking_uri"])
    run_id = reference["mlflow_run_id"]
    now = int(time.time() * 1000)
    values = flatten_dict(metrics)
    unknown = sorted(k for k, v in values.items() if v is None or not math.isfinite(float(v)))
    batch = functools.partial(
        client.log_batch,
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in values.items() if k not in unknown],
        tags=[RunTag(k, str(v)) for k, v in flatten_dict(tags or {}).items()],
    )
    _with_retries(batch, "logging to a finished run")
    for path in artifacts:
        upload = functools.partial(client.log_artifact, run_id, str(path))
        _with_retries(upload, "logging an artifact")
    return unknown
