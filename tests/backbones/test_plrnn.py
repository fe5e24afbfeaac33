"""hier-shPLRNN: causality of teacher forcing (lagged target), free running, z_0 = x_0, the
step formula and the hypernetwork."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from backbone_helpers import HEUN

from mixer.backbones.plrnn import PLRNN

D, DCTX, TRAJ, TIME = 3, 4, 2, 9
CTX = jnp.array([0.5, -0.4, 1.0, 0.2])


@pytest.fixture
def series():
    x = jax.random.normal(jax.random.key(11), (TRAJ, TIME, D))
    return x, jnp.arange(TIME, dtype=jnp.float32)


def _model(**options) -> PLRNN:
    return PLRNN(D, DCTX, key=jax.random.key(0), hyper_init_std=0.3, **options)


def _teacher(model, x, t):
    return model.train_predict(CTX, CTX[None], x, t, HEUN)[0]


def test_first_output_is_the_observed_first_state(series):
    x, t = series
    model = _model()
    np.testing.assert_array_equal(_teacher(model, x, t)[:, 0], x[:, 0])
    np.testing.assert_array_equal(model.predict(CTX, x, t, HEUN)[:, 0], x[:, 0])


def test_teacher_forced_output_depends_only_on_the_past(series):
    """d out[t] / d x[s] is zero for s >= t (t >= 1), nonzero for s = t - 1."""
    x, t = series
    model = _model()
    jac = jax.jacrev(lambda xs: _teacher(model, xs[None], t)[0])(x[0])  # (T, D, T, D)
    block = np.abs(np.asarray(jac)).sum(axis=(1, 3))  # (T out, T in)
    for out_t in range(1, TIME):
        assert np.all(block[out_t, out_t:] == 0), out_t
        assert block[out_t, out_t - 1] > 0, out_t
    np.testing.assert_array_equal(jac[0, :, 0, :], np.eye(D))


def test_perturbing_future_data_leaves_teacher_forced_outputs_unchanged(series):
    x, t = series
    model = _model()
    out = _teacher(model, x, t)
    for cut in (1, 4, TIME - 1):
        noisy = x.at[:, cut:].add(jax.random.normal(jax.random.key(cut), x[:, cut:].shape))
        out_noisy = _teacher(model, noisy, t)
        np.testing.assert_array_equal(out_noisy[:, : cut + 1], out[:, : cut + 1])
        if cut + 1 < TIME:
            assert np.max(np.abs(out_noisy[:, cut + 1 :] - out[:, cut + 1 :])) > 1e-4


def test_free_running_reads_only_the_first_state(series):
    x, t = series
    model = _model()
    noisy = x.at[:, 1:].set(jax.random.normal(jax.random.key(5), x[:, 1:].shape))
    free = model.predict(CTX, x, t, HEUN)
    np.testing.assert_array_equal(model.predict(CTX, noisy, t, HEUN), free)


def test_alpha_one_teacher_forcing_is_free_running(series):
    x, t = series
    model = _model(alpha=1.0)
    np.testing.assert_allclose(_teacher(model, x, t), model.predict(CTX, x, t, HEUN), rtol=1e-6)


def test_one_step_matches_the_formula(series):
    x, t = series
    model = _model(alpha=0.5, hidden=5)
    w = model.weights(CTX)
    out = _teacher(model, x, t)
    z1 = out[0, 1]
    z_tilde = 0.5 * z1 + 0.5 * x[0, 1]  # the input of the step producing time 2
    want = w.a * z_tilde + w.w1 @ jnp.maximum(w.w2 @ z_tilde + w.h2, 0.0) + w.h1
    np.testing.assert_allclose(out[0, 2], want, rtol=1e-5, atol=1e-6)
    assert w.w1.shape == (D, 5) and w.w2.shape == (5, D) and w.a.shape == (D,)


def test_every_step_weight_is_linear_in_the_context():
    model = _model()
    zero, one, two = (model.weights(c) for c in (jnp.zeros(DCTX), CTX, 2 * CTX))
    for w0, w1, w2, hyper in zip(
        *(jax.tree.leaves(w) for w in (zero, one, two, model.hyper)), strict=True
    ):
        np.testing.assert_allclose(w2 - w1, w1 - w0, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(w1 - w0, hyper @ CTX, rtol=1e-5, atol=1e-6)
        assert np.max(np.abs(w1 - w0)) > 0  # every weight is context-dependent


def test_invalid_alpha_is_rejected():
    with pytest.raises(ValueError, match="alpha"):
        _model(alpha=1.5)


def test_scale_multiplies_the_step_increment(series):
    """The naive mixture scales the step increment: z_t = z̃ + p (F(z̃) − z̃), in the free run
    and under teacher forcing; p = 1 is the plain model and p = 0 holds the state."""
    x, t = series
    model = _model()
    weights = model.weights(CTX)
    p = jnp.asarray(0.3)
    free = model.predict(CTX, x, t, HEUN, p)
    z0 = x[:, 0]
    np.testing.assert_allclose(
        free[:, 1], z0 + p * (jax.vmap(weights.step)(z0) - z0), rtol=1e-5, atol=1e-6
    )
    teacher = model.loss_predict(CTX, x, t, HEUN, p)
    mixed = 0.5 * free[:, 1] + 0.5 * x[:, 1]  # alpha = 0.5 of the previous output and data
    np.testing.assert_allclose(
        teacher[:, 2], mixed + p * (jax.vmap(weights.step)(mixed) - mixed), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        model.predict(CTX, x, t, HEUN, jnp.asarray(1.0)), model.predict(CTX, x, t, HEUN), rtol=1e-6
    )
    held = model.predict(CTX, x, t, HEUN, jnp.asarray(0.0))
    np.testing.assert_array_equal(held, jnp.broadcast_to(x[:, :1], held.shape))


def test_the_training_loss_scores_the_teacher_forced_prediction(series):
    """``loss_predict`` (loss matrix, model selection) is the teacher-forced rollout that
    ``train_predict`` returns, not the free run."""
    x, t = series
    model = _model()
    np.testing.assert_array_equal(model.loss_predict(CTX, x, t, HEUN), _teacher(model, x, t))
    assert not np.allclose(model.loss_predict(CTX, x, t, HEUN), model.predict(CTX, x, t, HEUN))
