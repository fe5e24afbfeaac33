"""The forward-only loss solve that scores many rollouts at once for the gate's loss matrix:
``lanes_sq_error`` (lanes on the last axis) and ``rollout_sq_error`` (one rollout)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from mixer.solve.erk_lanes import LanesField, erk_sq_error
from mixer.solve.ivp import diffrax_solve, rk_step
from mixer.solve.registry import GRID_SOLVERS, SOLVERS, SolverConfig, VectorField

__all__ = ["LanesField", "lanes_sq_error", "rollout_sq_error"]


def lanes_sq_error(
    field: LanesField,
    args: Any,
    x0s: Float[Array, "state L"],
    t: Float[Array, "time L"],
    x: Float[Array, "time state L"],
    cfg: SolverConfig,
) -> tuple[Float[Array, " L"], Int[Array, " L"]]:
    """For ``L`` independent lanes at once (lanes on the LAST axis): ``sum_k ||y(t_k) -
    x_k||^2`` of each lane's rollout ``solve_ivp`` from ``x0s[:, l]`` over ``t[:, l]``, forward
    only, and each lane's number of solver steps.

    ``field(args, t, y)`` evaluates the vector field of every lane at once (``args``: a pytree
    of per-lane parameters with the lanes on the last axis of every leaf, ``t`` of shape
    ``(L,)``, ``y`` of shape ``(state, L)``); an expert-shared field makes each weight product
    one matrix product over all lanes, with the lanes as the long contiguous axis.

    Same numbers as ``diffeqsolve`` with ``SaveAt(ts=t)`` per lane: Diffrax's step-size
    controller (vmapped over lanes) with its end-of-interval clipping, the solver's Butcher
    tableau in Diffrax's arithmetic (``erk_step``) and its dense interpolation; the squared
    error at the grid points an accepted step passes is accumulated on the fly, so the loop
    carries one step's state instead of the trajectory. A lane stops when it reaches
    ``t[-1]`` or ``cfg.max_steps``; one that did not reach ``t[-1]`` gets inf, like the inf
    that ``solve_ivp`` leaves at unreached points. Not differentiable.

    FSAL explicit Runge-Kutta solvers (Tsit5, Dopri5, Dopri8) and the ``*_grid`` solvers run
    this way; the other solvers (Heun, Euler) fall back to one ``diffeqsolve`` per lane.
    """
    if cfg.solver in GRID_SOLVERS:
        lanes_field = lambda s, y: field(args, s, y)  # noqa: E731
        return _grid_sq_error(lanes_field, x0s, t, x, cfg.solver.removesuffix("_grid"))
    solver = SOLVERS[cfg.solver]()
    tableau = type(solver).tableau if isinstance(solver, diffrax.AbstractERK) else None
    if not isinstance(tableau, diffrax.ButcherTableau) or not (tableau.fsal and tableau.ssal):
        return _per_lane_sq_error(field, args, x0s, t, x, cfg)
    return erk_sq_error(field, tableau, solver, args, x0s, t, x, cfg)


def rollout_sq_error(
    field: VectorField,
    x0: Float[Array, " state"],
    t: Float[Array, " time"],
    x: Float[Array, "time state"],
    cfg: SolverConfig,
) -> tuple[Float[Array, ""], Int[Array, ""]]:
    """``lanes_sq_error`` of a single rollout of ``field(t, y)`` (``y`` of shape
    ``(state,)``)."""
    lanes = jax.vmap(field, in_axes=(0, 1), out_axes=1)
    sq_error, steps = lanes_sq_error(
        lambda _, s, y: lanes(s, y), None, x0[:, None], t[:, None], x[:, :, None], cfg
    )
    return sq_error[0], steps[0]


def _grid_sq_error(field: Callable[[Array, Array], Array], x0s, t, x, method: str):
    """``grid_rollout`` of every lane at once, scored at every grid point."""

    def step(y, interval):
        y1 = rk_step(field, method, interval[0], interval[1], y)
        return y1, y1

    _, ys = jax.lax.scan(step, x0s, (t[:-1], t[1:]))
    pred = jnp.concatenate([x0s[None], ys])
    steps = jnp.full(x0s.shape[1:], t.shape[0] - 1, jnp.int32)
    return jnp.sum((pred - x) ** 2, axis=(0, 1)), steps


def _per_lane_sq_error(field: LanesField, args: Any, x0s, t, x, cfg: SolverConfig):
    """The fallback: ``diffeqsolve`` with ``SaveAt(ts=t)`` for each lane (vmapped)."""

    def one(a, x0, tl, xl):
        a = jax.tree.map(lambda leaf: leaf[..., None], a)
        lane_field = lambda s, y: field(a, s[None], y[:, None])[:, 0]  # noqa: E731
        sol = diffrax_solve(lane_field, x0, tl, cfg, diffrax.SaveAt(ts=tl))
        return jnp.sum((sol.ys - xl) ** 2), sol.stats["num_steps"]

    sq_error, steps = jax.vmap(one, in_axes=(-1, 1, 1, 2))(args, x0s, t, x)
    return sq_error, steps.astype(jnp.int32)
