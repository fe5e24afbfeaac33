"""ODEBench families (paper Tables 6-7) and the ODEBench-2 / -10A / -10B generators.

Environments: a 90 %-110 % training grid per family (:func:`mixer.data.splits.training_grid`)
shared by train/val/test, and adaptation environments scaled by ``linspace(0.8, 1.2, n)``
shared by adapt_train/adapt_test.  Initial conditions: every environment draws its own
(uniform between the two reference ICs, shrunk by 1e-3) from the stream of
(seed, set, split, family id); the first two train trajectories of every training environment
start from the two reference ICs.  Time grid: ``t_k = k T / n_times``, ``k = 0..n_times-1``.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import xarray as xr

from mixer.data.integrate import IntegratorConfig, RightHandSide, SwitchedField, integrate
from mixer.data.layout import trajectory_dataset
from mixer.data.splits import (
    IVP_SPLITS,
    SplitCounts,
    adaptation_envs,
    odebench_ics,
    split_rng,
    training_grid,
)

TRAIN_ENV_SPLITS = ("train", "val", "test")


def _f24(t, x, p):
    return jnp.stack([x[1], -p[0] * x[0]])


def _f25(t, x, p):
    return jnp.stack([x[1], -p[0] * x[0] - p[1] * x[1]])


def _f28(t, x, p):
    return jnp.stack([x[1], -p[0] * jnp.sin(x[0])])


def _f32(t, x, p):
    return jnp.stack([x[1], -p[0] * x[1] - x[0] ** 3 + x[0]])


def _f34(t, x, p):
    return jnp.stack([x[1], (-p[0] + jnp.cos(x[0])) * jnp.sin(x[0])])


def _f35(t, x, p):
    s1, c1 = jnp.sin(x[1]), jnp.cos(x[1])
    return jnp.stack([jnp.cos(x[0]) / jnp.tan(x[1]), jnp.sin(x[0]) * (p[0] * s1**2 + c1**2)])


def _f37(t, x, p):
    return jnp.stack([x[1], -p[0] * x[1] * (x[0] ** 2 - 1.0) - x[0]])


def _f38(t, x, p):
    return jnp.stack([p[0] * (-(x[0] ** 3) / 3.0 + x[0] + x[1]), -x[0] / p[0]])


def _f39(t, x, p):
    sq = x[0] ** 2 * x[1]
    return jnp.stack([p[0] * x[1] + sq - x[0], -p[0] * x[0] + p[1] - sq])


def _f40(t, x, p):
    return jnp.stack([x[1], p[0] * x[1] * (1.0 - x[0] ** 2) - x[0]])


@dataclasses.dataclass(frozen=True)
class OdeBenchFamily:
    """One ODEBench family: reference parameters, two reference ICs, horizon and RHS."""

    fid: int
    name: str
    params: tuple[float, ...]
    ics: tuple[tuple[float, float], tuple[float, float]]
    horizon: float
    rhs: RightHandSide


_F = OdeBenchFamily
FAMILIES: dict[int, OdeBenchFamily] = {
    f.fid: f
    for f in (
        _F(24, "harmonic oscillator, no damping", (2.1,), ((0.4, -0.03), (0.0, 0.2)), 10.0, _f24),
        _F(25, "harmonic oscillator, damped", (4.5, 0.43), ((0.12, 0.043), (0.0, -0.3)), 8.0, _f25),
        _F(28, "pendulum, no friction", (0.9,), ((-1.9, 0.0), (0.3, 0.8)), 15.0, _f28),
        _F(32, "damped double-well oscillator", (0.18,), ((-1.8, -1.8), (-2.8, 1.0)), 5.0, _f32),
        _F(
            34,
            "frictionless bead on a rotating hoop",
            (0.93,),
            ((2.1, 0.0), (-1.2, -0.2)),
            20.0,
            _f34,
        ),
        _F(
            35,
            "rotation of an object in shear flow",
            (4.2,),
            ((1.13, -0.3), (0.7, -1.7)),
            5.0,
            _f35,
        ),
        _F(37, "Van der Pol (standard)", (0.43,), ((2.2, 0.0), (0.1, 3.2)), 15.0, _f37),
        _F(38, "Van der Pol (simplified)", (3.37,), ((0.7, 0.0), (-1.1, -0.7)), 15.0, _f38),
        _F(39, "glycolytic oscillator", (2.4, 0.07), ((0.4, 0.31), (0.2, -0.7)), 4.0, _f39),
        _F(40, "Duffing (weakly nonlinear)", (0.886,), ((0.63, -0.03), (0.2, 0.2)), 10.0, _f40),
    )  # fmt: skip
}

# ODEBench-2 (paper Table 7): family 25 with c0 = 0.4 (c1 kept), new ICs, T = 5; 35 with c0 = 6.
_ODEBENCH2_CHANGES: dict[int, dict] = {
    25: {"params": (0.4, 0.43), "ics": ((0.1, 0.1), (0.0, -0.3)), "horizon": 5.0},
    35: {"params": (6.0,), "horizon": 5.0},
}

_FIELD = SwitchedField(tuple(f.rhs for f in FAMILIES.values()))
_BRANCH = {fid: k for k, fid in enumerate(FAMILIES)}

ODEBENCH_SETS: dict[str, tuple[int, ...]] = {
    "odebench2": (25, 35),
    "odebench10a": tuple(FAMILIES),
    "odebench10b": tuple(FAMILIES),
}

_DEFAULT_N_ICS = SplitCounts(train=4, val=8, test=32, adapt_train=1, adapt_test=32)


@dataclasses.dataclass(frozen=True)
class OdeBenchSpec:
    """Size knobs and numerics of an ODEBench set (defaults: ODEBench-2 / -10A, DATASETS.md).

    ``families=None`` means every family of the set; a subset (by ODEBench id) is allowed.
    ``integrator``: the solver settings of the simulation.
    """

    train_envs_per_family: int = 5
    adapt_envs_per_family: int = 1
    n_ics: SplitCounts = _DEFAULT_N_ICS
    families: tuple[int, ...] | None = None
    n_times: int = 100
    integrator: IntegratorConfig = IntegratorConfig()

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_ics", SplitCounts.coerce(self.n_ics, _DEFAULT_N_ICS))
        if self.families is not None:
            object.__setattr__(self, "families", tuple(int(f) for f in self.families))
        if self.train_envs_per_family < 1 or self.adapt_envs_per_family < 1:
            raise ValueError("train_envs_per_family and adapt_envs_per_family must be >= 1")
        if self.n_times < 2:
            raise ValueError(f"n_times must be >= 2, got {self.n_times}")


def set_families(dataset: str, subset: tuple[int, ...] | None = None) -> tuple[OdeBenchFamily, ...]:
    """The family definitions of an ODEBench set (ODEBench-2 changes applied), in id order."""
    if dataset not in ODEBENCH_SETS:
        raise ValueError(f"unknown ODEBench set {dataset!r}; known: {sorted(ODEBENCH_SETS)}")
    ids = ODEBENCH_SETS[dataset]
    if subset is not None:
        unknown = sorted(set(subset) - set(ids))
        if unknown or not subset:
            raise ValueError(f"families {unknown or subset} are not in {dataset} {ids}")
        ids = tuple(i for i in ids if i in subset)
    changes = _ODEBENCH2_CHANGES if dataset == "odebench2" else {}
    return tuple(dataclasses.replace(FAMILIES[i], **changes.get(i, {})) for i in ids)


def _split_envs(fam: OdeBenchFamily, spec: OdeBenchSpec) -> dict[str, np.ndarray]:
    train = training_grid(fam.params, spec.train_envs_per_family)
    adapt = adaptation_envs(fam.params, spec.adapt_envs_per_family)
    return {s: (train if s in TRAIN_ENV_SPLITS else adapt) for s in IVP_SPLITS}


def _family_ics(dataset, fam, envs, spec, seed) -> dict[str, np.ndarray]:
    return {
        s: odebench_ics(
            split_rng(seed, dataset, s, fam.fid), fam.ics, len(envs[s]), spec.n_ics[s], s == "train"
        )
        for s in IVP_SPLITS
    }


def simulate_families(
    dataset: str, fams: tuple[OdeBenchFamily, ...], spec: OdeBenchSpec, seed: int
) -> list[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """All splits of the given families, one ``{split: (x (env, traj, time, 2), t (time,),
    params (env, P))}`` per family.

    Every trajectory of every family and split goes through one batched call of one compiled
    program (:class:`~mixer.data.integrate.SwitchedField` over all ten right-hand sides, so
    every set and family subset shares the compilation).
    """
    blocks, x0s, ps, ts = [], [], [], []
    for k, fam in enumerate(fams):
        envs = _split_envs(fam, spec)
        ics = _family_ics(dataset, fam, envs, spec, seed)
        t = np.arange(spec.n_times) * (fam.horizon / spec.n_times)
        for s in IVP_SPLITS:
            n_env, n_traj = ics[s].shape[:2]
            padded = np.zeros((n_env, 3))
            padded[:, 0] = _BRANCH[fam.fid]
            padded[:, 1 : 1 + envs[s].shape[1]] = envs[s]
            x0s.append(ics[s].reshape(-1, 2))
            ps.append(np.repeat(padded, n_traj, axis=0))
            ts.append(np.broadcast_to(t, (n_env * n_traj, t.size)))
            blocks.append((k, s, n_env, n_traj, t, envs[s]))
    ys = integrate(_FIELD, np.concatenate(x0s), np.concatenate(ps), np.concatenate(ts),
                   spec.integrator)  # fmt: skip
    out: list[dict] = [{} for _ in fams]
    start = 0
    for k, s, n_env, n_traj, t, params in blocks:
        x = ys[start : start + n_env * n_traj].reshape(n_env, n_traj, t.size, 2)
        out[k][s] = (x, t, params)
        start += n_env * n_traj
    return out


def _assemble(dataset, split, fams, sims, spec: OdeBenchSpec, seed: int) -> xr.Dataset:
    xs, ts, names, ids, c0, c1 = [], [], [], [], [], []
    for k, (fam, sim) in enumerate(zip(fams, sims, strict=True)):
        x, t, p = sim[split]
        xs.append(x)
        ts.append(np.broadcast_to(t, (len(x), t.size)))
        names += [str(fam.fid)] * len(x)
        ids += [k] * len(x)
        c0.append(p[:, 0])
        c1.append(p[:, 1] if p.shape[1] > 1 else np.full(len(x), np.nan))
    cfg = spec.integrator
    attrs = {
        "dataset": dataset,
        "split": split,
        "generator": "mixer.data.odebench (ODEBench, d'Ascoli et al. 2024; MixER Tables 6-7)",
        "solver": cfg.describe(),
        "rtol": cfg.rtol,
        "atol": cfg.atol,
        "seed": int(seed),
        "families": ",".join(str(f.fid) for f in fams),
        "time_grid": f"t_k = k*T/{spec.n_times}, k = 0..{spec.n_times - 1}",
    }
    params = {"c0": np.concatenate(c0), "c1": np.concatenate(c1)}
    return trajectory_dataset(np.concatenate(xs), np.concatenate(ts), names, ids, params, attrs)


def generate_odebench(dataset: str, spec: OdeBenchSpec, seed: int) -> dict[str, xr.Dataset]:
    """Every split (train, val, test, adapt_train, adapt_test) of an ODEBench set."""
    fams = set_families(dataset, spec.families)
    sims = simulate_families(dataset, fams, spec, seed)
    return {s: _assemble(dataset, s, fams, sims, spec, seed) for s in IVP_SPLITS}
