"""Adaptation of new contexts with a frozen model (``mixer.adapt``), and sparse chunked
evaluation (``mixer.evaluate``, which ``mixer.adapt`` re-exports for the scripts)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from train_toys import FAST_SOLVER, ContextLinear, toy_mixer

import mixer.adapt as adapt_module
import mixer.evaluate as evaluate_module
from mixer.adapt import AdaptConfig, adapt
from mixer.envdata import EnvData
from mixer.evaluate import evaluate

CTX = 2
CFG = AdaptConfig(steps=60, lr=0.05, solver=FAST_SOLVER)


@pytest.fixture(scope="module")
def model():
    """Two different experts; the gate routes by the sign of the first context entry."""
    base = toy_mixer(ContextLinear, 2, CTX, naive=False, key=jax.random.key(0))
    gate = jnp.array([[4.0, -4.0], [0.0, 0.0], [0.0, 0.1]])  # bias row last: 0 -> expert 1
    return eqx.tree_at(
        lambda m: (m.experts.base, m.gate), base, (base.experts.base.at[1].multiply(-0.5), gate)
    )


def _data(model, true_contexts, seed=0):
    rng = np.random.default_rng(seed)
    num_envs = true_contexts.shape[0]
    t = jnp.broadcast_to(jnp.linspace(0.0, 2.0, 12), (num_envs, 12))
    x0 = jnp.asarray(rng.normal(size=(num_envs, 3, 12, 2)), jnp.float32)
    x = jax.vmap(lambda c, xx, tt: model.predict(c, xx, tt, FAST_SOLVER))(true_contexts, x0, t)
    return EnvData(x=x, t=t)


TRUE = jnp.array([[-0.6, 0.3], [-0.3, -0.5], [0.4, 0.2]])


def test_loss_decreases_and_contexts_fit(model):
    data = _data(model, TRUE[:2])
    contexts, losses = adapt(model, data, CFG, key=jax.random.key(0))
    assert contexts.shape == (2, CTX) and losses.shape == (CFG.steps, 2)
    losses = np.asarray(losses)
    assert np.all(losses[-1] < 0.05 * losses[0])
    # contexts routed as the frozen gate dictates reproduce the data
    pred = evaluate(model, contexts, data, FAST_SOLVER)
    assert float(jnp.mean((pred - data.x) ** 2)) < 0.05 * float(jnp.mean(data.x**2))


def test_environments_are_independent(model):
    """Adapting {a, b} gives a the same context as adapting {a} alone (and in chunks)."""
    pair = _data(model, TRUE[:2])
    alone = pair.subset([0])
    ctx_pair, loss_pair = adapt(model, pair, CFG, key=jax.random.key(5))
    ctx_alone, loss_alone = adapt(model, alone, CFG, key=jax.random.key(5))
    np.testing.assert_allclose(ctx_pair[0], ctx_alone[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss_pair[:, 0], loss_alone[:, 0], rtol=1e-5, atol=1e-7)
    chunked, _ = adapt(model, pair, dataclasses.replace(CFG, batch_size=1), key=jax.random.key(5))
    np.testing.assert_allclose(chunked, ctx_pair, rtol=1e-5, atol=1e-6)


def test_compiled_once_for_repeated_calls(model, monkeypatch):
    traces = []
    real = adapt_module.env_loss

    def counting(*args, **kwargs):
        traces.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(adapt_module, "env_loss", counting)
    cfg = dataclasses.replace(CFG, steps=7)  # a shape no other test compiles
    first = adapt(model, _data(model, TRUE, seed=1), cfg, key=jax.random.key(0))
    count = len(traces)
    assert count >= 1
    second = adapt(model, _data(model, TRUE[::-1], seed=2), cfg, key=jax.random.key(1))
    assert len(traces) == count  # same shapes: no new trace, no new compilation
    assert not np.allclose(first[0], second[0])


def test_evaluate_is_sparse_routed_and_chunked(model):
    data = _data(model, TRUE)
    contexts = TRUE + 0.05
    reference = jax.vmap(lambda c, x, t: model.predict(c, x, t, FAST_SOLVER))(
        contexts, data.x, data.t
    )
    routed = np.asarray(jax.vmap(model.route)(contexts))
    assert set(routed) == {0, 1}
    for chunk in (1, 2, 3, 64):
        pred = evaluate(model, contexts, data, FAST_SOLVER, chunk_size=chunk)
        np.testing.assert_allclose(pred, reference, rtol=1e-5, atol=1e-6)
    expert0 = jax.vmap(
        lambda c, x, t: model.expert(0).predict(model.expert_context(c, 0), x, t, FAST_SOLVER)
    )(contexts, data.x, data.t)
    assert not np.allclose(reference[routed == 1], expert0[routed == 1])
    with pytest.raises(ValueError, match="contexts"):
        evaluate(model, contexts[:2], data, FAST_SOLVER)


def _record_program_shapes(monkeypatch) -> list:
    """Replace the compiled evaluation with one that records the (contexts, trajectories)
    shapes of every call: one shape means one compiled program."""
    shapes: list = []
    original = evaluate_module._evaluate

    def recorded(m, c, x, *args):
        shapes.append((c.shape, x.shape))
        return original(m, c, x, *args)

    monkeypatch.setattr(evaluate_module, "_evaluate", recorded)
    return shapes


def test_evaluate_in_trajectory_chunks_reuses_one_program(model, monkeypatch):
    data = _data(model, TRUE)
    data = EnvData(x=jnp.concatenate([data.x, data.x[:, ::-1]], axis=1), t=data.t)  # 6 traj
    contexts = TRUE + 0.05
    whole = evaluate(model, contexts, data, FAST_SOLVER)
    shapes = _record_program_shapes(monkeypatch)
    for traj_chunk, calls in ((2, 3), (3, 2), (4, 1), (6, 1), (None, 1)):
        shapes.clear()
        pred = evaluate(model, contexts, data, FAST_SOLVER, traj_chunk=traj_chunk)
        np.testing.assert_allclose(pred, whole, rtol=1e-6, atol=1e-7)
        assert len(shapes) == calls and len(set(shapes)) == 1  # one shape: one program


def test_evaluate_in_environment_groups_reuses_one_program(model, monkeypatch):
    """``env_chunk``: groups of that many environments (the last padded by repetition) give
    the predictions of the whole split, every call with one shape, for splits with fewer and
    more environments than the group size."""
    data = _data(model, TRUE)
    contexts = TRUE + 0.05
    whole = evaluate(model, contexts, data, FAST_SOLVER)
    shapes = _record_program_shapes(monkeypatch)
    num_envs = data.num_envs
    for env_chunk, calls in ((1, num_envs), (2, -(-num_envs // 2)), (num_envs + 3, 1)):
        shapes.clear()
        pred = evaluate(model, contexts, data, FAST_SOLVER, env_chunk=env_chunk)
        assert pred.shape == whole.shape
        np.testing.assert_allclose(pred, whole, rtol=1e-5, atol=1e-6)
        assert len(shapes) == calls and len(set(shapes)) == 1  # one shape: one program
        assert shapes[0][0][0] == env_chunk  # (contexts, trajectories) shapes
    with pytest.raises(ValueError, match="env_chunk"):
        evaluate(model, contexts, data, FAST_SOLVER, env_chunk=0)


def test_config_validation():
    with pytest.raises(ValueError):
        AdaptConfig(steps=0)
    with pytest.raises(ValueError):
        AdaptConfig(batch_size=0)
    with pytest.raises(ValueError):
        AdaptConfig(min_window=1.5)


def test_adapt_reexports_the_one_evaluate():
    """Scripts may import ``evaluate`` from ``mixer.adapt``: it is the evaluation module's."""
    assert adapt_module.evaluate is evaluate
    assert adapt_module.infer_contexts is evaluate_module.infer_contexts
