"""The least-squares gate fit and the gate's routing functions."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from gating_planted import make_planted
from hypothesis import given, settings
from hypothesis import strategies as st

from mixer.gating.gate import gate_logits, gate_probabilities, initial_gate_state, route
from mixer.gating.lstsq import fit_gate, proxy_targets

SETTINGS = settings(max_examples=25, deadline=None)
FIT = jax.jit(fit_gate, static_argnames="noise_std")


# Centres at the vertices of a simplex (dim >= M): a linear gate can separate every cluster.
separable_problems = st.builds(
    lambda seed, m, extra, per: make_planted(seed, m, m + extra, per),
    seed=st.integers(0, 2**31 - 1),
    m=st.sampled_from([2, 3, 5]),
    extra=st.sampled_from([0, 2]),
    per=st.sampled_from([1, 4]),
)


@SETTINGS
@given(separable_problems, st.integers(0, 1000))
def test_least_squares_reproduces_planted_routing(p, seed):
    m = len(p.centers)
    assignment = jnp.asarray(np.random.default_rng(seed).permutation(m))
    targets = proxy_targets(jnp.asarray(p.labels), assignment, m)
    weights = FIT(jnp.asarray(p.contexts), targets, key=jr.key(seed), noise_std=1e-4)
    assert weights.shape == (p.contexts.shape[1] + 1, m)
    np.testing.assert_array_equal(route(weights, jnp.asarray(p.contexts)), assignment[p.labels])


def test_proxy_targets_are_one_hot_of_paired_expert():
    targets = proxy_targets(jnp.array([0, 1, 1, 2]), jnp.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(targets, [[0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_exact_fit_includes_the_bias_row_last():
    rng = np.random.default_rng(0)
    contexts = jnp.asarray(rng.normal(size=(20, 3)), dtype=jnp.float32)
    true_w = jnp.asarray(rng.normal(size=(4, 2)), dtype=jnp.float32)
    targets = contexts @ true_w[:3] + true_w[3]
    fitted = fit_gate(contexts, targets, key=jr.key(0), noise_std=0.0)
    np.testing.assert_allclose(fitted, true_w, atol=1e-4)


def test_noise_depends_on_key_and_vanishes_with_zero_std():
    contexts = jnp.zeros((6, 2))  # degenerate without noise: all contexts at the initial zero
    targets = jax.nn.one_hot(jnp.array([0, 0, 0, 1, 1, 1]), 2)
    w1 = fit_gate(contexts, targets, key=jr.key(1), noise_std=1e-4)
    w2 = fit_gate(contexts, targets, key=jr.key(2), noise_std=1e-4)
    assert bool(jnp.all(jnp.isfinite(w1)))
    assert not np.allclose(w1, w2)
    z1 = fit_gate(contexts, targets, key=jr.key(1), noise_std=0.0)
    z2 = fit_gate(contexts, targets, key=jr.key(2), noise_std=0.0)
    np.testing.assert_array_equal(z1, z2)
    np.testing.assert_allclose(z1[-1], [0.5, 0.5], atol=1e-6)  # bias = mean target


def test_initial_gate_state():
    weights, centroids, has_centroids = initial_gate_state(num_experts=3, context_size=4)
    assert weights.shape == (5, 3) and centroids.shape == (3, 4)
    assert not bool(has_centroids)
    assert not np.any(weights) and not np.any(centroids)
    np.testing.assert_array_equal(route(weights, jnp.ones((7, 4))), np.zeros(7))


def test_logits_route_and_probabilities():
    weights = jnp.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.5]])  # bias row last
    contexts = jnp.array([[2.0, 5.0], [-2.0, 0.0], [0.1, 3.0]])
    np.testing.assert_allclose(
        gate_logits(weights, contexts), [[2, -2, 0.5], [-2, 2, 0.5], [0.1, -0.1, 0.5]], rtol=1e-6
    )
    np.testing.assert_array_equal(route(weights, contexts), [0, 1, 2])
    probs = gate_probabilities(weights, contexts)
    np.testing.assert_allclose(jnp.sum(probs, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(jnp.argmax(probs, axis=-1), route(weights, contexts))
    assert int(route(weights, contexts[0])) == 0  # a single context works too
