"""Properties of the composed gate update (Alg. 1 with Alg. 2)."""

import dataclasses

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from gating_planted import make_planted, same_partition
from hypothesis import given, settings
from hypothesis import strategies as st

from mixer.gating import GateConfig, GateState, gate_update, initial_gate_state, route

SETTINGS = settings(max_examples=25, deadline=None)
UPDATE = jax.jit(gate_update, static_argnames="cfg")


def leaves_equal(a, b):
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


separable_problems = st.builds(
    lambda seed, m, per: make_planted(seed, m, m + 1, per),
    seed=st.integers(0, 2**31 - 1),
    m=st.sampled_from([2, 4]),
    per=st.just(3),  # few shapes: each one compiles the whole update
)


@SETTINGS
@given(separable_problems, st.sampled_from(["greedy", "optimal"]), st.integers(0, 1000))
def test_planted_problem_routes_each_env_to_its_best_expert(p, pairing, seed):
    m = len(p.centers)
    weights = jr.normal(jr.key(seed), (p.contexts.shape[1] + 1, m))
    # Warm start near the true centres, in a shuffled cluster order.
    centroids = jnp.asarray(p.centers[np.random.default_rng(seed).permutation(m)]) + 0.5
    res = UPDATE(
        jnp.asarray(p.contexts),
        jnp.asarray(p.loss_matrix),
        weights,
        centroids,
        jnp.asarray(True),
        key=jr.key(seed),
        cfg=GateConfig(pairing=pairing),
    )
    assert not bool(res.empty_cluster) and bool(res.has_centroids) and bool(res.converged)
    assert same_partition(np.asarray(res.labels), p.labels)
    assert sorted(np.asarray(res.assignment).tolist()) == list(range(m))
    expected = p.best_expert[p.labels]
    np.testing.assert_array_equal(np.asarray(res.assignment)[np.asarray(res.labels)], expected)
    np.testing.assert_array_equal(route(res.weights, jnp.asarray(p.contexts)), expected)


def test_warm_start_from_previous_update_converges_in_one_or_two_iterations():
    p = make_planted(7, 3, 4, 5)
    state = GateState(jnp.zeros((5, 3)), jnp.asarray(p.contexts[[0, 1, 2]]), jnp.asarray(True))
    first = UPDATE(
        jnp.asarray(p.contexts), jnp.asarray(p.loss_matrix), *state, key=jr.key(0), cfg=GateConfig()
    )
    second = UPDATE(
        jnp.asarray(p.contexts),
        jnp.asarray(p.loss_matrix),
        *first.state,
        key=jr.key(1),
        cfg=GateConfig(),
    )
    assert bool(second.converged) and 1 <= int(second.iterations) <= 2
    np.testing.assert_array_equal(second.labels, first.labels)


def test_empty_cluster_leaves_gate_unchanged_and_forgets_centroids():
    contexts = jnp.full((6, 2), 10.0)  # identical contexts: one cluster takes them all
    weights = jr.normal(jr.key(3), (3, 3))
    res = UPDATE(
        contexts,
        jnp.ones((3, 6)),
        weights,
        jnp.zeros((3, 2)),
        jnp.asarray(False),
        key=jr.key(0),
        cfg=GateConfig(),
    )
    assert bool(res.empty_cluster)
    assert not bool(res.has_centroids) and not bool(res.converged)
    np.testing.assert_array_equal(res.weights, weights)


def test_reseed_fits_the_gate_where_stop_abandons_the_update():
    # Two well separated context groups near the origin and three fresh tiny centroids: the
    # L1-nearest centroid of every context is one of two, so "stop" abandons the update.
    contexts = jnp.concatenate([jnp.full((4, 2), 0.05), jnp.full((4, 2), -0.05)])
    contexts = contexts + 1e-3 * jr.normal(jr.key(1), contexts.shape)
    losses = jnp.stack(
        [jnp.r_[jnp.zeros(4), jnp.ones(4)], jnp.r_[jnp.ones(4), jnp.zeros(4)], jnp.full(8, 0.5)]
    )
    weights, _, _ = initial_gate_state(3, 2)
    fresh = jnp.array([[1e-4, 1e-4], [-1e-4, -1e-4], [9e-4, -9e-4]])
    args = (contexts, losses, weights, fresh, jnp.asarray(True))
    stop = UPDATE(*args, key=jr.key(0), cfg=GateConfig(on_empty="stop"))
    reseed = UPDATE(*args, key=jr.key(0), cfg=GateConfig(on_empty="reseed"))
    assert bool(stop.empty_cluster)
    np.testing.assert_array_equal(stop.weights, weights)
    assert not bool(reseed.empty_cluster) and bool(reseed.has_centroids)
    assert len(np.unique(np.asarray(reseed.labels))) == 3  # three non-empty clusters
    routed = np.asarray(route(reseed.weights, contexts))
    # Each group goes to its own lowest-loss expert (up to the point the reseed split off).
    assert np.sum(routed[:4] == 0) >= 3 and np.sum(routed[4:] == 1) >= 3


