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

# One explicit Runge-Kutta step per interval of the data time grid, written as a ``lax.scan``
# (no Diffrax): much quicker to trace and compile, for small runs and smoke tests.
GRID_SOLVERS = ("euler_grid", "heun_grid", "rk4_grid")


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
        if self.solver not in _SOLVERS and self.solver not in GRID_SOLVERS:
            raise ValueError(f"solver must be one of {sorted(_SOLVERS) + list(GRID_SOLVERS)}, "
                             f"got {self.solver!r}")
        if self.solver in GRID_SOLVERS and self.dt0 is not None:
            raise ValueError(f"solver {self.solver!r} steps exactly from one time point to the "
                             f"next; dt0 must be null, got {self.dt0}")
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

    The ``*_grid`` solvers take one step per interval of ``t`` (``grid_rollout``).
    """
    if cfg.solver in GRID_SOLVERS:
        return grid_rollout(field, x0, t, cfg.solver.removesuffix("_grid"))
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


def _rk_step(field: VectorField, method: str, t0, t1, x):
    h = t1 - t0
    k1 = field(t0, x)
    if method == "euler":
        return x + h * k1
    if method == "heun":
        return x + 0.5 * h * (k1 + field(t1, x + h * k1))
    half = t0 + 0.5 * h
    k2 = field(half, x + 0.5 * h * k1)
    k3 = field(half, x + 0.5 * h * k2)
    k4 = field(t1, x + h * k3)
    return x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def grid_rollout(
    field: VectorField, x0: Float[Array, " state"], t: Float[Array, " time"], method: str
) -> Float[Array, "time state"]:
    """States at ``t`` from one explicit step per grid interval (``euler``, ``heun`` = explicit
    trapezoid as Diffrax's Heun, or classical ``rk4``), as a ``lax.scan``.

    On a uniform grid this is what a constant-step solver with ``dt0`` equal to the spacing
    computes; it is differentiable any number of times.
    """
    if method not in ("euler", "heun", "rk4"):
        raise ValueError(f"unknown grid method {method!r}")

    def step(x, interval):
        x1 = _rk_step(field, method, interval[0], interval[1], x)
        return x1, x1

    _, xs = jax.lax.scan(step, x0, (t[:-1], t[1:]))
    return jnp.concatenate([x0[None], xs], axis=0)


def solve_many(
    field: VectorField,
    x0s: Float[Array, "traj state"],
    t: Float[Array, " time"],
    cfg: SolverConfig,
    *,
    higher_order: bool = False,
    scale: Float[Array, ""] | None = None,
) -> Float[Array, "traj time state"]:
    """``solve_ivp`` over several initial conditions sharing one vector field and time grid.

    ``scale`` (a scalar, may carry a gradient) multiplies the vector field: the naive mixture
    of experts (MixER-M†) integrates ``p_m f_m`` (SPEC §2.3). ``None`` integrates ``field``.
    """
    field = scaled_field(field, scale)
    return jax.vmap(lambda x0: solve_ivp(field, x0, t, cfg, higher_order=higher_order))(x0s)


def scaled_field(field: VectorField, scale: Float[Array, ""] | None) -> VectorField:
    """``scale · field`` (the field itself when ``scale`` is None)."""
    if scale is None:
        return field
    return lambda t, x: scale * field(t, x)
