"""The one table of solver names: Diffrax solver classes for the models and the data
simulators (each takes the subset it needs, derived from the classes), the grid solvers,
``SolverConfig`` (the numerics of a model rollout) and the Diffrax parts built from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import diffrax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = [
    "SOLVERS",
    "GRID_SOLVERS",
    "MODEL_SOLVERS",
    "SIMULATION_SOLVERS",
    "SolverConfig",
    "VectorField",
    "diffrax_parts",
    "fixed_step",
]

#: Every Diffrax solver the library integrates with, by name; the models and the data
#: simulators each accept the subset below.
SOLVERS: dict[str, type[diffrax.AbstractSolver]] = {
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "heun": diffrax.Heun,
    "euler": diffrax.Euler,
    "kvaerno5": diffrax.Kvaerno5,
}

#: One explicit Runge-Kutta step per interval of the data time grid, written as a ``lax.scan``
#: (no Diffrax): much quicker to trace and compile, for small runs and smoke tests.
GRID_SOLVERS = ("euler_grid", "heun_grid", "rk4_grid")

#: Diffrax solvers of the models: the explicit ones (training differentiates through every
#: step; an implicit solver would put a root finder inside every gradient).
MODEL_SOLVERS: tuple[str, ...] = tuple(
    name for name, cls in SOLVERS.items() if not issubclass(cls, diffrax.AbstractImplicitSolver)
)

#: Lowest order of a data simulator's solver: the simulators ask for rtol <= 1e-8 in float64,
#: where a low-order method needs orders of magnitude more steps.
SIMULATION_MIN_ORDER = 5


def _simulation_solver(cls: type[diffrax.AbstractSolver]) -> bool:
    """Adaptive, of a known order >= ``SIMULATION_MIN_ORDER`` (for ODEs)."""
    order = cls().order(None)
    adaptive = issubclass(cls, diffrax.AbstractAdaptiveSolver)
    return adaptive and order is not None and order >= SIMULATION_MIN_ORDER


#: Diffrax solvers of the data simulators: adaptive ones of order >= ``SIMULATION_MIN_ORDER``.
SIMULATION_SOLVERS: tuple[str, ...] = tuple(
    name for name, cls in SOLVERS.items() if _simulation_solver(cls)
)


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
        if self.solver not in MODEL_SOLVERS and self.solver not in GRID_SOLVERS:
            raise ValueError(
                f"solver must be one of {sorted(MODEL_SOLVERS) + list(GRID_SOLVERS)}, "
                f"got {self.solver!r}"
            )
        if self.solver in GRID_SOLVERS and self.dt0 is not None:
            raise ValueError(
                f"solver {self.solver!r} steps exactly from one time point to the "
                f"next; dt0 must be null, got {self.dt0}"
            )
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")


VectorField = Callable[[Float[Array, ""], Float[Array, " state"]], Float[Array, " state"]]


def fixed_step(cfg: SolverConfig) -> bool:
    """Whether ``cfg`` names a constant-step Diffrax solver (no step-size control)."""
    return cfg.solver in ("euler", "heun")


def diffrax_parts(
    field: VectorField, t: Float[Array, " time"], cfg: SolverConfig
) -> tuple[diffrax.ODETerm, diffrax.AbstractSolver, diffrax.AbstractStepSizeController, Array]:
    """The term, solver, step-size controller and first step of a Diffrax solve of
    ``field`` over the grid ``t`` (shared by ``solve_ivp`` and the loss solve's fallback)."""
    dt0 = (t[1] - t[0]) if cfg.dt0 is None else jnp.asarray(cfg.dt0, t.dtype)
    controller: diffrax.AbstractStepSizeController = (
        diffrax.ConstantStepSize()
        if fixed_step(cfg)
        else diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol)
    )

    def vector_field(s, y, _args):
        return field(s, y)

    term = diffrax.ODETerm(vector_field)
    return term, SOLVERS[cfg.solver](), controller, dt0
