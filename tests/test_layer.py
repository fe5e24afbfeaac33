"""Tests of the MixER layer: sparse routing, variants, gradients, the loss matrix."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend import core as jax_core
from jaxtyping import Array, Float

from mixer.backbones.base import AbstractBackbone, trajectory_mse
from mixer.layer import MixER, active_param_count, make_mixer, stack_experts
from mixer.solve import SolverConfig

SOLVER = SolverConfig(rtol=1e-5, atol=1e-7, max_steps=256)
STATE, TRAJ, TIME = 2, 3, 9


class LinearODE(AbstractBackbone):
    """A tiny test expert: dx/dt = (A + diag(C ctx)) x, the matrix formed once per call.

    Integrated with fixed midpoint steps in a ``lax.scan`` (the solver config is ignored) so
    that the many small compilations of these tests stay fast; the real backbones, which use
    Diffrax, are exercised by the registry tests at the end. ``train_predict`` rolls out once
    per pool row, so tests can see what the pool received.
    """

    weight: Float[Array, "D D"]
    ctx_map: Float[Array, "D d"]
    context_size: int = eqx.field(static=True)
    state_size: int = eqx.field(static=True)

    def __init__(self, state_size: int, context_size: int, *, key: jax.Array):
        k_w, k_c = jax.random.split(key)
        noise = jax.random.normal(k_w, (state_size, state_size))
        self.weight = -0.5 * jnp.eye(state_size) + 0.3 * noise
        self.ctx_map = 0.5 * jax.random.normal(k_c, (state_size, context_size))
        self.context_size = context_size
        self.state_size = state_size

    def predict(self, ctx, x, t, solver, scale=None):
        del solver
        matrix = self.weight + jnp.diag(self.ctx_map @ ctx)
        if scale is not None:
            matrix = scale * matrix

        def step(y, dt):
            half = y + 0.5 * dt * (y @ matrix.T)
            y = y + dt * (half @ matrix.T)
            return y, y

        _, ys = jax.lax.scan(step, x[:, 0], jnp.diff(t))
        return jnp.concatenate([x[:, :1], ys.transpose(1, 0, 2)], axis=1)

    def train_predict(self, ctx, pool, x, t, solver, scale=None):
        return jax.vmap(lambda c: self.predict(c, x, t, solver, scale))(pool)


@eqx.filter_jit
def batched_predict(model, ctxs, xs, ts, solver=SOLVER):
    """``predict`` of every environment (vmapped), jitted once per model structure/shape."""
    return jax.vmap(lambda c, x, t: model.predict(c, x, t, solver))(ctxs, xs, ts)


@eqx.filter_jit
def batched_dense(model, ctxs, xs, ts, solver=SOLVER):
    return jax.vmap(lambda c, x, t: model.predict_dense(c, x, t, solver))(ctxs, xs, ts)


@eqx.filter_jit
def single_predict(backbone, ctx, x, t, solver=SOLVER):
    return backbone.predict(ctx, x, t, solver)


@pytest.fixture
def linear_registry(monkeypatch):
    """Register the test backbone as ``"linear"`` for ``make_mixer``."""
    registry = pytest.importorskip("mixer.backbones.registry")
    monkeypatch.setitem(registry.BACKBONES, "linear", LinearODE)


def _data(num_envs: int, seed: int = 0):
    key = jax.random.PRNGKey(seed)
    x0 = jax.random.normal(key, (num_envs, TRAJ, 1, STATE))
    decay = jnp.exp(-jnp.linspace(0.0, 1.0, TIME))[None, None, :, None]
    xs = x0 * decay  # only x[:, 0] matters for the rollout; the rest is a target
    ts = jnp.broadcast_to(jnp.linspace(0.0, 1.0, TIME), (num_envs, TIME))
    return xs, ts


def _distinct_mixer(num_experts, context_size, *, split, naive=False, seed=0):
    """A MixER whose experts are DIFFERENT backbones (one key each), plus those backbones."""
    keys = jax.random.split(jax.random.PRNGKey(seed), num_experts + 2)
    d_m = context_size // num_experts if split else context_size
    singles = [LinearODE(STATE, d_m, key=k) for k in keys[:num_experts]]
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *singles)
    shifts = 0.1 * jax.random.normal(keys[-2], (num_experts,))
    gate = jax.random.normal(keys[-1], (context_size + 1, num_experts))
    return MixER(stacked, shifts, gate, num_experts, context_size, split, naive), singles


def _contexts_covering_all_experts(model: MixER, num_envs: int, seed: int = 1):
    ctxs = jax.random.normal(jax.random.PRNGKey(seed), (num_envs, model.context_size))
    routes = jax.vmap(model.route)(ctxs)
    assert len(set(np.asarray(routes).tolist())) == model.num_experts, routes
    return ctxs, routes


def _chunk(ctx, m, model):
    if not model.split_contexts:
        return ctx
    size = model.context_size // model.num_experts
    return ctx[..., m * size : (m + 1) * size]


@pytest.mark.parametrize("split", [True, False])
def test_sparse_routing_matches_routed_expert_alone(split):
    model, singles = _distinct_mixer(3, 6, split=split)
    ctxs, routes = _contexts_covering_all_experts(model, 12)
    xs, ts = _data(12)
    out = batched_predict(model, ctxs, xs, ts)
    for e, m in enumerate(np.asarray(routes)):
        ctx_m = _chunk(ctxs[e], m, model) + model.shifts[m]
        ref = single_predict(singles[m], ctx_m, xs[e], ts[e])
        np.testing.assert_allclose(out[e], ref, rtol=1e-5, atol=1e-6)
    # the experts really differ, so a wrong index would be caught
    m0 = int(routes[0])
    other = single_predict(
        singles[(m0 + 1) % 3], _chunk(ctxs[0], m0, model) + model.shifts[m0], xs[0], ts[0]
    )
    assert not np.allclose(out[0], other, atol=1e-3)


def test_predict_equals_predict_dense():
    model, _ = _distinct_mixer(3, 6, split=True)
    ctxs, _ = _contexts_covering_all_experts(model, 12)
    xs, ts = _data(12)
    sparse = batched_predict(model, ctxs, xs, ts)
    dense = batched_dense(model, ctxs, xs, ts)
    np.testing.assert_allclose(sparse, dense, rtol=1e-5, atol=1e-6)
    pools = jnp.stack([ctxs, jnp.roll(ctxs, 1, axis=0)], axis=1)
    train = eqx.filter_jit(
        jax.vmap(
            lambda c, p, x, t: (
                model.train_predict(c, p, x, t, SOLVER),
                model.train_predict_dense(c, p, x, t, SOLVER),
            )
        )
    )
    sparse_train, dense_train = train(ctxs, pools, xs, ts)
    np.testing.assert_allclose(sparse_train, dense_train, rtol=1e-5, atol=1e-6)


def test_naive_scales_the_routed_vector_field_by_its_probability():
    """MixER-M†: dx/dt = p_m f_m, so the rollout starts at the data's initial state and equals
    the routed expert's rollout with its field scaled by p_m (not the scaled trajectory)."""
    naive, singles = _distinct_mixer(3, 6, split=True, naive=True)
    naive = eqx.tree_at(lambda m: m.gate, naive, 0.1 * naive.gate)  # same routes, p_m < 1
    ctxs, routes = _contexts_covering_all_experts(naive, 12)
    xs, ts = _data(12)
    pred = np.asarray(batched_predict(naive, ctxs, xs, ts))
    probs = np.asarray(jax.vmap(naive.gate_probs)(ctxs))[np.arange(12), routes]
    assert np.all(probs < 0.99)
    np.testing.assert_array_equal(pred[:, :, 0], np.asarray(xs[:, :, 0]))
    for e in range(12):
        m = int(routes[e])
        alone = single_predict(singles[m], naive.expert_context(ctxs[e], m), xs[e], ts[e])
        scaled = eqx.filter_jit(lambda b, c, x, t, p: b.predict(c, x, t, SOLVER, p))(
            singles[m], naive.expert_context(ctxs[e], m), xs[e], ts[e], jnp.asarray(probs[e])
        )
        np.testing.assert_allclose(pred[e], scaled, rtol=1e-5, atol=1e-6)
        assert not np.allclose(pred[e], alone, atol=1e-4)


