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
