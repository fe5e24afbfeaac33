"""CAVIA: the inner loop is plain SGD on the context, and the outer gradient is second order."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from backbone_helpers import CONTEXT, SOLVER, STATE

from mixer.backbones.base import trajectory_mse
from mixer.backbones.cavia import CAVIA, solve_many_higher_order
from mixer.solve import SolverConfig, solve_many

SMALL = {"width": 8, "depth": 2}
# fixed steps, so that the loss is smooth in the weights (finite differences)
FIXED = SolverConfig(solver="heun", max_steps=64)


def _cavia(**options) -> CAVIA:
    return CAVIA(STATE, CONTEXT, key=jax.random.key(0), **{**SMALL, **options})


def test_higher_order_solver_gives_the_same_numbers(toy_data):
    x, t = toy_data
    model = _cavia()
    ctx = jnp.array([0.3, -0.5])
    field = lambda _, y: model.vector_field(y, ctx)  # noqa: E731
    np.testing.assert_allclose(
        solve_many_higher_order(field, x[:, 0], t, SOLVER),
        solve_many(field, x[:, 0], t, SOLVER),
        rtol=1e-5,
        atol=1e-6,
    )


def test_one_inner_step_is_sgd_from_zero_and_reduces_the_loss(toy_data):
    x, t = toy_data
    model = _cavia(inner_steps=1, inner_lr=0.5)

    @jax.jit
    def run():
        def loss(c):
            return trajectory_mse(model.predict(c, x, t, SOLVER), x)

        zero = jnp.zeros(CONTEXT)
        adapted = model.adapt_context(x, t, SOLVER)
        return adapted, -0.5 * jax.grad(loss)(zero), loss(zero), loss(adapted)

    adapted, manual, loss0, loss1 = run()
    np.testing.assert_allclose(adapted, manual, rtol=1e-4, atol=1e-7)
    assert np.any(adapted != 0)
    assert loss1 < loss0


def test_training_ignores_the_stored_context_and_pool(toy_data):
    x, t = toy_data
    model = _cavia(inner_steps=0)
    run = jax.jit(lambda c, pool: model.train_predict(c, pool, x, t, SOLVER))
    a = run(jnp.array([5.0, -3.0]), jnp.ones((2, CONTEXT)))
    b = run(jnp.zeros(CONTEXT), jnp.zeros((4, CONTEXT)))
    np.testing.assert_array_equal(a, b)
    # with no inner step the adapted context is zero, so training predicts with ctx = 0
    np.testing.assert_allclose(a[0], model.predict(jnp.zeros(CONTEXT), x, t, SOLVER), rtol=1e-6)


@pytest.mark.slow
def test_outer_gradient_is_second_order(toy_data):
    """The outer gradient differs from the first-order one (inner loop behind
    ``stop_gradient``), and a finite difference along the direction where they differ most
    agrees with the second-order gradient."""
    x, t = toy_data
    model = _cavia(inner_steps=2, inner_lr=1.0)
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def second_order(p):
        return trajectory_mse(eqx.combine(p, static).train_predict(None, None, x, t, FIXED), x)

    def first_order(p):
        m = eqx.combine(p, static)
        ctx = jax.lax.stop_gradient(m.adapt_context(x, t, FIXED))
        return trajectory_mse(m.predict(ctx, x, t, FIXED), x)

    g2, g1 = jax.jit(lambda p: (jax.grad(second_order)(p), jax.grad(first_order)(p)))(params)
    diff = jax.tree.map(jnp.subtract, g2, g1)
    norm = jnp.sqrt(sum(jnp.sum(d * d) for d in jax.tree.leaves(diff)))
    g2_norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree.leaves(g2)))
    assert norm > 0.05 * g2_norm, (float(norm), float(g2_norm))

    u = jax.tree.map(lambda d: d / norm, diff)
    along = lambda g: float(sum(jnp.sum(a * b) for a, b in zip(*map(jax.tree.leaves, (g, u)))))  # noqa: E731
    eps = 1e-2
    loss = jax.jit(lambda s: second_order(jax.tree.map(lambda p, d: p + s * d, params, u)))
    fd = float(loss(eps) - loss(-eps)) / (2 * eps)
    assert abs(fd - along(g2)) < 0.1 * abs(along(g2) - along(g1)), (fd, along(g2), along(g1))
