"""The loss solve's loop for FSAL, SSAL explicit Runge-Kutta tableaus (Tsit5, Dopri5, Dopri8):
Diffrax's step-size control and arithmetic over many lanes at once, the squared error
accumulated at the grid points each accepted step passes, and lane compaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mixer.solve.registry import SolverConfig, fixed_step

__all__ = ["LanesField", "MIN_LANES", "erk_sq_error", "erk_step"]

LanesField = Callable[[Any, Float[Array, " L"], Float[Array, "state L"]], Float[Array, "state L"]]

#: Lane compaction of the forward-only loss solve: the loop runs on a buffer of lanes and,
#: when at most half of them are still running, moves those into a buffer half as large
#: (down to ``MIN_LANES``), so that lanes needing few steps stop costing while the slow ones
#: finish. A lane's arithmetic does not depend on its buffer.
MIN_LANES = 64


class _LossLoop(NamedTuple):
    """Carry of the forward-only loss solve (one entry per lane on the last axis): one solver
    step's worth of state and the running squared error, no trajectory."""

    tprev: Array
    tnext: Array
    y: Array
    f: Array  # the field at (tprev, y): the first stage of the next step (FSAL)
    controller_state: Any
    sq_error: Array  # squared error summed over the grid points scored so far
    next_point: Array  # index of the first grid point not yet scored
    num_steps: Array  # solver steps taken (accepted and rejected), as Diffrax counts them


class _Lanes(NamedTuple):
    """What each lane of the loss solve reads (lanes on the last axis): the field's per-lane
    arguments, the grid, the data, the end time and Diffrax's clipping threshold before it."""

    args: Any
    t: Array
    x: Array
    t1: Array
    clip_floor: Array


def _buffer_sizes(lanes: int) -> list[int]:
    """``lanes, lanes // 2, ...`` while the next size is at least ``MIN_LANES``."""
    sizes = [lanes]
    while sizes[-1] // 2 >= MIN_LANES:
        sizes.append(sizes[-1] // 2)
    return sizes


def erk_sq_error(field: LanesField, tableau, solver, args, x0s, t, x, cfg: SolverConfig):
    """``lanes_sq_error`` for an FSAL, SSAL explicit Runge-Kutta tableau (see there), with
    lane compaction (``MIN_LANES``)."""
    term = diffrax.ODETerm(lambda s, y, _: y)  # only the controller's interface needs one
    controller = (
        diffrax.ConstantStepSize()
        if fixed_step(cfg)
        else diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol)
    )
    error_order = solver.error_order(term)
    t0, t1 = t[0], t[-1]
    dt0 = (t[1] - t[0]) if cfg.dt0 is None else jnp.full_like(t0, cfg.dt0)

    def init_lane(a, b, y, d):
        tn, state = controller.init(term, a, b, y, d, None, solver.func, error_order)
        return tn, jax.tree.map(jnp.asarray, state)

    def adapt_lane(a, b, y0, y1, err, state):
        keep, tprev, tnext, _, state, _ = controller.adapt_step_size(
            a, b, y0, y1, None, err, error_order, state
        )
        return keep, tprev, tnext, jax.tree.map(jnp.asarray, state)

    tnext, controller_state = jax.vmap(init_lane, in_axes=(0, 0, 1, 0))(t0, t1, x0s, dt0)
    adapt = jax.vmap(adapt_lane, in_axes=(0, 0, 1, 1, 1, 0))
    clip_floor = jax.lax.fori_loop(0, 100, lambda _, v: jnp.nextafter(v, -jnp.inf), t1)
    lanes = _Lanes(args, t, x, t1, clip_floor)
    shape = x0s.shape[1:]
    state = _LossLoop(
        tprev=t0,
        tnext=jnp.minimum(tnext, t1),
        y=x0s,
        f=field(args, t0, x0s),
        controller_state=controller_state,
        sq_error=jnp.zeros(shape, x0s.dtype),
        next_point=jnp.zeros(shape, jnp.int32),
        num_steps=jnp.zeros(shape, jnp.int32),
    )

    def running(s: _LossLoop, ln: _Lanes) -> Array:
        return (s.tprev < ln.t1) & (s.num_steps < cfg.max_steps)

    def step(s: _LossLoop, ln: _Lanes) -> _LossLoop:
        active = running(s, ln)
        y1, y_error, dense, f1 = erk_step(
            tableau, lambda a, y: field(ln.args, a, y), s.tprev, s.tnext, s.y, s.f
        )
        y_error = jnp.where(jnp.isnan(y_error), jnp.inf, y_error)
        keep, tprev, tnext, controller_state = adapt(
            s.tprev, s.tnext, s.y, y1, y_error, s.controller_state
        )
        tprev = jnp.minimum(tprev, ln.t1)
        # Diffrax's end clipping: within 100 ULPs of t1 step to t1 (halve a rejected step)
        tnext = jnp.where(
            tnext > ln.clip_floor, jnp.where(keep, ln.t1, tprev + 0.5 * (ln.t1 - tprev)), tnext
        )
        accept = keep & active
        next_point, sq_error = _score_points(
            solver, dense, s.tprev, s.tnext, accept, ln.t, ln.x, s.next_point, s.sq_error
        )
        if_active = lambda new, old: jnp.where(active, new, old)  # noqa: E731
        return _LossLoop(
            tprev=if_active(tprev, s.tprev),
            tnext=if_active(tnext, s.tnext),
            y=jnp.where(accept, y1, s.y),
            f=jnp.where(accept, f1, s.f),
            controller_state=jax.tree.map(if_active, controller_state, s.controller_state),
            sq_error=sq_error,
            next_point=next_point,
            num_steps=s.num_steps + active,
        )

    sq_error, next_point, num_steps = _run_compacted(step, running, state, lanes)
    done = next_point >= t.shape[0]
    return jnp.where(done, sq_error, jnp.inf), num_steps


