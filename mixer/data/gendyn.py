"""Lotka-Volterra (LV), glycolytic oscillator (GO) and Sel'kov (SM) generators (Gen-Dynamics).

Each dataset is one family (``family`` = the dataset name, ``family_id`` = 0).  Initial
conditions are drawn per trajectory index and shared by all environments of a split, from the
stream of (seed, dataset, split, family code 0); the val split is a fresh draw like the others.
Parameter coordinates: LV ``param_beta``, ``param_delta``; GO ``param_k1`` and
``param_K1_inh`` (the inhibition constant K1; not ``param_K1``, which would collide with
``param_k1`` on case-insensitive file systems once written to Zarr); SM ``param_b``.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax.numpy as jnp
import numpy as np
import xarray as xr

from mixer.data.integrate import IntegratorConfig, RightHandSide, integrate
from mixer.data.layout import trajectory_dataset
from mixer.data.splits import IVP_SPLITS, SplitCounts, shared_ics, split_rng

GENDYN_NAMES: tuple[str, ...] = ("lv", "go", "sm")


def _lv(t, z, p):
    x, y = z[0], z[1]
    return jnp.stack([0.5 * x - p[0] * x * y, p[1] * x * y - 0.5 * y])


_GO = {"J0": 2.5, "k2": 6.0, "k3": 16.0, "k4": 100.0, "k5": 1.28, "k6": 12.0, "q": 4.0,
       "N": 1.0, "A": 4.0, "kappa": 13.0, "psi": 0.1, "k": 1.8}  # fmt: skip


def _go(t, s, p):
    c = _GO
    s1, s2, s3, s4, s5, s6, s7 = (s[i] for i in range(7))
    v1 = p[0] * s1 * s6 / (1.0 + (s6 / p[1]) ** c["q"])
    a2 = c["k2"] * s2 * (c["N"] - s5)
    a3 = c["k3"] * s3 * (c["A"] - s6)
    a4 = c["k4"] * s4 * s5
    a6 = c["k6"] * s2 * s5
    leak = c["kappa"] * (s4 - s7)
    return jnp.stack([
        c["J0"] - v1,
        2.0 * v1 - a2 - a6,
        a2 - a3,
        a3 - a4 - leak,
        a2 - a4 - a6,
        -2.0 * v1 + 2.0 * a3 - c["k5"] * s6,
        c["psi"] * leak - c["k"] * s7,
    ])  # fmt: skip


def _sm(t, z, p):
    x, y = z[0], z[1]
    x2y = x * x * y
    return jnp.stack([-x + 0.1 * y + x2y, p[0] - 0.1 * y - x2y])


@dataclasses.dataclass(frozen=True)
class GenDynSystem:
    """Equations, environment grids, IC box, time grid and default counts of one dataset."""

    name: str
    rhs: RightHandSide
    param_names: tuple[str, ...]
    train_envs: tuple[tuple[float, ...], ...]
    adapt_envs: tuple[tuple[float, ...], ...]
    ic_low: tuple[float, ...]
    ic_high: tuple[float, ...]
    time: tuple[float, ...]
    counts: SplitCounts


def _pairs(a, b):
    return tuple(itertools.product(a, b))


_SM_TRAIN_B = np.concatenate(
    [np.linspace(-1.0, -0.25, 7), np.linspace(-0.1, 0.1, 7), np.linspace(0.25, 1.0, 7)]
)
_GO_IC = ((0.15, 1.60), (0.19, 2.16), (0.04, 0.20), (0.10, 0.35), (0.08, 0.30), (0.14, 2.67),
          (0.05, 0.10))  # fmt: skip

SYSTEMS: dict[str, GenDynSystem] = {
    "lv": GenDynSystem(
        "lv", _lv, ("beta", "delta"),
        _pairs((0.5, 0.75, 1.0), (0.5, 0.75, 1.0)), _pairs((0.625, 1.125), (0.625, 1.125)),
        (1.0, 1.0), (2.0, 2.0), tuple(np.linspace(0, 10, 20, endpoint=False)),
        SplitCounts(train=4, val=8, test=32, adapt_train=1, adapt_test=32),
    ),
    "go": GenDynSystem(
        "go", _go, ("k1", "K1_inh"),
        _pairs((100.0, 90.0, 80.0), (1.0, 0.75, 0.5)), _pairs((85.0, 95.0), (0.625, 0.875)),
        tuple(lo for lo, _ in _GO_IC), tuple(hi for _, hi in _GO_IC),
        tuple(np.linspace(0, 1, 20, endpoint=False)),
        SplitCounts(train=32, val=8, test=32, adapt_train=1, adapt_test=32),
    ),
    "sm": GenDynSystem(
        "sm", _sm, ("b",),
        tuple((float(b),) for b in _SM_TRAIN_B),
        tuple((b,) for b in (-1.25, -0.65, -0.05, 0.02, 0.6, 1.2)),
        (0.0, 0.0), (3.0, 3.0), tuple(np.linspace(0, 40, 11)),
        SplitCounts(train=4, val=4, test=4, adapt_train=1, adapt_test=4),
    ),
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class GenDynSpec:
    """Size knobs and numerics of LV / GO / SM.  ``n_traj=None`` uses the dataset's counts
    (DATASETS.md); ``n_train_envs`` / ``n_adapt_envs`` keep the first environments of the
    grids (``None``: all); ``integrator``: the solver settings of the simulation."""

    n_traj: SplitCounts | None = None
    n_train_envs: int | None = None
    n_adapt_envs: int | None = None
    integrator: IntegratorConfig = IntegratorConfig()

    def __post_init__(self) -> None:
        if self.n_traj is not None:
            object.__setattr__(self, "n_traj", SplitCounts.coerce(self.n_traj, None))
        for key in ("n_train_envs", "n_adapt_envs"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ValueError(f"{key} must be >= 1 or None, got {value}")

    def counts(self, dataset: str) -> SplitCounts:
        """Trajectories per environment for each split of ``dataset``."""
        return self.n_traj if self.n_traj is not None else SYSTEMS[dataset].counts


def _envs(system: GenDynSystem, spec: GenDynSpec, split: str) -> np.ndarray:
    if split in ("train", "val", "test"):
        return np.asarray(system.train_envs[: spec.n_train_envs], np.float64)
    return np.asarray(system.adapt_envs[: spec.n_adapt_envs], np.float64)


def _attrs(dataset: str, split: str, cfg: IntegratorConfig, seed: int) -> dict:
    return {
        "dataset": dataset,
        "split": split,
        "generator": "mixer.data.gendyn (Gen-Dynamics systems, DATASETS.md)",
        "solver": cfg.describe(),
        "rtol": cfg.rtol,
        "atol": cfg.atol,
        "seed": int(seed),
        "ic_rule": "uniform per trajectory index, shared across environments",
    }


def generate_gendyn(dataset: str, spec: GenDynSpec, seed: int) -> dict[str, xr.Dataset]:
    """Every split (train, val, test, adapt_train, adapt_test) of LV, GO or SM.

    All splits are integrated in one batched call.
    """
    if dataset not in SYSTEMS:
        raise ValueError(f"unknown Gen-Dynamics dataset {dataset!r}; known: {GENDYN_NAMES}")
    system, counts = SYSTEMS[dataset], spec.counts(dataset)
    t = np.asarray(system.time, np.float64)
    envs = {s: _envs(system, spec, s) for s in IVP_SPLITS}
    ics = {
        s: shared_ics(split_rng(seed, dataset, s, 0), system.ic_low, system.ic_high, counts[s])
        for s in IVP_SPLITS
    }
    x0 = np.concatenate([np.tile(ics[s], (len(envs[s]), 1)) for s in IVP_SPLITS])
    p = np.concatenate([np.repeat(envs[s], counts[s], axis=0) for s in IVP_SPLITS])
    ys = integrate(system.rhs, x0, p, np.broadcast_to(t, (len(x0), t.size)), spec.integrator)
    out, start = {}, 0
    for s in IVP_SPLITS:
        n_env, n_traj, dim = len(envs[s]), counts[s], len(system.ic_low)
        x = ys[start : start + n_env * n_traj].reshape(n_env, n_traj, t.size, dim)
        start += n_env * n_traj
        params = {name: envs[s][:, k] for k, name in enumerate(system.param_names)}
        out[s] = trajectory_dataset(
            x, np.broadcast_to(t, (n_env, t.size)), [dataset] * n_env, [0] * n_env, params,
            _attrs(dataset, s, spec.integrator, seed),
        )  # fmt: skip
    return out
