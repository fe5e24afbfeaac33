"""The shared ODE solver: accuracy and reverse-mode gradients against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mixer.solve import SolverConfig, solve_ivp


@pytest.mark.parametrize("cfg", [SolverConfig("heun", max_steps=16),
                                 SolverConfig("tsit5", rtol=1e-6, atol=1e-8)])
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
        ys = solve_ivp(lambda s, y: -y, jnp.array([1.0]),
                       t, SolverConfig("rk4_grid"))
        return float(jnp.abs(ys[-1, 0] - jnp.exp(-1.0)))

    assert err(4) / err(8) > 10.0  # halving the step cuts the error ~16 times

    def loss(a):
        t = jnp.linspace(0.0, 1.0, 6)
        return jnp.sum(solve_ivp(lambda s, y: -a * y, jnp.array([1.0]), t,
                                 SolverConfig("rk4_grid")) ** 2)

    # d²/da² of sum exp(-2 a t) at a = 0.5, compared with the closed form.
    t = np.linspace(0.0, 1.0, 6)
    exact = np.sum(4 * t**2 * np.exp(-t))
    np.testing.assert_allclose(jax.grad(jax.grad(loss))(0.5), exact, rtol=1e-3)


def test_grid_solvers_reject_dt0():
    with pytest.raises(ValueError, match="dt0 must be null"):
        SolverConfig("rk4_grid", dt0=0.1)
