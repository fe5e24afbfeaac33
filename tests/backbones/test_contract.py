"""One contract test run over every registered backbone (table-driven).

Each row is a tiny configuration of one backbone; the test checks shapes, jit == eager,
finite nonzero gradients, the serialisation round trip, that a few Adam steps reduce the
training loss, and that an expert indexed out of a ``filter_vmap``-stacked set equals the
expert built alone with the same key.
"""

from __future__ import annotations

import dataclasses
import io

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from backbone_helpers import CONTEXT, HEUN, SOLVER, STATE, TIME, TRAJ

from mixer.backbones.base import trajectory_mse
from mixer.backbones.registry import BACKBONES, make_backbone
from mixer.solve import SolverConfig


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    options: dict
    solver: SolverConfig = SOLVER
    uses_pool: bool = False  # train_predict returns one rollout per pool row
    uses_ctx_in_training: bool = True  # the training loss depends on the stored context


SMALL_MLP = {"width": 8, "depth": 2}
CASES = [
    Case("ncf", {**SMALL_MLP, "ctx_features": 4, "state_features": 4}, uses_pool=True),
    Case("coda", SMALL_MLP),
    Case("geps", SMALL_MLP),
    # second-order training compiles slowly; a fixed-step solver keeps it cheap
    Case("cavia", {**SMALL_MLP, "inner_steps": 2}, solver=HEUN, uses_ctx_in_training=False),
    Case("plrnn", {"hidden": 8}),
]


def test_every_registered_backbone_has_a_case():
    assert sorted(c.name for c in CASES) == sorted(BACKBONES)


def _build(case: Case, key):
    return make_backbone(case.name, STATE, CONTEXT, case.options, key=key)


def _pool(ctx):
    return jnp.stack([ctx, ctx + 0.3, ctx - 0.2])


def _train_loss(model, ctx, x, t, solver):
    return trajectory_mse(model.train_predict(ctx, _pool(ctx), x, t, solver), x)


def _check_leaves_finite_nonzero(grads, what):
    leaves = jax.tree.leaves(eqx.filter(grads, eqx.is_inexact_array))
    assert leaves, what
    for leaf in leaves:
        assert np.all(np.isfinite(leaf)), what
        assert np.any(leaf != 0), f"{what}: a parameter array gets no gradient"


def _check_shapes_and_jit(case, model, ctx, x, t, predict_jit):
    pred = model.predict(ctx, x, t, case.solver)
    assert pred.shape == (TRAJ, TIME, STATE)
    assert pred.dtype == x.dtype
    assert np.all(np.isfinite(pred))
    np.testing.assert_allclose(predict_jit(model, ctx), pred, rtol=1e-5, atol=1e-6)

    # shapes of the training prediction without compiling it (its numbers are checked through
    # the training loss below)
    train = jax.eval_shape(lambda m, c: m.train_predict(c, _pool(c), x, t, case.solver), model, ctx)
    npred = 3 if case.uses_pool else 1
    assert train.shape == (npred, TRAJ, TIME, STATE)
    assert train.dtype == x.dtype
    return pred


def _check_ctx_gradient(case, model, ctx, x, t):
    loss = lambda c: trajectory_mse(model.predict(c, x, t, case.solver), x)  # noqa: E731
    grad_ctx = jax.jit(jax.grad(loss))(ctx)
    assert grad_ctx.shape == ctx.shape
    assert np.all(np.isfinite(grad_ctx)) and np.any(grad_ctx != 0)


def _check_training(case, model, ctx, x, t):
    """Model (and context) gradients of the training loss; five Adam steps reduce it."""

    def loss_fn(params):
        return _train_loss(params[0], params[1], x, t, case.solver)

    loss_and_grad = eqx.filter_jit(eqx.filter_value_and_grad(loss_fn))
    params = eqx.filter((model, ctx), eqx.is_inexact_array)
    static = eqx.filter((model, ctx), eqx.is_inexact_array, inverse=True)
    loss0, grads = loss_and_grad(params)
    _check_leaves_finite_nonzero(grads[0], f"{case.name} model gradient")
    if case.uses_ctx_in_training:
        assert np.all(np.isfinite(grads[1])) and np.any(grads[1] != 0)
    else:
        np.testing.assert_array_equal(grads[1], 0.0)
    optimiser = optax.adam(1e-2)
    state = optimiser.init(params)
    for _ in range(5):
        with jax.numpy_dtype_promotion("standard"):  # optax itself is not strict-clean
            updates, state = optimiser.update(grads, state)
        params = eqx.apply_updates(params, updates)
        loss, grads = loss_and_grad(eqx.combine(params, static))
    assert np.isfinite(loss) and loss < 0.95 * loss0, (float(loss0), float(loss))


def _check_serialisation(case, model, ctx, pred, predict_jit):
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, model)
    buffer.seek(0)
    other = _build(case, jax.random.key(99))
    assert not np.allclose(predict_jit(other, ctx), pred)
    loaded = eqx.tree_deserialise_leaves(buffer, other)
    np.testing.assert_array_equal(predict_jit(loaded, ctx), predict_jit(model, ctx))


def _check_stacking(case, ctx, x, t, predict_jit):
    keys = jax.random.split(jax.random.key(7), 3)
    stacked = eqx.filter_vmap(lambda k: _build(case, k))(keys)

    def pick(experts, m):
        return jax.tree.map(lambda a: a[m] if eqx.is_array(a) else a, experts)

    predict_expert = eqx.filter_jit(lambda experts, m: predict_jit(pick(experts, m), ctx))
    for m in (0, 2):
        alone = _build(case, keys[m])
        for a, b in zip(jax.tree.leaves(pick(stacked, m)), jax.tree.leaves(alone), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(
            predict_expert(stacked, jnp.asarray(m)), predict_jit(alone, ctx), rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_backbone_contract(case: Case, toy_data):
    x, t = toy_data
    model = _build(case, jax.random.key(0))
    ctx = jnp.array([0.4, -0.3])
    assert model.state_size == STATE and model.context_size == CONTEXT
    predict_jit = eqx.filter_jit(lambda m, c: m.predict(c, x, t, case.solver))
    pred = _check_shapes_and_jit(case, model, ctx, x, t, predict_jit)
    if not case.uses_ctx_in_training:  # otherwise the training gradient covers the context
        _check_ctx_gradient(case, model, ctx, x, t)
    _check_training(case, model, ctx, x, t)
    _check_serialisation(case, model, ctx, pred, predict_jit)
    _check_stacking(case, ctx, x, t, predict_jit)