def _run_compacted(
    step: Callable[[_LossLoop, _Lanes], _LossLoop],
    running: Callable[[_LossLoop, _Lanes], Array],
    state: _LossLoop,
    lanes: _Lanes,
) -> tuple[Array, Array, Array]:
    """Step every lane until none is ``running``, on buffers of ``_buffer_sizes`` lanes: when at
    most the next size is still running, those lanes move (in order) into the smaller buffer.
    Returns each lane's ``(sq_error, next_point, num_steps)`` in the original lane order."""
    sizes = _buffer_sizes(state.y.shape[-1])
    index = jnp.arange(sizes[0])
    outputs: tuple[Array, ...] = (state.sq_error, state.next_point, state.num_steps)
    for k, _ in enumerate(sizes):
        limit = sizes[k + 1] if k + 1 < len(sizes) else 0

        def more_than(c: tuple[_LossLoop, _Lanes], limit: int = limit) -> Array:
            return jnp.sum(running(c[0], c[1])) > limit

        state = jax.lax.while_loop(more_than, lambda c: (step(*c), c[1]), (state, lanes))[0]
        outputs = tuple(
            o.at[index].set(v)
            for o, v in zip(
                outputs, (state.sq_error, state.next_point, state.num_steps), strict=True
            )
        )
        if limit:
            keep = jnp.argsort(~running(state, lanes), stable=True)[:limit]
            take = lambda leaf, keep=keep: jnp.take(leaf, keep, axis=-1)  # noqa: E731
            state, lanes, index = jax.tree.map(take, (state, lanes, index))
    return outputs[0], outputs[1], outputs[2]


def _score_points(
    solver,
    dense: dict,
    t0: Array,
    t1: Array,
    accept: Array,
    t: Float[Array, "time L"],
    x: Float[Array, "time state L"],
    first: Array,
    sq_error: Array,
) -> tuple[Array, Array]:
    """Add to ``sq_error`` the squared error at the grid points each lane's accepted step from
    ``t0`` to ``t1`` passes (``t[first], t[first + 1], ... <= t1``, the points Diffrax saves
    in that step); returns the index of every lane's next point and the sums.

    The step's dense output is Diffrax's interpolation written as weights on the stacked
    dense vectors (it is linear in them; the weights are the interpolation of unit vectors),
    so each point costs a few elementwise operations per lane."""
    state_size = x.shape[1]
    leaves, treedef = jax.tree.flatten(dense)
    vectors = jnp.concatenate([leaf.reshape(-1, *leaf.shape[-2:]) for leaf in leaves])
    count = vectors.shape[0]  # (count, state, L)
    units, offset = [], 0
    for leaf in leaves:
        rows = leaf[..., 0].size // state_size
        basis = jnp.eye(rows, count, offset, dtype=x.dtype)
        units.append(basis.reshape(*leaf.shape[:-2], count))
        offset += rows
    units = jax.tree.unflatten(treedef, units)

    def weights(a, b, s):
        return solver.interpolation_cls(t0=a, t1=b, **units).evaluate(s)

    lane_weights = jax.vmap(weights, out_axes=1)
    last = t.shape[0] - 1

    def at(values: Array, j: Array) -> Array:
        index = jnp.minimum(j, last).reshape(1, *([1] * (values.ndim - 2)), -1)
        return jnp.take_along_axis(values, index, axis=0)[0]

    def more(j: Array) -> Array:
        return accept & (j <= last) & (at(t, j) <= t1)

    def score(carry):
        j, total = carry
        w = lane_weights(t0, t1, at(t, j))  # (count, L)
        pred = w[0] * vectors[0]
        for c in range(1, count):
            pred = pred + w[c] * vectors[c]
        todo = more(j)
        error = jnp.sum((pred - at(x, j)) ** 2, axis=0)
        return j + todo, total + jnp.where(todo, error, 0.0)

    return jax.lax.while_loop(lambda c: jnp.any(more(c[0])), score, (first, sq_error))


def erk_step(
    tableau, field: Callable[[Array, Array], Array], t0: Array, t1: Array, y0: Array, f0: Array
):
    """One FSAL, SSAL explicit Runge-Kutta step of every lane, in Diffrax's arithmetic: stage
    ``i`` is ``k_i = dt f(t_i, y0 + a_i · k)`` with the row ``a_i`` padded to all stages and
    contracted with the stage buffer ``k`` (stages not yet computed are zero), the error
    ``b_err · k``, ``y1`` the last stage's state, and the dense information Diffrax's
    interpolation takes (``y0``, ``y1``, ``k``). Returns ``(y1, error, dense, f(t1, y1))``."""
    dtype = y0.dtype
    stages = tableau.num_stages
    dt = t1 - t0
    ks = jnp.zeros((stages, *y0.shape), dtype).at[0].set(f0 * dt)
    z, f = y0, f0
    for i, (a_i, c_i) in enumerate(zip(tableau.a_lower, tableau.c, strict=True), start=1):
        row = np.zeros(stages)
        row[:i] = a_i
        z = y0 + jnp.tensordot(
            jnp.asarray(row, dtype), ks, axes=1, precision=jax.lax.Precision.HIGHEST
        )
        f = field(t1 if c_i == 1 else t0 + jnp.asarray(c_i, dtype) * dt, z)
        ks = ks.at[i].set(f * dt)
    y_error = jnp.tensordot(
        jnp.asarray(tableau.b_error, dtype), ks, axes=1, precision=jax.lax.Precision.HIGHEST
    )
    return z, y_error, {"y0": y0, "y1": z, "k": ks}, f