@pytest.mark.parametrize("naive", [False, True])
def test_forward_pass_routes_with_the_gating_functions(naive):
    """The layer's one forward pass (``routed``) routes, and scales the naive field, with
    ``mixer.gating.gate`` (the functions the gating tests check), environment by environment
    exactly as the batched functions compute it; [ctx, 1] @ W up to rounding."""
    from mixer.gating.gate import augment, gate_logits, gate_probabilities, route

    model, _ = _distinct_mixer(3, 6, split=True, naive=naive)
    ctxs, routes = _contexts_covering_all_experts(model, 24)
    experts, scales = jax.vmap(model.routed)(ctxs)
    np.testing.assert_array_equal(experts, route(model.gate, ctxs))
    np.testing.assert_array_equal(routes, experts)
    probs = gate_probabilities(model.gate, ctxs)
    np.testing.assert_array_equal(jax.vmap(model.gate_probs)(ctxs), probs)
    if naive:
        np.testing.assert_array_equal(scales, probs[jnp.arange(24), experts])
    else:
        assert scales is None
    np.testing.assert_allclose(
        gate_logits(model.gate, ctxs), augment(ctxs) @ model.gate, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("naive", [False, True])
def test_training_fits_what_evaluation_scores(naive):
    """On the same batch, the prediction the training loss compares with the data is exactly
    the prediction evaluation (validation, test, adaptation, figures) scores."""
    model, _ = _distinct_mixer(3, 6, split=True, naive=naive)
    ctxs, _ = _contexts_covering_all_experts(model, 12)
    xs, ts = _data(12)
    both = eqx.filter_jit(
        jax.vmap(
            lambda c, x, t: (
                model.train_predict(c, c[None], x, t, SOLVER)[0],
                model.predict(c, x, t, SOLVER),
                model.loss_predict(c, x, t, SOLVER),
            )
        )
    )
    fitted, scored, loss_pred = both(ctxs, xs, ts)
    np.testing.assert_array_equal(fitted, scored)
    np.testing.assert_array_equal(loss_pred, scored)


@pytest.mark.parametrize("split", [True, False])
def test_mixer_one_equals_single_backbone(linear_registry, split):
    key = jax.random.PRNGKey(3)
    model = make_mixer(
        "linear", STATE, 4, 1, split_contexts=split, naive=False, options={}, key=key
    )
    single = LinearODE(STATE, 4, key=key)
    xs, ts = _data(5)
    ctxs = jax.random.normal(jax.random.PRNGKey(4), (5, 4))
    out = batched_predict(model, ctxs, xs, ts)
    ref = jax.vmap(lambda c, x, t: single_predict(single, c, x, t))(ctxs, xs, ts)
    # equal up to float rounding (the routed weights are gathered per environment)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert active_param_count(model) == STATE * STATE + STATE * 4


def test_make_mixer_shares_one_init_and_gate_init(linear_registry):
    key = jax.random.PRNGKey(5)
    model = make_mixer("linear", STATE, 6, 3, split_contexts=True, naive=False, options={}, key=key)
    single = LinearODE(STATE, 2, key=key)
    for m in range(3):
        np.testing.assert_array_equal(model.expert(m).weight, single.weight)
        np.testing.assert_array_equal(model.expert(m).ctx_map, single.ctx_map)
    assert model.experts.weight.shape == (3, STATE, STATE)
    np.testing.assert_array_equal(model.gate, np.zeros((7, 3)))
    np.testing.assert_array_equal(model.shifts, np.zeros(3))
    naive = make_mixer("linear", STATE, 6, 3, split_contexts=True, naive=True, options={}, key=key)
    assert naive.naive and np.abs(naive.gate).max() > 0
    assert np.abs(naive.gate).max() < 0.1


def test_make_mixer_rejects_indivisible_context(linear_registry):
    with pytest.raises(ValueError, match="divisible"):
        make_mixer(
            "linear",
            STATE,
            10,
            3,
            split_contexts=True,
            naive=False,
            options={},
            key=jax.random.PRNGKey(0),
        )
    # without splitting any d is fine
    model = make_mixer(
        "linear",
        STATE,
        10,
        3,
        split_contexts=False,
        naive=False,
        options={},
        key=jax.random.PRNGKey(0),
    )
    assert model.expert_context_size == 10


def test_split_expert_only_sees_its_chunk():
    model, _ = _distinct_mixer(3, 6, split=True)
    model = eqx.tree_at(lambda mod: mod.gate, model, jnp.zeros((7, 3)).at[-1, 1].set(1.0))
    xs, ts = _data(3)
    ctx = jnp.array([0.3, -0.2, 0.5, 0.4, -0.1, 0.2])
    ctxs = jnp.stack([ctx, ctx.at[jnp.array([0, 1, 4, 5])].add(5.0), ctx.at[2].add(0.5)])
    xs = jnp.broadcast_to(xs[:1], xs.shape)
    assert np.all(np.asarray(jax.vmap(model.route)(ctxs)) == 1)
    base, other, own = batched_predict(model, ctxs, xs, ts)
    np.testing.assert_array_equal(other, base)
    assert not np.allclose(own, base, atol=1e-4)


def test_pool_rows_receive_expert_context():
    model, singles = _distinct_mixer(2, 4, split=True)
    ctxs, routes = _contexts_covering_all_experts(model, 8)
    xs, ts = _data(1)
    e = int(np.argmax(np.asarray(routes) == 1))
    pool = jnp.stack([ctxs[e], ctxs[(e + 1) % 8], ctxs[(e + 2) % 8]])
    out = eqx.filter_jit(lambda mod: mod.train_predict(ctxs[e], pool, xs[0], ts[0], SOLVER))(model)
    ref = eqx.filter_jit(
        lambda b: b.train_predict(
            _chunk(ctxs[e], 1, model) + model.shifts[1],
            _chunk(pool, 1, model) + model.shifts[1],
            xs[0],
            ts[0],
            SOLVER,
        )
    )(singles[1])
    assert out.shape == (3, TRAJ, TIME, STATE)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


@eqx.filter_jit
@eqx.filter_grad
def _train_grads(model, ctxs, xs, ts):
    """Gradient of the mean Eq. 7 loss of ``train_predict`` (pool = the context itself)."""
    pools = ctxs[:, None, :]
    preds = jax.vmap(lambda c, p, x, t: model.train_predict(c, p, x, t, SOLVER))(
        ctxs, pools, xs, ts
    )
    return jnp.mean(jax.vmap(trajectory_mse)(preds, xs))


@pytest.mark.parametrize("naive", [False, True])
def test_gate_gradient_zero_for_mixer_nonzero_for_naive(naive):
    model, _ = _distinct_mixer(3, 6, split=True, naive=naive)
    ctxs, _ = _contexts_covering_all_experts(model, 12)
    xs, ts = _data(12)
    grads = _train_grads(model, ctxs, xs, ts)
    gate_grad = np.asarray(grads.gate)
    if naive:
        assert np.abs(gate_grad).max() > 1e-6
    else:
        np.testing.assert_array_equal(gate_grad, np.zeros_like(gate_grad))
    # every expert that was routed to gets a gradient
    assert np.all(np.abs(np.asarray(grads.experts.weight)).reshape(3, -1).max(axis=1) > 0)


def test_unrouted_expert_gets_exactly_zero_gradient():
    model, _ = _distinct_mixer(3, 6, split=True)
    candidates = jax.random.normal(jax.random.PRNGKey(11), (60, 6))
    routes = np.asarray(jax.vmap(model.route)(candidates))
    ctxs = candidates[routes != 2][:12]
    assert ctxs.shape[0] == 12 and set(routes[routes != 2][:12].tolist()) == {0, 1}
    xs, ts = _data(12)
    grads = _train_grads(model, ctxs, xs, ts)
    np.testing.assert_array_equal(grads.experts.weight[2], np.zeros((STATE, STATE)))
    np.testing.assert_array_equal(grads.experts.ctx_map[2], np.zeros((STATE, 2)))
    np.testing.assert_array_equal(grads.shifts[2], 0.0)
    assert np.abs(np.asarray(grads.experts.weight[:2])).reshape(2, -1).max(axis=1).min() > 0


@eqx.filter_jit
def _loss_matrix(model, ctxs, xs, ts):
    return model.loss_matrix(ctxs, xs, ts, SOLVER)


@pytest.mark.parametrize("split", [True, False])
def test_loss_matrix_entries_are_expert_alone_losses(split):
    model, singles = _distinct_mixer(3, 6, split=split)
    ctxs = jax.random.normal(jax.random.PRNGKey(7), (5, 6))
    xs, ts = _data(5, seed=2)
    mat = _loss_matrix(model, ctxs, xs, ts)
    assert mat.shape == (3, 5)
    for m in range(3):
        for e in range(5):
            ctx_m = _chunk(ctxs[e], m, model) + model.shifts[m]
            pred = single_predict(singles[m], ctx_m, xs[e], ts[e])
            np.testing.assert_allclose(mat[m, e], trajectory_mse(pred, xs[e]), rtol=1e-4)
    # forward only: no gradient reaches the model
    grads = eqx.filter_grad(lambda mod: _loss_matrix(mod, ctxs, xs, ts).sum())(model)
    assert all(np.all(np.asarray(g) == 0) for g in jax.tree.leaves(grads))


def test_jit_matches_eager():
    model, _ = _distinct_mixer(3, 6, split=True)
    ctxs, _ = _contexts_covering_all_experts(model, 12)
    xs, ts = _data(12)
    eager = jax.vmap(lambda c, x, t: model.predict(c, x, t, SOLVER))(ctxs, xs, ts)
    np.testing.assert_allclose(eager, batched_predict(model, ctxs, xs, ts), rtol=1e-5, atol=1e-6)
    ctxs, xs, ts = ctxs[:5], xs[:5], ts[:5]
    np.testing.assert_allclose(
        model.loss_matrix(ctxs, xs, ts, SOLVER), _loss_matrix(model, ctxs, xs, ts), rtol=1e-5
    )


def _dot_output_shapes(jaxpr) -> list[tuple[int, ...]]:
    """Output shapes of every dot_general in a jaxpr, sub-jaxprs (loops, pjit) included."""
    shapes = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            shapes.append(tuple(eqn.outvars[0].aval.shape))
        for sub in jax_core.jaxprs_in_params(eqn.params):
            shapes.extend(_dot_output_shapes(sub))
    return shapes


def _expert_dot_shapes(model: MixER, method_name: str) -> list[tuple[int, ...]]:
    """Matrix products of ``method`` vmapped over 3 environments, the gate's (3, M) excluded."""
    xs, ts = _data(3)
    ctxs = jnp.zeros((3, model.context_size))
    fn = jax.vmap(lambda c, x, t: getattr(model, method_name)(c, x, t, SOLVER))
    shapes = _dot_output_shapes(jax.make_jaxpr(fn)(ctxs, xs, ts).jaxpr)
    return [s for s in shapes if s != (3, model.num_experts)]


def test_sparse_predict_computes_one_expert_per_environment():
    """The env-vmapped sparse ``predict`` has the same matrix products (count and shapes) for
    M = 1 and M = 7: no product carries an expert axis. The dense path does carry one."""
    sparse_one = _expert_dot_shapes(_distinct_mixer(1, 1, split=True)[0], "predict")
    model = _distinct_mixer(7, 7, split=True)[0]
    sparse = _expert_dot_shapes(model, "predict")
    dense = _expert_dot_shapes(model, "predict_dense")
    assert sparse and sorted(sparse) == sorted(sparse_one), (sparse, sparse_one)
    assert all(7 not in s for s in sparse)
    assert any(7 in s for s in dense), dense


def test_stack_experts_leading_axis():
    single = LinearODE(STATE, 3, key=jax.random.PRNGKey(0))
    stacked = stack_experts(single, 4)
    assert stacked.weight.shape == (4, STATE, STATE)
    assert stacked.context_size == 3
    np.testing.assert_array_equal(stacked.ctx_map[2], single.ctx_map)


# --------------------------------------------------------------- the registered backbones
REAL_OPTIONS = {
    "ncf": {"width": 8, "depth": 1, "ctx_features": 4, "state_features": 4, "taylor_order": 1},
    "coda": {"width": 8, "depth": 1},
    "geps": {"width": 8, "depth": 1},
    "plrnn": {"hidden": 4},
}
HEUN = SolverConfig(solver="heun", max_steps=16)


def _perturbed(model: MixER, scale: float, seed: int) -> MixER:
    """The same layer with every stacked expert leaf moved by independent noise per expert."""
    params, static = eqx.partition(model.experts, eqx.is_inexact_array)
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
    leaves = [
        leaf + scale * jax.random.normal(k, leaf.shape)
        for leaf, k in zip(leaves, keys, strict=True)
    ]
    experts = eqx.combine(jax.tree.unflatten(treedef, leaves), static)
    return eqx.tree_at(lambda mod: mod.experts, model, experts)


@eqx.filter_jit
def _real_outputs(model, ctxs, pools, xs, ts):
    """Everything the registered-backbone tests compare, in one compilation."""

    def layer_env(c, p, x, t):
        return model.predict(c, x, t, HEUN), model.train_predict(c, p, x, t, HEUN)

    def alone(m, c, p, x, t):
        expert = model.expert(m)
        c_m, p_m = model.expert_context(c, m), model.expert_context(p, m)
        pred = expert.predict(c_m, x, t, HEUN)
        # the training loss of the expert alone with the environment's own context (no pool):
        # the free rollout for IVP backbones, teacher-forced for the PLRNN
        own = trajectory_mse(expert.train_predict(c_m, c_m[None], x, t, HEUN), x)
        return pred, expert.train_predict(c_m, p_m, x, t, HEUN), own

    routes = jax.vmap(model.route)(ctxs)
    sparse, train = jax.vmap(layer_env)(ctxs, pools, xs, ts)
    ref, ref_train, _ = jax.vmap(alone)(routes, ctxs, pools, xs, ts)
    every = jax.vmap(
        lambda m: jax.vmap(lambda c, p, x, t: alone(m, c, p, x, t)[2])(ctxs, pools, xs, ts)
    )(jnp.arange(model.num_experts))
    return {
        "sparse": sparse,
        "train": train,
        "ref": ref,
        "ref_train": ref_train,
        "every": every,
        "matrix": model.loss_matrix(ctxs, xs, ts, HEUN),
        "routes": routes,
    }


@eqx.filter_jit
def _single_outputs(backbone, ctxs, pools, xs, ts):
    return jax.vmap(
        lambda c, p, x, t: (
            backbone.predict(c, x, t, HEUN),
            backbone.train_predict(c, p, x, t, HEUN),
        )
    )(ctxs, pools, xs, ts)


@eqx.filter_jit
def _layer_outputs(model, ctxs, pools, xs, ts):
    return jax.vmap(
        lambda c, p, x, t: (model.predict(c, x, t, HEUN), model.train_predict(c, p, x, t, HEUN))
    )(ctxs, pools, xs, ts)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL_OPTIONS))
