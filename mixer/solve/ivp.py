"""Differentiable rollouts of initial-value problems for training and evaluation:
``solve_ivp`` / ``solve_many`` (Diffrax, or one explicit step per grid interval)."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mixer.solve.registry import GRID_SOLVERS, SolverConfig, VectorField, diffrax_parts, fixed_step

__all__ = ["diffrax_solve", "solve_ivp", "solve_many", "scaled_field", "grid_rollout", "rk_step"]


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
    end of the grid within ``cfg.max_steps`` the missing points are inf (never an exception
    inside jit); callers check for non-finite values.

    The ``*_grid`` solvers take one step per interval of ``t`` (``grid_rollout``).
    """
    if cfg.solver in GRID_SOLVERS:
        return grid_rollout(field, x0, t, cfg.solver.removesuffix("_grid"))
    # Fixed-step solvers: one checkpoint per step, so reverse mode is exact for any max_steps
    # (the default checkpointing schedule gave wrong gradients there).
    adjoint = (
        diffrax.DirectAdjoint()
        if higher_order
        else diffrax.RecursiveCheckpointAdjoint(
            checkpoints=cfg.max_steps if fixed_step(cfg) else None
        )
    )
    ys = diffrax_solve(field, x0, t, cfg, diffrax.SaveAt(ts=t), adjoint).ys
    assert ys is not None  # SaveAt(ts=...) always saves
    return ys


def diffrax_solve(
    field: VectorField,
    x0: Float[Array, " state"],
    t: Float[Array, " time"],
    cfg: SolverConfig,
    saveat: diffrax.SaveAt,
    adjoint: diffrax.AbstractAdjoint | None = None,
) -> diffrax.Solution:
    """``diffrax.diffeqsolve`` of ``dx/dt = field(t, x)`` from ``x0`` over ``[t[0], t[-1]]``
    with the solver, step-size controller, ``dt0`` and ``max_steps`` of ``cfg``; never throws
    (a solve that runs out of steps leaves inf in ``ys`` and its stats say so). ``adjoint``:
    Diffrax's default when ``None``."""
    term, solver, controller, dt0 = diffrax_parts(field, t, cfg)
    return diffrax.diffeqsolve(
        term,
        solver,
        t0=t[0],
        t1=t[-1],
        dt0=dt0,
        y0=x0,
        saveat=saveat,
        stepsize_controller=controller,
        max_steps=cfg.max_steps,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
        throw=False,
    )


def rk_step(field: VectorField, method: str, t0, t1, x):
    """One explicit step of ``method`` (``euler``, ``heun`` or ``rk4``) from ``t0`` to ``t1``."""
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
        x1 = rk_step(field, method, interval[0], interval[1], x)
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
