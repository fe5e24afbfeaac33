"""The shared ODE solver: accuracy and reverse-mode gradients against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mixer.solve import SolverConfig, solve_ivp


@pytest.mark.parametrize(
    "cfg", [SolverConfig("heun", max_steps=16), SolverConfig("tsit5", rtol=1e-6, atol=1e-8)]
)
def test_gradient_matches_finite_difference(cfg):
    t = jnp.linspace(0.0, 1.0, 8)

    @jax.jit
    def loss(a):
        ys = solve_ivp(lambda s, y: -a * y + jnp.sin(y), jnp.array([1.0, 0.5]), t, cfg)
        return jnp.sum(ys**2)

    a, h = 0.7, 1e-2
    fd = (loss(a + h) - loss(a - h)) / (2 * h)
    np.testing.assert_allclose(jax.grad(loss)(a), fd, rtol=2e-2)


def test_decay_is_accurate():
    t = jnp.linspace(0.0, 2.0, 11)
    ys = solve_ivp(lambda s, y: -y, jnp.array([1.0]), t, SolverConfig(rtol=1e-6, atol=1e-8))
    np.testing.assert_allclose(ys[:, 0], np.exp(-np.asarray(t)), rtol=1e-4)


def test_unknown_solver_is_named():
    with pytest.raises(ValueError, match="rk99"):
        SolverConfig("rk99")


@pytest.mark.parametrize("name", ["euler", "heun"])
def test_grid_solvers_equal_diffrax_constant_steps_on_a_uniform_grid(name):
    t = jnp.linspace(0.0, 2.0, 21)

    def field(s, y):
        return jnp.array([y[1], -jnp.sin(y[0]) - 0.1 * y[1] + 0.2 * jnp.cos(s)])

    x0 = jnp.array([1.0, 0.0])
    grid = solve_ivp(field, x0, t, SolverConfig(f"{name}_grid"))
    ref = solve_ivp(field, x0, t, SolverConfig(name, max_steps=64))
    np.testing.assert_allclose(grid, ref, rtol=1e-5, atol=1e-6)


def test_grid_rk4_is_fourth_order_and_differentiable_twice():
    def err(n):
        t = jnp.linspace(0.0, 1.0, n + 1)
        ys = solve_ivp(lambda s, y: -y, jnp.array([1.0]), t, SolverConfig("rk4_grid"))
        return float(jnp.abs(ys[-1, 0] - jnp.exp(-1.0)))

    assert err(4) / err(8) > 10.0  # halving the step cuts the error ~16 times

    def loss(a):
        t = jnp.linspace(0.0, 1.0, 6)
        return jnp.sum(
            solve_ivp(lambda s, y: -a * y, jnp.array([1.0]), t, SolverConfig("rk4_grid")) ** 2
        )

    # d²/da² of sum exp(-2 a t) at a = 0.5, compared with the closed form.
    t = np.linspace(0.0, 1.0, 6)
    exact = np.sum(4 * t**2 * np.exp(-t))
    np.testing.assert_allclose(jax.grad(jax.grad(loss))(0.5), exact, rtol=1e-3)


def test_grid_solvers_reject_dt0():
    with pytest.raises(ValueError, match="dt0 must be null"):
        SolverConfig("rk4_grid", dt0=0.1)


# ------------------------------------------------------------- the forward-only loss solve
def _pendulum(s, y):
    return jnp.array([y[1], -2.0 * jnp.sin(y[0]) - 0.1 * y[1] + 0.3 * jnp.cos(s)])


def _diffrax_reference(field, x0, t, x, cfg):
    """Σ‖y(t_k) − x_k‖² from ``solve_ivp`` and Diffrax's own step count."""
    import diffrax

    from mixer.solve.ivp import diffrax_solve

    ys = solve_ivp(field, x0, t, cfg)
    if cfg.solver.endswith("_grid"):
        return jnp.sum((ys - x) ** 2), t.shape[0] - 1
    sol = diffrax_solve(field, x0, t, cfg, diffrax.SaveAt(t1=True))
    return jnp.sum((ys - x) ** 2), sol.stats["num_steps"]


LOSS_SOLVERS = [
    SolverConfig("tsit5"),
    SolverConfig("tsit5", rtol=1e-6, atol=1e-8),
    SolverConfig("dopri5", rtol=1e-5, atol=1e-7),
    SolverConfig("heun", max_steps=64),
    SolverConfig("euler", max_steps=64, dt0=0.07),
    SolverConfig("heun_grid"),
]


@pytest.mark.parametrize("cfg", LOSS_SOLVERS, ids=lambda c: f"{c.solver}-{c.rtol}")
def test_rollout_sq_error_equals_the_saved_rollout(cfg):
    """The forward-only solve scores exactly the points ``solve_ivp`` saves (same steps, same
    interpolation), for adaptive and fixed steps, on a non-uniform grid that does not start
    at 0."""
    import mixer.solve as solve_module

    t = jnp.array([0.5, 0.6, 0.9, 1.0, 1.7, 2.2, 2.3, 3.5])
    if cfg.solver == "heun_grid":
        t = jnp.linspace(0.5, 3.5, 9)
    x0 = jnp.array([1.2, -0.3])
    x = 0.1 * jnp.sin(jnp.arange(t.shape[0] * 2.0)).reshape(-1, 2) + x0

    @jax.jit
    def both(x0, x):
        return solve_module.rollout_sq_error(_pendulum, x0, t, x, cfg), _diffrax_reference(
            _pendulum, x0, t, x, cfg
        )

    (err, steps), (ref, ref_steps) = both(x0, x)
    np.testing.assert_allclose(err, ref, rtol=2e-5)
    assert int(steps) == int(ref_steps)


