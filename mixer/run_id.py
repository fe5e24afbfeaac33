"""The identity of one training run: experiment, dataset, backbone, variant and seed.

One home for what names a run. The variant string (``mixer10``, ``naive2``) is parsed here
only; the run folder is built here only; every result file of a run records its identity
(``RunId.as_dict`` under the key ``"run"``), and tables and figures read it back from there
(``mixer.io.runs.run_identity``) instead of parsing paths. Plain Python (no JAX).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["RunId", "parse_variant", "RUNS_ROOT", "RUN_DIR", "VARIANT_PATTERN"]

RUNS_ROOT = "results/runs"
"""Where the run folders live, relative to the working directory."""

_FOLDER = "{experiment}/{backbone}/{variant}/seed{seed}"

RUN_DIR = f"{RUNS_ROOT}/{_FOLDER}"
"""One run's folder as a template (the workflow's wildcards: experiment, backbone, variant,
seed); :meth:`RunId.folder` fills it in."""

VARIANT_PATTERN = "(mixer|naive)[1-9][0-9]*"
"""A variant name (the workflow's wildcard constraint; the config schema spells the same)."""

_VARIANT = re.compile(r"^(mixer|naive)([1-9][0-9]*)$")


def parse_variant(name: str) -> tuple[int, bool]:
    """``mixer2`` -> (2, False) (MixER-2); ``naive2`` -> (2, True) (MixER-2†, gradient gate)."""
    match = _VARIANT.match(name)
    if match is None or int(match.group(2)) < 1:
        raise ValueError(f"variant {name!r} is not 'mixer<M>' or 'naive<M>' with M >= 1")
    return int(match.group(2)), match.group(1) == "naive"


@dataclasses.dataclass(frozen=True)
class RunId:
    """Which run a result belongs to.

    Attributes:
        experiment: the config's experiment name (``odebench10b``).
        dataset: the dataset it trains on (None when only a path was known: older files).
        backbone: the backbone name (``geps``).
        variant: ``mixer<M>`` (MixER-M) or ``naive<M>`` (MixER-M†); see :attr:`kind`,
            :attr:`num_experts`.
        seed: the run's seed.
    """

    experiment: str
    dataset: str | None
    backbone: str
    variant: str
    seed: int

    def __post_init__(self) -> None:
        parse_variant(self.variant)  # raises on a malformed variant
        if isinstance(self.seed, bool) or int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed {self.seed!r} is not a non-negative integer")
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def num_experts(self) -> int:
        """M, the number of experts."""
        return parse_variant(self.variant)[0]

    @property
    def kind(self) -> str:
        """``"mixer"`` (K-means + least-squares gate) or ``"naive"`` (gradient-trained gate)."""
        return "naive" if parse_variant(self.variant)[1] else "mixer"

    def folder(self, root: str | Path = RUNS_ROOT) -> Path:
        """The run's folder: ``root/experiment/backbone/variant/seed<N>``."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return Path(root) / _FOLDER.format(**fields)

    def as_dict(self) -> dict[str, Any]:
        """Every field plus ``kind`` and ``num_experts`` (what result files store)."""
        return {
            **dataclasses.asdict(self),
            "kind": self.kind,
            "num_experts": self.num_experts,
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as a JSON string (for stores whose attributes are scalars)."""
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RunId:
        """The inverse of :meth:`as_dict` (derived keys are checked, not trusted)."""
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in record]
        if missing:
            raise ValueError(f"run identity {dict(record)} lacks {missing}")
        run = cls(**{n: record[n] for n in names})
        for key in ("kind", "num_experts"):
            if key in record and record[key] != getattr(run, key):
                raise ValueError(f"run identity {dict(record)}: {key} does not match the variant")
        return run

    @classmethod
    def from_json(cls, text: str) -> RunId:
        """The inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_path(cls, path: str | os.PathLike, dataset: str | None = None) -> RunId:
        """The run of a file inside a run folder ``.../experiment/backbone/variant/seed<N>/``
        (for files written before result files recorded their run)."""
        folders = Path(path).parts[-5:-1]
        seed = folders[-1] if folders else ""
        if len(folders) != 4 or not seed.startswith("seed") or not seed[4:].isdigit():
            raise ValueError(
                f"{path} is not inside a run folder .../experiment/backbone/variant/seed<N>/"
            )
        experiment, backbone, variant = folders[:3]
        return cls(experiment, dataset, backbone, variant, int(seed[4:]))
