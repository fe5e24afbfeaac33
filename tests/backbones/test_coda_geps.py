"""CoDA and GEPS: the adapted weights are exactly the published formulas, formed once per call,
and a zero context gives the plain root MLP."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from backbone_helpers import CONTEXT, HEUN, STATE

from mixer.backbones.coda import CoDA
from mixer.backbones.geps import GEPS
from mixer.backbones.mlp import apply_mlp, layer_sizes, rollout_mlp
from mixer.solve import solve_many

SMALL = {"width": 8, "depth": 2}
CTX = jnp.array([0.7, -1.3])


def _ravel(weights, biases):
    return jnp.concatenate([a.ravel() for a in (*weights, *biases)])


@pytest.mark.parametrize("cls", [CoDA, GEPS], ids=lambda c: c.__name__)
def test_zero_context_is_the_plain_root_mlp(cls, toy_data):
    x, t = toy_data
    model = cls(STATE, CONTEXT, key=jax.random.key(0), **SMALL)

    @jax.jit
    def run(ctx):
        plain = solve_many(lambda _, y: model.root(y), x[:, 0], t, HEUN)
        return model.predict(ctx, x, t, HEUN), plain

    adapted, plain = run(jnp.zeros(CONTEXT))
    np.testing.assert_allclose(adapted, plain, rtol=1e-6, atol=1e-7)
    adapted_ctx, _ = run(CTX)  # and a nonzero context changes the rollout
    assert np.max(np.abs(adapted_ctx - plain)) > 1e-4


def test_coda_adapted_parameters_are_theta_plus_linear_map():
    model = CoDA(STATE, CONTEXT, key=jax.random.key(1), **SMALL)
    n_root = sum(i * o + o for i, o in layer_sizes(STATE, STATE, **SMALL))
    w_h = jnp.concatenate(
        [h.reshape(-1, CONTEXT) for h in (*model.hyper_weights, *model.hyper_biases)]
    )
    assert w_h.shape == (n_root, CONTEXT)
    theta = _ravel(model.root.weights, model.root.biases)
    np.testing.assert_allclose(
        _ravel(*model.adapted_weights(CTX)), theta + w_h @ CTX, rtol=1e-6, atol=1e-7
    )


def test_coda_hypernetwork_initialisation_scale():
    model = CoDA(STATE, CONTEXT, key=jax.random.key(2), width=32, depth=2, hyper_init_std=0.05)
    entries = jnp.concatenate([h.ravel() for h in model.hyper_weights])
    assert abs(float(jnp.std(entries)) - 0.05) < 0.005
    assert abs(float(jnp.mean(entries))) < 0.005


def test_geps_adapted_weights_are_low_rank_updates():
    model = GEPS(STATE, CONTEXT, key=jax.random.key(3), **SMALL)
    weights, biases = model.adapted_weights(CTX)
    for w, a, b, w_e in zip(model.root.weights, model.lora_a, model.lora_b, weights, strict=True):
        assert a.shape == (w.shape[0], CONTEXT) and b.shape == (CONTEXT, w.shape[1])
        np.testing.assert_allclose(w_e, w + a @ jnp.diag(CTX) @ b, rtol=1e-6, atol=1e-6)
    for bias, a_b, b_e in zip(model.root.biases, model.bias_a, biases, strict=True):
        np.testing.assert_allclose(b_e, bias + a_b @ CTX, rtol=1e-6, atol=1e-6)


def test_geps_factored_predict_equals_adapted_root_rollout(toy_data):
    """The factored field W h + (A diag(ξ))(B h) is the root MLP with W + A diag(ξ) B."""
    x, t = toy_data
    model = GEPS(STATE, CONTEXT, key=jax.random.key(6), **SMALL)
    ctx = 0.5 * jax.random.normal(jax.random.key(7), (CONTEXT,))
    weights, biases = model.adapted_weights(ctx)
    dense = rollout_mlp(weights, biases, model.root.betas, x[:, 0], t, HEUN)
    np.testing.assert_allclose(model.predict(ctx, x, t, HEUN), dense, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.predict(jnp.zeros(CONTEXT), x, t, HEUN), dense, atol=1e-3)


def test_geps_glorot_uniform_initialisation():
    model = GEPS(STATE, CONTEXT, key=jax.random.key(4), width=64, depth=1)
    for mat in (*model.lora_a, *model.lora_b, *model.bias_a):
        limit = (6.0 / sum(mat.shape)) ** 0.5
        assert float(jnp.max(jnp.abs(mat))) <= limit
        if mat.size >= 64:  # large enough to see the spread of a uniform law
            assert float(jnp.max(jnp.abs(mat))) > 0.7 * limit


@pytest.mark.parametrize(
    ("cls", "method"), [(CoDA, "adapted_weights"), (GEPS, "env_factors")], ids=["CoDA", "GEPS"]
)
def test_adapted_weights_are_formed_once_per_predict(cls, method, monkeypatch, toy_data):
    """Tracing a rollout forms the context-adapted parameters once, not per field evaluation."""
    x, t = toy_data
    model = cls(STATE, CONTEXT, key=jax.random.key(5), **SMALL)
    calls = []
    original = getattr(cls, method)

    def counting(self, ctx):
        calls.append(1)
        return original(self, ctx)

    monkeypatch.setattr(cls, method, counting)
    jax.eval_shape(lambda c: model.predict(c, x, t, HEUN), CTX)
    assert len(calls) == 1


@pytest.mark.parametrize("cls", [CoDA, GEPS], ids=lambda c: c.__name__)
def test_shared_field_is_the_root_mlp_with_adapted_weights(cls):
    """``shared_field(env_factors(ξ), y)`` (weights shared by every environment, no
    per-environment matrix) equals the root MLP with the adapted weights of ξ, batched over
    environments and states as the loss matrix batches it."""
    model = cls(STATE, CONTEXT, key=jax.random.key(8), width=8, depth=2)
    ctxs = 0.7 * jax.random.normal(jax.random.key(9), (5, CONTEXT))
    ys = jax.random.normal(jax.random.key(10), (5, 3, STATE))

    def shared(ctx, y):
        return jax.vmap(lambda v: model.shared_field(model.env_factors(ctx), v))(y)

    def dense(ctx, y):
        weights, biases = model.adapted_weights(ctx)
        return jax.vmap(lambda v: apply_mlp(weights, biases, model.root.betas, v))(y)

    np.testing.assert_allclose(
        jax.vmap(shared)(ctxs, ys), jax.vmap(dense)(ctxs, ys), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("cls", [CoDA, GEPS], ids=lambda c: c.__name__)
def test_default_root_mlp_has_three_linear_layers(cls):
    """SPEC §2.2: the paper's "3-layer MLP" is three linear layers (two hidden layers)."""
    model = cls(STATE, CONTEXT, key=jax.random.key(11))
    assert [w.shape for w in model.root.weights] == [(64, STATE), (64, 64), (STATE, 64)]