def test_rollout_sq_error_is_inf_when_max_steps_do_not_reach_the_end():
    """Like the inf that ``solve_ivp`` leaves at unreached points; vmapped lanes stop
    independently."""
    from mixer.solve import rollout_sq_error

    cfg = SolverConfig("tsit5", rtol=1e-8, atol=1e-10, max_steps=5)
    t = jnp.linspace(0.0, 10.0, 6)
    x0s = jnp.array([[1.0, 0.0], [0.0, 0.0]])  # the second lane stays at rest: few steps

    def field(s, y):
        return jnp.array([y[1], -25.0 * y[0]])

    err, steps = jax.jit(
        jax.vmap(lambda x0: rollout_sq_error(field, x0, t, 0 * t[:, None] + x0, cfg))
    )(x0s)
    ref = jnp.sum((solve_ivp(field, x0s[0], t, cfg) - x0s[0]) ** 2)
    assert not np.isfinite(float(err[0])) and not np.isfinite(float(ref))
    assert int(steps[0]) == 5
    assert float(err[1]) == 0.0 and int(steps[1]) < 5


def test_lanes_are_independent_rollouts():
    """Lanes with their own grids, initial states and data (lanes on the last axis) give each
    lane's own ``rollout_sq_error``, step counts included."""
    from mixer.solve import lanes_sq_error, rollout_sq_error

    cfg = SolverConfig("tsit5")
    t = jnp.stack([jnp.linspace(0.0, h, 7) for h in (1.0, 4.0, 9.0)], axis=1)  # (T, L)
    x0s = jnp.array([[1.0, -0.5, 2.0], [0.0, 0.4, -1.0]])  # (D, L)
    x = 0.9 * x0s[None] + 0.05 * t[:, None, :]  # (T, D, L)
    lanes = jax.vmap(_pendulum, in_axes=(0, 1), out_axes=1)
    err, steps = jax.jit(
        lambda: lanes_sq_error(lambda _, s, y: lanes(s, y), None, x0s, t, x, cfg)
    )()
    for lane in range(3):
        one, n = jax.jit(
            lambda lane=lane: rollout_sq_error(
                _pendulum, x0s[:, lane], t[:, lane], x[:, :, lane], cfg
            )
        )()
        np.testing.assert_allclose(err[lane], one, rtol=1e-4)  # vectorised sin: last bits
        assert int(steps[lane]) == int(n)
    assert len(set(np.asarray(steps).tolist())) > 1


def test_lane_compaction_changes_no_lane(monkeypatch):
    """Moving the still-running lanes into smaller buffers (``MIN_LANES``) gives every lane the
    result it gets without compaction, and the right lane order."""
    import mixer.solve as solve_module
    import mixer.solve.erk_lanes as erk_lanes

    cfg = SolverConfig("tsit5", max_steps=40)
    horizons = jnp.linspace(0.5, 30.0, 300)  # step counts from a few to max_steps
    t = jnp.linspace(0.0, 1.0, 9)[:, None] * horizons[None]
    x0s = jnp.stack([jnp.cos(horizons), jnp.sin(3 * horizons)])
    x = 0.8 * x0s[None] + 0.01 * t[:, None, :]
    lanes = jax.vmap(_pendulum, in_axes=(0, 1), out_axes=1)

    def run():
        return jax.jit(
            lambda: solve_module.lanes_sq_error(lambda _, s, y: lanes(s, y), None, x0s, t, x, cfg)
        )()

    monkeypatch.setattr(erk_lanes, "MIN_LANES", 16)
    compacted, steps = run()
    monkeypatch.setattr(erk_lanes, "MIN_LANES", 10_000)
    plain, plain_steps = run()
    np.testing.assert_array_equal(steps, plain_steps)
    np.testing.assert_allclose(compacted, plain, rtol=1e-5)
    assert int(np.min(steps)) < 10 and int(np.max(steps)) == 40
    assert np.isinf(np.asarray(plain)).any() and np.isfinite(np.asarray(plain)).any()


def test_model_solvers_are_the_explicit_ones_of_the_solver_table():
    """Models take the explicit Diffrax solvers of the one solver table (the data simulators
    take others from it) and the grid solvers; an implicit solver is refused."""
    import diffrax

    from mixer.solve.registry import GRID_SOLVERS, MODEL_SOLVERS, SOLVERS

    assert set(MODEL_SOLVERS) == {"tsit5", "dopri5", "dopri8", "heun", "euler"}
    for name in SOLVERS:
        implicit = issubclass(SOLVERS[name], diffrax.AbstractImplicitSolver)
        assert (name in MODEL_SOLVERS) != implicit
    for name in (*MODEL_SOLVERS, *GRID_SOLVERS):
        assert SolverConfig(name).solver == name
    with pytest.raises(ValueError, match="solver must be one of"):
        SolverConfig("kvaerno5")
