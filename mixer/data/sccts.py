"""Synthetic Control Chart Time Series (Alcock 1999): generator and UCI-file loader.

One split, ``train``, of all series; each series is its own environment with one trajectory
(state dimension 1) on ``t = 1..60``.  Classes in order A normal, B cyclic, C increasing trend,
D decreasing trend, E upward shift, F downward shift (``family`` "A".."F", ``family_id``
0..5); the paper's families are the pairs A/B, C/D, E/F (coordinates ``pair``, ``pair_id``).

Generator, per class from the stream (seed, "sccts", "train", class index + 1), with
``m = 30``, ``s = 2`` and noise ``r(t) ~ U(-3, 3)`` i.i.d.: the class parameters of all its
series are drawn first (B: amplitude a then period T, each U(10, 15); C/D: slope g ~ U(0.2, 0.5);
E/F: magnitude x ~ U(7.5, 20) then onset t3 ~ U(20, 40)), then the noise matrix.  Parameters
are stored as ``param_a``, ``param_T``, ``param_g``, ``param_x``, ``param_t3`` (NaN where a class
has none, and everywhere for the file source).

Normalisation (DATASETS.md): models see the series z-scored per time index across the
training series.  ``x`` holds ``(x_raw - x_mean) / x_std``; ``x_raw`` keeps the raw values
(about 30 ± 20) and ``x_mean``, ``x_std`` (dims ``time, state``) the statistics of each of the
60 positions over the training split (population standard deviation), so that predictions
can be mapped back with ``x * x_std + x_mean``.  The attribute ``normalisation`` says so.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import xarray as xr

from mixer.data.layout import trajectory_dataset
from mixer.data.splits import split_rng
from mixer.io.datasets import read_uci_sccts

logger = logging.getLogger(__name__)

CLASSES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")
CLASS_NAMES: tuple[str, ...] = (
    "normal", "cyclic", "increasing trend", "decreasing trend", "upward shift", "downward shift",
)  # fmt: skip
PAIRS: tuple[str, ...] = ("AB", "CD", "EF")
LENGTH = 60
MEAN, SCALE = 30.0, 2.0
PARAM_NAMES: tuple[str, ...] = ("a", "T", "g", "x", "t3")
NORMALISATION = (
    "z-score per time index across the training series: x = (x_raw - x_mean) / x_std, "
    "x_mean and x_std (population) over the series of the train split"
)


@dataclasses.dataclass(frozen=True)
class SccTsSpec:
    """``source``: "generate" (Alcock's generator) or "file" (the UCI ``synthetic_control.data``
    at ``path``).  ``n_per_class`` series per class (at most 100 with the file: the first ones
    of each class block are kept)."""

    source: str = "generate"
    path: str | None = None
    n_per_class: int = 100

    def __post_init__(self) -> None:
        if self.source not in ("generate", "file"):
            raise ValueError(f"source must be 'generate' or 'file', got {self.source!r}")
        if self.source == "file" and not self.path:
            raise ValueError("source='file' needs a path to synthetic_control.data")
        if self.n_per_class < 1:
            raise ValueError(f"n_per_class must be >= 1, got {self.n_per_class}")
        if self.source == "file" and self.n_per_class > 100:
            raise ValueError(f"the UCI file has 100 series per class, asked {self.n_per_class}")

    def file_path(self) -> Path:
        """The UCI file of ``source == "file"``."""
        if not self.path:
            raise ValueError("source='file' needs a path to synthetic_control.data")
        return Path(self.path)


def generate_class(rng: np.random.Generator, cls: str, n: int) -> tuple[np.ndarray, dict]:
    """``n`` series ``(n, 60)`` of class ``cls`` and their parameters ``{name: (n,)}``."""
    t = np.arange(1, LENGTH + 1, dtype=np.float64)
    nan = np.full(n, np.nan)
    params = {name: nan.copy() for name in PARAM_NAMES}
    if cls == "B":
        params["a"] = rng.uniform(10.0, 15.0, n)
        params["T"] = rng.uniform(10.0, 15.0, n)
    elif cls in ("C", "D"):
        params["g"] = rng.uniform(0.2, 0.5, n)
    elif cls in ("E", "F"):
        params["x"] = rng.uniform(7.5, 20.0, n)
        params["t3"] = rng.uniform(20.0, 40.0, n)
    elif cls != "A":
        raise ValueError(f"unknown class {cls!r}")
    y = MEAN + rng.uniform(-3.0, 3.0, (n, LENGTH)) * SCALE
    if cls == "B":
        y += params["a"][:, None] * np.sin(2 * np.pi * t[None] / params["T"][:, None])
    elif cls in ("C", "D"):
        y += (1.0 if cls == "C" else -1.0) * params["g"][:, None] * t[None]
    elif cls in ("E", "F"):
        step = (t[None] >= params["t3"][:, None]).astype(np.float64)
        y += (1.0 if cls == "E" else -1.0) * params["x"][:, None] * step
    return y, params


def time_index_stats(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation of every time index across ``series``.

    Args:
        series: ``(env, traj, time, state)`` training series.

    Returns:
        ``mean`` and ``std`` of shape ``(time, state)``.

    Raises:
        ValueError: when a time index has zero spread (the z-score would divide by zero).
    """
    flat = np.asarray(series, dtype=np.float64)
    flat = flat.reshape(-1, *flat.shape[2:])
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    if not np.all(std > 0.0):
        bad = np.flatnonzero(~np.all(std > 0.0, axis=-1)).tolist()
        raise ValueError(f"SCCTS series have no spread at time index(es) {bad}; cannot z-score")
    return mean, std


