"""The root MLP: Swish with learnable slopes, explicit weights, layer sizes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mixer.backbones.mlp import SwishMLP, apply_mlp, layer_sizes, swish


def test_swish_is_x_times_sigmoid_beta_x():
    x = jnp.linspace(-3.0, 3.0, 7)
    np.testing.assert_allclose(swish(x, jnp.asarray(2.0)), x / (1 + jnp.exp(-2.0 * x)), rtol=1e-6)


def test_mlp_matches_a_hand_written_forward_pass():
    mlp = SwishMLP(3, 2, 5, 2, key=jax.random.key(0))
    betas = jnp.array([0.5, 1.7])
    x = jnp.array([0.2, -0.4, 1.1])
    (w0, w1, w2), (b0, b1, b2) = mlp.weights, mlp.biases
    h = w0 @ x + b0
    h = h * jax.nn.sigmoid(0.5 * h)
    h = w1 @ h + b1
    h = h * jax.nn.sigmoid(1.7 * h)
    want = w2 @ h + b2
    np.testing.assert_allclose(apply_mlp(mlp.weights, mlp.biases, betas, x), want, rtol=1e-6)
    assert [w.shape for w in mlp.weights] == [(5, 3), (5, 5), (2, 5)]
    assert mlp.in_size == 3 and mlp.out_size == 2
    np.testing.assert_array_equal(mlp.betas, jnp.ones(2))


def test_slopes_are_learnable():
    mlp = SwishMLP(2, 1, 4, 2, key=jax.random.key(1))
    grads = jax.grad(lambda m: jnp.sum(m(jnp.array([0.5, -1.0])) ** 2))(mlp)
    assert np.all(np.asarray(grads.betas) != 0)


def test_depth_zero_is_linear():
    mlp = SwishMLP(3, 2, 8, 0, key=jax.random.key(2))
    x = jnp.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(mlp(2 * x) - mlp(x), mlp(x) - mlp(jnp.zeros(3)), rtol=1e-5)
    assert mlp.betas.shape == (0,)


def test_default_init_bounds():
    mlp = SwishMLP(16, 4, 32, 1, key=jax.random.key(3))
    assert float(jnp.max(jnp.abs(mlp.weights[0]))) <= 1 / 16**0.5
    assert float(jnp.max(jnp.abs(mlp.weights[1]))) <= 1 / 32**0.5


def test_inconsistent_weights_are_rejected():
    mlp = SwishMLP(2, 2, 4, 2, key=jax.random.key(4))
    with pytest.raises(ValueError, match="inconsistent"):
        apply_mlp(mlp.weights, mlp.biases, jnp.ones(1), jnp.zeros(2))
    with pytest.raises(ValueError, match="depth"):
        layer_sizes(2, 2, 4, -1)