def test_registered_backbones_in_the_layer(name):
    """With each registered backbone: MixER-1 = the single backbone; with 2 different experts,
    sparse = the routed expert alone (predict and train_predict), and the loss matrix holds
    each expert's training loss alone (teacher-forced for the PLRNN). (Slow: ~20-60 s of
    Diffrax compilation per backbone.)"""
    registry = pytest.importorskip("mixer.backbones.registry")
    key = jax.random.PRNGKey(21)
    xs, ts = _data(4)
    ctxs = 0.3 * jax.random.normal(jax.random.PRNGKey(22), (4, 4))
    pools = jnp.stack([ctxs, jnp.roll(ctxs, 1, axis=0)], axis=1)
    single = registry.make_backbone(name, STATE, 4, REAL_OPTIONS[name], key=key)
    one = make_mixer(
        name, STATE, 4, 1, split_contexts=True, naive=False, options=REAL_OPTIONS[name], key=key
    )
    for got, want in zip(
        _layer_outputs(one, ctxs, pools, xs, ts),
        _single_outputs(single, ctxs, pools, xs, ts),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert active_param_count(one) == registry.count_params(single)

    two = make_mixer(
        name, STATE, 4, 2, split_contexts=True, naive=False, options=REAL_OPTIONS[name], key=key
    )
    two = _perturbed(
        eqx.tree_at(lambda mod: mod.gate, two, jnp.zeros((5, 2)).at[0].set(jnp.array([1.0, -1.0]))),
        0.1,
        seed=23,
    )
    ctxs = ctxs.at[:, 0].set(jnp.array([1.0, -1.0, 0.5, -0.5]))
    out = _real_outputs(two, ctxs, pools, xs, ts)
    np.testing.assert_array_equal(out["routes"], [0, 1, 0, 1])
    for a, b in (("sparse", "ref"), ("train", "ref_train"), ("matrix", "every")):
        np.testing.assert_allclose(out[a], out[b], rtol=1e-4, atol=1e-6, err_msg=f"{a}/{b}")
    assert not np.allclose(out["every"][0], out["every"][1], rtol=1e-3)


# ------------------------------------------- loss matrix of the expert-shared backbones
SHARED_OPTIONS = {"coda": {"width": 8, "depth": 2}, "geps": {"width": 8, "depth": 2}}
TSIT5 = SolverConfig("tsit5", rtol=1e-3, atol=1e-6, max_steps=64)


@eqx.filter_jit
def _shared_outputs(model, ctxs, xs, ts):
    def alone(m, c, x, t):
        expert = model.expert(m)
        pred = expert.loss_predict(model.expert_context(c, m), x, t, TSIT5)
        return trajectory_mse(pred, x)

    every = jax.vmap(lambda m: jax.vmap(lambda c, x, t: alone(m, c, x, t))(ctxs, xs, ts))(
        jnp.arange(model.num_experts)
    )
    return (
        every,
        model.loss_matrix_and_steps(ctxs, xs, ts, TSIT5),
        model.reference_loss_matrix(ctxs, xs, ts, TSIT5),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHARED_OPTIONS))