def normalise(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with ``x`` z-scored per time index (statistics of ``ds`` itself, the training
    split), the raw values in ``x_raw`` and the statistics in ``x_mean`` and ``x_std``."""
    raw = ds["x"].transpose("env", "traj", "time", "state")
    mean, std = time_index_stats(raw.values)
    dims = ("time", "state")
    out = ds.assign(
        x=(raw.dims, (raw.values - mean) / std),
        x_raw=raw,
        x_mean=(dims, mean),
        x_std=(dims, std),
    )
    out.attrs["normalisation"] = NORMALISATION
    return out


def _from_generator(spec: SccTsSpec, seed: int) -> tuple[np.ndarray, dict]:
    ys: list[np.ndarray] = []
    params: dict[str, list[np.ndarray]] = {name: [] for name in PARAM_NAMES}
    for k, cls in enumerate(CLASSES):
        y, p = generate_class(split_rng(seed, "sccts", "train", k + 1), cls, spec.n_per_class)
        ys.append(y)
        for name in PARAM_NAMES:
            params[name].append(p[name])
    return np.concatenate(ys), {name: np.concatenate(v) for name, v in params.items()}


def _from_file(spec: SccTsSpec) -> tuple[np.ndarray, dict]:
    data = read_uci_sccts(spec.file_path())
    blocks = [data[100 * k : 100 * k + spec.n_per_class] for k in range(len(CLASSES))]
    y = np.concatenate(blocks)
    return y, {name: np.full(len(y), np.nan) for name in PARAM_NAMES}


def generate_sccts(spec: SccTsSpec, seed: int) -> dict[str, xr.Dataset]:
    """The single ``train`` split of SCCTS (generated, or read from the UCI file)."""
    y, params = _from_file(spec) if spec.source == "file" else _from_generator(spec, seed)
    n = spec.n_per_class
    family_id = np.repeat(np.arange(len(CLASSES)), n)
    t = np.arange(1, LENGTH + 1, dtype=np.float64)
    attrs = {
        "dataset": "sccts",
        "split": "train",
        "generator": (
            "mixer.data.sccts (Alcock 1999 generator)"
            if spec.source == "generate"
            else f"UCI synthetic_control.data file {spec.file_path().name}"
        ),
        "source": spec.source,
        "solver": "none",
        "seed": int(seed),
        "n_per_class": n,
        "classes": ",".join(f"{c}={name}" for c, name in zip(CLASSES, CLASS_NAMES, strict=True)),
    }
    logger.info("SCCTS: %d series from %s", len(y), spec.source)
    ds = trajectory_dataset(
        y[:, None, :, None],
        np.broadcast_to(t, (len(y), LENGTH)),
        [CLASSES[k] for k in family_id],
        family_id,
        params,
        attrs,
        extra_coords={
            "pair": np.asarray([PAIRS[k // 2] for k in family_id]),
            "pair_id": family_id // 2,
        },
    )
    return {"train": normalise(ds)}
