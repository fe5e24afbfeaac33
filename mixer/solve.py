"""Numerical integration shared by every initial-value-problem backbone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

_SOLVERS: dict[str, type[diffrax.AbstractSolver]] = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "heun": diffrax.Heun,
    "euler": diffrax.Euler,
}


@dataclasses.dataclass(frozen=True)
class SolverConfig:
    """Numerics of a model rollout (SPEC §2.1); hashable so it can be a static jit argument.

    ``dt0=None`` means "the first spacing of the time grid".
    """

    solver: str = "tsit5"
    rtol: float = 1e-3
    atol: float = 1e-6
    max_steps: int = 256
    dt0: float | None = None

    def __post_init__(self) -> None:
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {sorted(_SOLVERS)}, got {self.solver!r}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")


VectorField = Callable[[Float[Array, ""], Float[Array, " state"]], Float[Array, " state"]]


def solve_ivp(
    field: VectorField,
    x0: Float[Array, " state"],
    t: Float[Array, " time"],
    cfg: SolverConfig,
    *,
    higher_order: bool = False,
) -> Float[Array, "time state"]:
    """Integrate ``dx/dt = field(t, x)`` from ``x0`` and return the states at the times ``t``.

    ``higher_order=True`` uses ``diffrax.DirectAdjoint``: the same numbers, differentiable in
    reverse mode more than once (second-order meta-learning), slower to compile.

    Differentiable (reverse mode through the solver steps). When the solver does not reach the
    end of the grid within ``cfg.max_steps`` the missing points are NaN (never an exception
    inside jit); callers check for non-finite values.
    """
    dt0 = (t[1] - t[0]) if cfg.dt0 is None else jnp.asarray(cfg.dt0, t.dtype)
    fixed = cfg.solver in ("euler", "heun")
    controller = (
        diffrax.ConstantStepSize()
        if fixed
        else diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol)
    )
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda s, y, _: field(s, y)),
        _SOLVERS[cfg.solver](),
        t0=t[0],
        t1=t[-1],
        dt0=dt0,
        y0=x0,
        saveat=diffrax.SaveAt(ts=t),
        stepsize_controller=controller,
        max_steps=cfg.max_steps,
        # Fixed-step solvers: one checkpoint per step, so reverse mode is exact for any
        # max_steps (the default checkpointing schedule gave wrong gradients there).
        adjoint=(
            diffrax.DirectAdjoint()
            if higher_order
            else diffrax.RecursiveCheckpointAdjoint(checkpoints=cfg.max_steps if fixed else None)
        ),
        throw=False,
    )
    return sol.ys


def solve_many(
    field: VectorField,
    x0s: Float[Array, "traj state"],
    t: Float[Array, " time"],
    cfg: SolverConfig,
    *,
    higher_order: bool = False,
) -> Float[Array, "traj time state"]:
    """``solve_ivp`` over several initial conditions sharing one vector field and time grid."""
    return jax.vmap(lambda x0: solve_ivp(field, x0, t, cfg, higher_order=higher_order))(x0s)
