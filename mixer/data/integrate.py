"""Accurate float64 batched integration for the data simulators.

Every simulator calls :func:`integrate` with a right-hand side ``rhs(t, x, p)`` (``p`` is the
parameter vector of one trajectory), a batch of initial conditions, parameters and time grids.
The batch is cut into fixed-size chunks (the last one padded by repeating its first row), so
that one compiled program serves every split and every dataset size of a family.  All work
happens inside ``with jax.enable_x64(True):``; the global JAX configuration is never changed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from mixer.solve.registry import SIMULATION_SOLVERS, SOLVERS

logger = logging.getLogger(__name__)

RightHandSide = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


class IntegrationError(RuntimeError):
    """A simulated trajectory failed (solver did not finish, or non-finite values)."""


@dataclasses.dataclass(frozen=True)
class IntegratorConfig:
    """Numerics of the data generators (adaptive step, float64); every simulated dataset's
    spec holds one (its config keys ``solver``, ``rtol``, ``atol``, ``max_steps`` and
    ``chunk_size`` stay flat in the dataset's section, see ``spec_from_config``).

    ``solver`` is one of ``SIMULATION_SOLVERS`` (the adaptive solvers of order >= 5 of the
    solver table, ``mixer.solve.registry``). ``chunk_size`` is the number of trajectories
    integrated by one vmapped call; every call uses the same padded size so the program is
    compiled once per right-hand side.
    """

    solver: str = "dopri8"
    rtol: float = 1e-10
    atol: float = 1e-12
    max_steps: int = 100_000
    chunk_size: int = 256

    def __post_init__(self) -> None:
        if self.solver not in SIMULATION_SOLVERS:
            raise ValueError(
                f"solver must be one of {sorted(SIMULATION_SOLVERS)}, got {self.solver!r}"
            )
        if not (0.0 < self.rtol <= 1e-8):
            raise ValueError(f"rtol must be in (0, 1e-8] (DATASETS.md), got {self.rtol}")
        if not (0.0 < self.atol <= 1e-8):
            raise ValueError(f"atol must be in (0, 1e-8], got {self.atol}")
        if self.max_steps < 1 or self.chunk_size < 1:
            raise ValueError("max_steps and chunk_size must be >= 1")

    def describe(self) -> str:
        """A short human-readable name of the solver, stored in dataset attributes."""
        return f"diffrax.{SOLVERS[self.solver].__name__} (float64, PID controller)"


@dataclasses.dataclass(frozen=True)
class SwitchedField:
    """Several right-hand sides with the same state size behind one compiled program.

    Called as ``field(t, x, p)`` with ``p = [branch index, *branch parameters]``; the branch
    receives ``p[1:]``.  Under ``vmap`` every branch is evaluated and the right one selected,
    which is cheap for the small analytic systems here and saves one compilation per system.
    """

    branches: tuple[RightHandSide, ...]

    def __call__(self, t: jax.Array, x: jax.Array, p: jax.Array) -> jax.Array:
        index = p[0].astype(jnp.int32)
        return jax.lax.switch(index, self.branches, t, x, p[1:])


def _solve_one(rhs: RightHandSide, cfg: IntegratorConfig, x0, p, t):
    solver = SOLVERS[cfg.solver]()
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda s, y, args: rhs(jnp.asarray(s), y, args)),
        solver,
        t0=t[0],
        t1=t[-1],
        dt0=None,
        y0=x0,
        args=p,
        saveat=diffrax.SaveAt(ts=t),
        stepsize_controller=diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol),
        max_steps=cfg.max_steps,
        throw=False,
    )
    ok = sol.result == diffrax.RESULTS.successful
    return sol.ys, ok


def _solve_chunk_impl(rhs, cfg, x0s, params, ts):
    return jax.vmap(lambda x0, p, t: _solve_one(rhs, cfg, x0, p, t))(x0s, params, ts)


_solve_chunk = jax.jit(_solve_chunk_impl, static_argnums=(0, 1))


def _pad(a: np.ndarray, size: int) -> np.ndarray:
    if a.shape[0] == size:
        return a
    fill = np.repeat(a[:1], size - a.shape[0], axis=0)
    return np.concatenate([a, fill], axis=0)


def _check(ys: np.ndarray, ok: np.ndarray, x0s, params) -> None:
    finite = np.isfinite(ys).all(axis=(1, 2))
    bad = np.flatnonzero(~(ok & finite))
    if bad.size:
        i = int(bad[0])
        raise IntegrationError(
            f"{bad.size} of {ys.shape[0]} trajectories failed (solver did not finish or values "
            f"are non-finite); first: index {i}, x0={x0s[i].tolist()}, params={params[i].tolist()}"
        )


def integrate(
    rhs: RightHandSide,
    x0s: np.ndarray,
    params: np.ndarray,
    ts: np.ndarray,
    cfg: IntegratorConfig,
) -> np.ndarray:
    """Integrate ``dx/dt = rhs(t, x, p)`` for a batch of trajectories in float64.

    Args:
        rhs: a pure JAX function of ``(t, x (D,), p (P,))`` returning ``(D,)``; it must be
            hashable (a module-level function) since it keys the compilation cache.
        x0s: initial conditions, shape ``(B, D)``.
        params: parameters, shape ``(B, P)``.
        ts: saving times per trajectory, shape ``(B, T)``, increasing; integration starts
            at ``ts[:, 0]``.
        cfg: solver settings.

    Returns:
        ``(B, T, D)`` float64 states at the saving times.

    Raises:
        IntegrationError: if any trajectory did not finish or is not finite.
    """
    x0s = np.asarray(x0s, dtype=np.float64)
    params = np.asarray(params, dtype=np.float64)
    ts = np.asarray(ts, dtype=np.float64)
    n = x0s.shape[0]
    if params.shape[0] != n or ts.shape[0] != n:
        raise ValueError(f"batch sizes differ: x0s {n}, params {params.shape[0]}, ts {ts.shape[0]}")
    out = []
    with jax.enable_x64(True):
        for start in range(0, n, cfg.chunk_size):
            sl = slice(start, start + cfg.chunk_size)
            args = [_pad(a[sl], cfg.chunk_size) for a in (x0s, params, ts)]
            ys, ok = _solve_chunk(rhs, cfg, *(jnp.asarray(a) for a in args))
            m = min(cfg.chunk_size, n - start)
            ys, ok = np.asarray(ys)[:m], np.asarray(ok)[:m]
            _check(ys, ok, x0s[sl], params[sl])
            out.append(ys)
    logger.debug("integrated %d trajectories with %s", n, cfg.describe())
    return np.concatenate(out, axis=0).astype(np.float64)
