"""NCF: the Taylor-expanded field against a dense-derivative reference, and the CSM rollouts."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from backbone_helpers import CONTEXT, HEUN, STATE

from mixer.backbones.ncf import NCF
from mixer.solve import solve_many

SMALL = {"width": 8, "depth": 2, "ctx_features": 4, "state_features": 4}


def _ncf(order: int, key: int = 0) -> NCF:
    return NCF(STATE, CONTEXT, key=jax.random.key(key), taylor_order=order, **SMALL)


def _dense_reference(model: NCF, x, anchor, ctx, order: int):
    """f + J v + ½ vᵀ H v from dense derivatives (test only)."""
    f = lambda c: model.vector_field(x, c)  # noqa: E731
    v = ctx - anchor
    out = f(anchor)
    if order >= 1:
        out = out + jax.jacfwd(f)(anchor) @ v
    if order >= 2:
        out = out + 0.5 * jnp.einsum("kij,i,j->k", jax.hessian(f)(anchor), v, v)
    return out


@pytest.mark.parametrize("order", [0, 1, 2])
def test_taylor_field_equals_dense_expansion(order):
    model = _ncf(order)
    x = jnp.array([0.3, -0.7])
    anchor, ctx = jnp.array([0.5, -0.2]), jnp.array([-0.4, 0.6])
    got = model.taylor_field(x, model.context_jet(anchor, ctx))
    want = _dense_reference(model, x, anchor, ctx, order)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if order > 0:  # the correction terms are not negligible, so a dropped term is caught
        lower = _dense_reference(model, x, anchor, ctx, order - 1)
        assert np.max(np.abs(want - lower)) > 1e-3


def test_taylor_error_shrinks_with_the_expected_order():
    """|f(ctx) - T_k f(ctx)| = O(|v|^(k+1)): halving v divides the error by ~2^(k+1)."""
    x, anchor = jnp.array([0.3, -0.7]), jnp.array([0.5, -0.2])
    direction = jnp.array([-0.9, 0.8])
    for order in (0, 1, 2):
        model = _ncf(order)
        exact = lambda c, m=model: m.vector_field(x, c)  # noqa: E731
        errors = []
        for scale in (0.2, 0.1):
            ctx = anchor + scale * direction
            approx = model.taylor_field(x, model.context_jet(anchor, ctx))
            errors.append(float(jnp.linalg.norm(approx - exact(ctx))))
        ratio = errors[0] / errors[1]
        assert 2 ** (order + 1) * 0.7 < ratio < 2 ** (order + 1) * 1.4, (order, errors)


@pytest.mark.parametrize("order", [1, 2])
def test_exact_for_a_context_affine_field(order):
    """With a linear context sub-network and a linear main network (depth 0), f is affine in
    the context, so every order >= 1 reproduces f(x, ctx) exactly, however far ctx is."""
    model = NCF(STATE, CONTEXT, key=jax.random.key(3), depth=0, ctx_depth=0, taylor_order=order)
    x = jnp.array([0.3, -0.7])
    anchor, ctx = jnp.array([0.5, -0.2]), jnp.array([-1.4, 2.6])
    got = model.taylor_field(x, model.context_jet(anchor, ctx))
    np.testing.assert_allclose(got, model.vector_field(x, ctx), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("order", [0, 2])
def test_pool_of_own_context_equals_predict(order, toy_data):
    x, t = toy_data
    model = _ncf(order)
    ctx = jnp.array([0.4, -0.3])
    train = jax.jit(lambda c: model.train_predict(c, c[None], x, t, HEUN))(ctx)
    pred = jax.jit(lambda c: model.predict(c, x, t, HEUN))(ctx)
    assert train.shape == (1, *pred.shape)
    np.testing.assert_allclose(train[0], pred, rtol=1e-5, atol=1e-6)


def test_each_pool_row_rolls_out_its_own_expansion(toy_data):
    x, t = toy_data
    model = _ncf(2)
    ctx = jnp.array([0.4, -0.3])
    # far neighbours, so that the truncation error of the expansion is visible
    pool = jnp.stack([ctx, ctx + jnp.array([2.0, 0.8]), ctx - jnp.array([0.4, 2.4])])

    @jax.jit
    def run(ctx, pool):
        train = model.train_predict(ctx, pool, x, t, HEUN)
        ref = jax.vmap(
            lambda a: solve_many(
                lambda _, y: _dense_reference(model, y, a, ctx, 2), x[:, 0], t, HEUN
            )
        )(pool)
        return train, ref

    train, ref = run(ctx, pool)
    np.testing.assert_allclose(train, ref, rtol=1e-4, atol=1e-5)
    # the rows really differ (so a row mix-up would be caught)
    assert np.max(np.abs(train[1] - train[2])) > 1e-3


def test_invalid_taylor_order_is_rejected():
    with pytest.raises(ValueError, match="taylor_order"):
        _ncf(3)


@pytest.mark.parametrize("order", [1, 2])
def test_own_context_row_has_the_expansion_gradients(order, toy_data):
    """Row 0 of the pool is the environment's own context, rolled out without the Taylor
    machinery: its loss has the gradients (weights and context, with the row carrying the
    context's gradient as in training) of the expanded field at v = 0."""
    x, t = toy_data
    model = _ncf(order)
    ctx = jnp.array([0.4, -0.3])
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def expanded(p, c):
        m = eqx.combine(p, static)
        jet = m.context_jet(c, c)
        pred = solve_many(lambda _, y: m.taylor_field(y, jet), x[:, 0], t, HEUN)
        return jnp.mean((pred - x) ** 2)

    def row0(p, c):
        m = eqx.combine(p, static)
        return jnp.mean((m.train_predict(c, c[None], x, t, HEUN)[0] - x) ** 2)

    grads = jax.jit(
        lambda p, c: (
            jax.grad(expanded, argnums=(0, 1))(p, c),
            jax.grad(row0, argnums=(0, 1))(p, c),
        )
    )(params, ctx)
    for want, got in zip(*map(jax.tree.leaves, grads), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
