"""CAVIA: the inner loop is plain SGD on the context, and the outer gradient is second order."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from backbone_helpers import CONTEXT, SOLVER, STATE

from mixer.backbones.base import trajectory_mse
from mixer.backbones.cavia import CAVIA
from mixer.solve import SolverConfig, solve_many

SMALL = {"width": 8, "depth": 2}
# fixed steps, so that the loss is smooth in the weights (finite differences)
FIXED = SolverConfig(solver="heun", max_steps=64)


def _cavia(**options) -> CAVIA:
    return CAVIA(STATE, CONTEXT, key=jax.random.key(0), **{**SMALL, **options})


def test_inner_loop_is_sgd_from_zero_on_the_environment_data(toy_data):
    """One compiled function checks: the twice-differentiable solver gives the numbers of
    ``solve_many``; one inner step is ``-lr * grad`` of the MSE at ctx = 0 and lowers it;
    training ignores the stored context and pool and predicts with the adapted context."""
    x, t = toy_data
    model = _cavia(inner_steps=1, inner_lr=0.5)

    @jax.jit
    def run():
        def loss(c):
            return trajectory_mse(model.predict(c, x, t, FIXED), x)

        zero = jnp.zeros(CONTEXT)
        field = lambda _, y: model.vector_field(y, jnp.array([0.3, -0.5]))  # noqa: E731
        adapted = model.adapt_context(x, t, FIXED)
        return {
            "solves": [
                (
                    solve_many(field, x[:, 0], t, cfg, higher_order=True),
                    solve_many(field, x[:, 0], t, cfg),
                )
                for cfg in (FIXED, SOLVER)
            ],
            "adapted": adapted,
            "manual": -0.5 * jax.grad(loss)(zero),
            "losses": (loss(zero), loss(adapted)),
            "train_a": model.train_predict(jnp.array([5.0, -3.0]), jnp.ones((2, 2)), x, t, FIXED),
            "train_b": model.train_predict(zero, jnp.zeros((4, 2)), x, t, FIXED),
            "predict_adapted": model.predict(adapted, x, t, FIXED),
        }

    out = run()
    for higher_order, plain in out["solves"]:
        np.testing.assert_allclose(higher_order, plain, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["adapted"], out["manual"], rtol=1e-4, atol=1e-7)
    assert np.any(out["adapted"] != 0)
    assert out["losses"][1] < out["losses"][0]
    assert out["train_a"].shape == (1, *x.shape)
    np.testing.assert_allclose(out["train_a"], out["train_b"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out["train_a"][0], out["predict_adapted"], rtol=1e-5, atol=1e-6)


def test_zero_inner_steps_adapt_to_the_zero_context():
    model = _cavia(inner_steps=0)
    x = jnp.ones((2, 4, STATE))
    ctx = model.adapt_context(x, jnp.linspace(0.0, 1.0, 4), SOLVER)
    np.testing.assert_array_equal(ctx, jnp.zeros(CONTEXT))


@pytest.mark.slow
def test_outer_gradient_is_second_order(toy_data):
    """The outer gradient differs from the first-order one (inner loop behind
    ``stop_gradient``), and a finite difference along the direction where they differ most
    agrees with the second-order gradient."""
    x, t = toy_data
    # the context barely moves the untrained field, so a large inner step makes the
    # second-order term visible
    model = _cavia(inner_steps=1, inner_lr=50.0)
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def second_order(p):
        zero = jnp.zeros(CONTEXT)
        pred = eqx.combine(p, static).train_predict(zero, zero[None], x, t, FIXED)
        return trajectory_mse(pred, x)

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

    def along(g):
        return float(
            sum(jnp.sum(a * b) for a, b in zip(*map(jax.tree.leaves, (g, u)), strict=True))
        )

    eps = 1e-2
    loss = jax.jit(lambda s: second_order(jax.tree.map(lambda p, d: p + s * d, params, u)))
    fd = float(loss(eps) - loss(-eps)) / (2 * eps)
    assert abs(fd - along(g2)) < 0.1 * abs(along(g2) - along(g1)), (fd, along(g2), along(g1))