def test_shared_field_loss_matrix_equals_each_expert_alone_with_adaptive_steps(name):
    """GEPS and CoDA: the expert-shared, forward-only loss matrix holds each expert's own
    training loss (its ``loss_predict`` through Diffrax, Tsit5 with adaptive steps) on every
    environment, and reports the solver steps of every trajectory. (Slow: Diffrax compiles.)"""
    xs, ts = _data(4)
    ts = ts * jnp.array([1.0, 2.0, 3.0, 5.0])[:, None]  # lanes that need different step counts
    ctxs = 0.5 * jax.random.normal(jax.random.PRNGKey(31), (4, 6))
    model = make_mixer(
        name,
        STATE,
        6,
        3,
        split_contexts=True,
        naive=False,
        options=SHARED_OPTIONS[name],
        key=jax.random.PRNGKey(30),
    )
    model = _perturbed(model, 0.3, seed=32)
    every, (losses, steps), reference = _shared_outputs(model, ctxs, xs, ts)
    # GEPS predicts with the same shared field. CoDA predicts with θ_e formed per environment,
    # whose last bits depend on the batching (even the plain reference differs from the
    # per-expert loop by ~2e-4: adaptive step selection amplifies them).
    rtol = 1e-5 if name == "geps" else 1e-3
    np.testing.assert_allclose(losses, every, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(reference, every, rtol=rtol, atol=1e-7)
    steps = np.asarray(steps)
    assert steps.shape == (3, 4, TRAJ) and steps.min() >= 1
    assert len(np.unique(steps)) > 1
    assert not np.allclose(every[0], every[1], rtol=1e-3)