def test_first_update_ignores_stale_centroids():
    p = make_planted(1, 2, 2, 4)
    args = (jnp.asarray(p.contexts), jnp.asarray(p.loss_matrix), jnp.zeros((3, 2)))
    a = UPDATE(*args, jnp.zeros((2, 2)), jnp.asarray(False), key=jr.key(5), cfg=GateConfig())
    b = UPDATE(*args, jnp.full((2, 2), 7.0), jnp.asarray(False), key=jr.key(5), cfg=GateConfig())
    assert leaves_equal(a, b)


def test_deterministic_for_a_key_and_jit_equals_eager():
    p = make_planted(11, 3, 3, 4)
    cfg = GateConfig(pairing="optimal")
    args = (jnp.asarray(p.contexts), jnp.asarray(p.loss_matrix), *initial_gate_state(3, 3))
    eager = gate_update(*args, key=jr.key(2), cfg=cfg)
    jitted = UPDATE(*args, key=jr.key(2), cfg=cfg)
    again = UPDATE(*args, key=jr.key(2), cfg=cfg)
    other = UPDATE(*args, key=jr.key(3), cfg=cfg)
    assert leaves_equal(jitted, again)
    for x, y in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-4)
    if not bool(jitted.empty_cluster):
        assert not np.array_equal(jitted.weights, other.weights)  # the noise follows the key


def test_config_validation():
    with pytest.raises(ValueError, match="unknown pairing"):
        GateConfig(pairing="best")
    with pytest.raises(ValueError, match="max_iter"):
        GateConfig(max_iter=0)
    with pytest.raises(ValueError):
        GateConfig(noise_std=-1.0)
    with pytest.raises(ValueError, match="on_empty"):
        GateConfig(on_empty="ignore")
    cfg = GateConfig()
    assert hash(cfg) == hash(dataclasses.replace(cfg))  # hashable: usable as a static arg


def test_shape_mismatch_is_reported():
    weights, centroids, has = initial_gate_state(3, 2)
    with pytest.raises(ValueError, match="loss_matrix"):
        gate_update(
            jnp.zeros((5, 2)),
            jnp.zeros((5, 3)),
            weights,
            centroids,
            has,
            key=jr.key(0),
            cfg=GateConfig(),
        )


@pytest.mark.parametrize("on_empty", ["stop", "reseed"])
@pytest.mark.parametrize("spread", [0.0, 1.0])  # equal contexts: K-means abandons the update
def test_split_update_equals_gate_update(on_empty, spread):
    """Training calls ``gate_kmeans`` and then ``gate_fit`` (or ``gate_abandoned`` without a
    loss matrix when K-means left a cluster empty) with the keys of ``gate_update_keys``: the
    same result as ``gate_update``."""
    from mixer.gating import gate_abandoned, gate_fit, gate_kmeans, gate_update_keys

    cfg = GateConfig(on_empty=on_empty)
    contexts = spread * jr.normal(jr.key(3), (12, 4))
    loss_matrix = jr.uniform(jr.key(4), (3, 12))
    weights = jr.normal(jr.key(5), (5, 3))
    state = initial_gate_state(3, 4)
    key = jr.key(6)
    full = UPDATE(
        contexts, loss_matrix, weights, state.centroids, state.has_centroids, key=key, cfg=cfg
    )
    key_init, key_noise = gate_update_keys(key)
    clusters = gate_kmeans(contexts, state.centroids, state.has_centroids, key=key_init, cfg=cfg)
    assert bool(clusters.empty) == bool(full.empty_cluster) == (spread == 0.0)
    split = (
        gate_abandoned(clusters, weights)
        if clusters.empty
        else gate_fit(contexts, loss_matrix, clusters, weights, key=key_noise, cfg=cfg)
    )
    for name in (
        "weights",
        "centroids",
        "has_centroids",
        "labels",
        "converged",
        "iterations",
        "empty_cluster",
    ):
        np.testing.assert_array_equal(getattr(split, name), getattr(full, name), err_msg=name)
    if not clusters.empty:
        np.testing.assert_array_equal(split.assignment, full.assignment)
