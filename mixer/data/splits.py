"""Random streams, environment grids and initial-condition draws shared by the generators.

Random streams: every draw comes from ``numpy.random.default_rng`` seeded by a
``SeedSequence`` of four integers ``(seed, dataset code, split code, family code)`` taken from
the fixed tables below (never Python's salted ``hash``), so a seed reproduces every array bit
for bit and two splits never draw from the same stream.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

IVP_SPLITS: tuple[str, ...] = ("train", "val", "test", "adapt_train", "adapt_test")

# Fixed codes; append new entries, never renumber (that would change every stored dataset).
DATASET_CODES: dict[str, int] = {
    "odebench2": 1,
    "odebench10a": 2,
    "odebench10b": 3,
    "lv": 4,
    "go": 5,
    "sm": 6,
    "sccts": 7,
    "epilepsy2": 8,
}
SPLIT_CODES: dict[str, int] = {
    "train": 1,
    "val": 2,
    "test": 3,
    "adapt_train": 4,
    "adapt_test": 5,
}

IC_SHRINK = 1e-3


@dataclasses.dataclass(frozen=True)
class SplitCounts:
    """A number per IVP split (trajectories per environment, usually); ``counts["val"]`` works."""

    train: int
    val: int
    test: int
    adapt_train: int
    adapt_test: int

    def __post_init__(self) -> None:
        for split in IVP_SPLITS:
            value = getattr(self, split)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"count for split {split!r} must be an int >= 1, got {value!r}")

    def __getitem__(self, split: str) -> int:
        if split not in IVP_SPLITS:
            raise KeyError(split)
        return getattr(self, split)

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain ``{split: count}`` dictionary."""
        return {split: int(getattr(self, split)) for split in IVP_SPLITS}

    @classmethod
    def coerce(
        cls, value: SplitCounts | Mapping[str, int], base: SplitCounts | None
    ) -> SplitCounts:
        """``value`` as a ``SplitCounts``; a mapping overrides ``base`` (or must name every
        split when there is no base)."""
        if isinstance(value, SplitCounts):
            return value
        if base is not None:
            return base.updated(value)
        missing = [s for s in IVP_SPLITS if s not in value]
        if missing:
            raise ValueError(f"counts lack the split(s) {missing}")
        return cls(**{s: value[s] for s in IVP_SPLITS}).updated(value)

    def updated(self, mapping: Mapping[str, int]) -> SplitCounts:
        """A copy with some splits overridden; an unknown split name raises ``ValueError``."""
        for key in mapping:
            if key not in IVP_SPLITS:
                raise ValueError(f"unknown split {key!r} in counts; expected one of {IVP_SPLITS}")
        return dataclasses.replace(self, **dict(mapping))


def split_rng(seed: int, dataset: str, split: str, family_code: int) -> np.random.Generator:
    """The random stream of one (seed, dataset, split, family).

    ``family_code`` is a non-negative integer fixed by the generator (the ODEBench id, the
    class index for SCCTS, 0 for single-family datasets).
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if dataset not in DATASET_CODES:
        raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(DATASET_CODES)}")
    if split not in SPLIT_CODES:
        raise ValueError(f"unknown split {split!r}; known: {sorted(SPLIT_CODES)}")
    if family_code < 0:
        raise ValueError(f"family_code must be >= 0, got {family_code}")
    entropy = [int(seed), DATASET_CODES[dataset], SPLIT_CODES[split], int(family_code)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def training_grid(ref: Sequence[float], n: int) -> np.ndarray:
    """Training parameters, shape ``(n, P)``, on a 90 %–110 % grid around ``ref``.

    One parameter: ``linspace(0.9, 1.1, n) * ref``.  Two parameters: ``ceil(sqrt(n))`` values
    per parameter, the grid in row-major order (first parameter outer), first ``n`` points.
    """
    values = np.asarray(ref, dtype=np.float64)
    if n < 1:
        raise ValueError(f"need at least one environment, got {n}")
    if values.size == 1:
        return (np.linspace(0.9, 1.1, n) * values[0])[:, None]
    if values.size == 2:
        k = math.ceil(math.sqrt(n))
        a = np.linspace(0.9, 1.1, k) * values[0]
        b = np.linspace(0.9, 1.1, k) * values[1]
        grid = np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2)
        return grid[:n]
    raise ValueError(f"grids are defined for 1 or 2 parameters, got {values.size}")


def adaptation_envs(ref: Sequence[float], n: int) -> np.ndarray:
    """Adaptation parameters ``(n, P)``: all of ``ref`` scaled by ``linspace(0.8, 1.2, n)``."""
    if n < 1:
        raise ValueError(f"need at least one environment, got {n}")
    factors = np.linspace(0.8, 1.2, n)
    return factors[:, None] * np.asarray(ref, dtype=np.float64)[None, :]


def ic_box(ic_a: Sequence[float], ic_b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The per-dimension sampling box between two reference ICs, shrunk by 1e-3 at both ends."""
    a, b = np.asarray(ic_a, np.float64), np.asarray(ic_b, np.float64)
    lo, hi = np.minimum(a, b) + IC_SHRINK, np.maximum(a, b) - IC_SHRINK
    mid = 0.5 * (a + b)
    collapsed = hi < lo
    return np.where(collapsed, mid, lo), np.where(collapsed, mid, hi)


def odebench_ics(
    rng: np.random.Generator,
    ref_ics: tuple[Sequence[float], Sequence[float]],
    n_envs: int,
    n_ics: int,
    include_reference: bool,
) -> np.ndarray:
    """Initial conditions ``(n_envs, n_ics, D)`` of one ODEBench family and split.

    Each environment gets its own draws (uniform in :func:`ic_box`).  With
    ``include_reference`` (the train split) the first ``min(2, n_ics)`` trajectories of every
    environment start from the reference ICs, the rest are drawn.
    """
    lo, hi = ic_box(*ref_ics)
    n_ref = min(2, n_ics) if include_reference else 0
    drawn = rng.uniform(lo, hi, size=(n_envs, n_ics - n_ref, lo.size))
    refs = np.broadcast_to(np.asarray(ref_ics, np.float64)[:n_ref], (n_envs, n_ref, lo.size))
    return np.concatenate([refs, drawn], axis=1)


def shared_ics(
    rng: np.random.Generator, low: Sequence[float], high: Sequence[float], n_ics: int
) -> np.ndarray:
    """``(n_ics, D)`` ICs drawn uniformly in ``[low, high)``, one per trajectory index and
    shared by all environments (the Gen-Dynamics convention)."""
    lo, hi = np.asarray(low, np.float64), np.asarray(high, np.float64)
    return rng.uniform(lo, hi, size=(n_ics, lo.size))
