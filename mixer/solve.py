"""Numerical integration shared by every initial-value-problem backbone: ``solve_ivp`` /
``solve_many`` (Diffrax, differentiable) for training and evaluation, and the forward-only
``lanes_sq_error`` that scores many rollouts at once for the gate's loss matrix."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

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
            raise ValueError(
                f"solver must be one of {sorted(_SOLVERS) + list(GRID_SOLVERS)}, "
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


def _diffrax_parts(
    field: VectorField, t: Float[Array, " time"], cfg: SolverConfig
) -> tuple[diffrax.ODETerm, diffrax.AbstractSolver, diffrax.AbstractStepSizeController, Array]:
    """The term, solver, step-size controller and first step of a Diffrax solve of
    ``field`` over the grid ``t`` (shared by ``solve_ivp`` and ``rollout_sq_error``)."""
    dt0 = (t[1] - t[0]) if cfg.dt0 is None else jnp.asarray(cfg.dt0, t.dtype)
    controller: diffrax.AbstractStepSizeController = (
        diffrax.ConstantStepSize()
        if _fixed_step(cfg)
        else diffrax.PIDController(rtol=cfg.rtol, atol=cfg.atol)
    )

    def vector_field(s, y, _args):
        return field(s, y)

    term = diffrax.ODETerm(vector_field)
    return term, _SOLVERS[cfg.solver](), controller, dt0


def _fixed_step(cfg: SolverConfig) -> bool:
    return cfg.solver in ("euler", "heun")


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
    term, solver, controller, dt0 = _diffrax_parts(field, t, cfg)
    fixed = _fixed_step(cfg)
    sol = diffrax.diffeqsolve(
        term,
        solver,
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


LanesField = Callable[[Any, Float[Array, " L"], Float[Array, "state L"]], Float[Array, "state L"]]


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
    tableau in Diffrax's arithmetic (``_erk_step``) and its dense interpolation; the squared
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
    solver = _SOLVERS[cfg.solver]()
    tableau = type(solver).tableau if isinstance(solver, diffrax.AbstractERK) else None
    if not isinstance(tableau, diffrax.ButcherTableau) or not (tableau.fsal and tableau.ssal):
        return _per_lane_sq_error(field, args, x0s, t, x, cfg)
    return _erk_sq_error(field, tableau, solver, args, x0s, t, x, cfg)


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
        y1 = _rk_step(field, method, interval[0], interval[1], y)
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
        term, solver, controller, dt0 = _diffrax_parts(lane_field, tl, cfg)
        sol = diffrax.diffeqsolve(
            term,
            solver,
            t0=tl[0],
            t1=tl[-1],
            dt0=dt0,
            y0=x0,
            saveat=diffrax.SaveAt(ts=tl),
            stepsize_controller=controller,
            max_steps=cfg.max_steps,
            throw=False,
        )
        return jnp.sum((sol.ys - xl) ** 2), sol.stats["num_steps"]

    sq_error, steps = jax.vmap(one, in_axes=(-1, 1, 1, 2))(args, x0s, t, x)
    return sq_error, steps.astype(jnp.int32)


#: Lane compaction of the forward-only loss solve: the loop runs on a buffer of lanes and,
#: when at most half of them are still running, moves those into a buffer half as large
#: (down to ``MIN_LANES``), so that lanes needing few steps stop costing while the slow ones
#: finish. A lane's arithmetic does not depend on its buffer.
MIN_LANES = 64


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


def _erk_sq_error(field: LanesField, tableau, solver, args, x0s, t, x, cfg: SolverConfig):
    """``lanes_sq_error`` for an FSAL, SSAL explicit Runge-Kutta tableau (see there), with
    lane compaction (``MIN_LANES``)."""
    term = diffrax.ODETerm(lambda s, y, _: y)  # only the controller's interface needs one
    controller = (
        diffrax.ConstantStepSize()
        if _fixed_step(cfg)
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
        y1, y_error, dense, f1 = _erk_step(
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

    sizes = _buffer_sizes(shape[0])
    index = jnp.arange(shape[0])
    outputs: tuple[Array, ...] = (state.sq_error, state.next_point, state.num_steps)
    for k, _ in enumerate(sizes):
        limit = sizes[k + 1] if k + 1 < len(sizes) else 0

        def more_than(c: tuple[_LossLoop, _Lanes], limit: int = limit) -> Array:
            return jnp.sum(running(c[0], c[1])) > limit

        state = jax.lax.while_loop(
            more_than,
            lambda c: (step(*c), c[1]),
            (state, lanes),
        )[0]
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
    sq_error, next_point, num_steps = outputs
    done = next_point >= t.shape[0]
    return jnp.where(done, sq_error, jnp.inf), num_steps


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


def _erk_step(
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
