"""Properties of the per-cluster medians and of the cluster-expert pairings (Alg. 1 l. 8-18)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gating_planted import brute_force_min_cost
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mixer.gating.assignment import (
    PAIRINGS,
    cluster_median_losses,
    get_pairing,
    greedy_pairing,
    optimal_pairing,
)

SETTINGS = settings(max_examples=25, deadline=None)
SIZES = st.sampled_from([1, 2, 3, 4])
# Jitted once per shape: eager calls would re-trace the loops on every example.
JITTED = {name: jax.jit(fn) for name, fn in PAIRINGS.items()}
MEDIAN = jax.jit(cluster_median_losses, static_argnums=2)


def alg1_reference(cost):
    """Alg. 1 lines 9-18 transcribed literally (pure Python)."""
    selected = []
    for c in range(cost.shape[0]):
        sorted_list = list(np.argsort(cost[c], kind="stable"))
        m = sorted_list[0]
        while m in selected:
            sorted_list = sorted_list[1:]
            m = sorted_list[0]
        selected.append(m)
    return np.array(selected)


@st.composite
def cost_matrices(draw, with_ties=False):
    m = draw(SIZES)
    # No subnormals: XLA on CPU flushes them to zero, so 0 and 1e-45 would tie there only.
    floats = st.floats(0.0, 10.0, width=32, allow_subnormal=False)
    values = st.integers(0, 3).map(float) if with_ties else floats
    return draw(arrays(np.float32, (m, m), elements=values))


@SETTINGS
@given(st.one_of(cost_matrices(), cost_matrices(with_ties=True)), st.sampled_from(sorted(PAIRINGS)))
def test_pairing_is_a_permutation(cost, name):
    assert get_pairing(name) is PAIRINGS[name]
    pairs = np.asarray(JITTED[name](jnp.asarray(cost)))
    assert sorted(pairs.tolist()) == list(range(cost.shape[0]))


@SETTINGS
@given(st.one_of(cost_matrices(), cost_matrices(with_ties=True)))
def test_greedy_matches_algorithm_1(cost):
    np.testing.assert_array_equal(JITTED["greedy"](jnp.asarray(cost)), alg1_reference(cost))


@SETTINGS
@given(cost_matrices())
def test_optimal_attains_minimal_total_cost(cost):
    pairs = np.asarray(JITTED["optimal"](jnp.asarray(cost)))
    total = cost[np.arange(cost.shape[0]), pairs].sum()
    assert total == pytest.approx(brute_force_min_cost(cost), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize(
    ("cost", "greedy", "optimal"),
    [
        # Cluster 0 takes expert 0 (1 < 2); cluster 1 is left with expert 1 (cost 100).
        ([[1.0, 2.0], [1.5, 100.0]], [0, 1], [1, 0]),
        # Index order matters: cluster 0 grabs expert 1 that cluster 2 needs more.
        ([[5.0, 1.0, 6.0], [1.0, 5.0, 6.0], [9.0, 2.0, 50.0]], [1, 0, 2], [2, 0, 1]),
    ],
)
def test_greedy_differs_from_optimal_on_hand_made_cases(cost, greedy, optimal):
    cost = jnp.asarray(cost)
    np.testing.assert_array_equal(greedy_pairing(cost), greedy)
    np.testing.assert_array_equal(optimal_pairing(cost), optimal)
    assert alg1_reference(np.asarray(cost)).tolist() == greedy


def test_pairings_handle_non_finite_costs():
    cost = jnp.array([[jnp.inf, 1.0, jnp.nan], [jnp.inf, jnp.inf, 0.0], [2.0, jnp.inf, jnp.inf]])
    for name in PAIRINGS:
        assert sorted(np.asarray(get_pairing(name)(cost)).tolist()) == [0, 1, 2]
    np.testing.assert_array_equal(optimal_pairing(cost), [1, 2, 0])


@SETTINGS
@given(
    st.sampled_from([1, 2, 5, 8]).flatmap(
        lambda e: st.tuples(
            arrays(np.float32, (2, e), elements=st.floats(-5.0, 5.0, width=32)),
            arrays(np.int32, (e,), elements=st.integers(0, 2)),
        )
    )
)
@example((np.array([[1.4e-45, 1.4e-45], [3.0, 0.0]], np.float32), np.array([0, 0], np.int32)))
def test_median_matches_numpy_per_cluster(problem):
    loss, labels = problem
    medians = np.asarray(MEDIAN(jnp.asarray(loss), jnp.asarray(labels), 3))
    assert medians.shape == (3, 2)
    for c in range(3):
        members = labels == c
        if members.any():
            # atol: XLA on CPU flushes float32 subnormals to zero (hypothesis draws them).
            np.testing.assert_allclose(
                medians[c],
                np.median(loss[:, members], axis=1),
                rtol=1e-6,
                atol=np.finfo(np.float32).tiny,
            )
        else:
            assert np.all(np.isposinf(medians[c]))


def test_median_under_jit_with_varying_cluster_sizes():
    loss = jnp.arange(10.0)[None, :]
    np.testing.assert_allclose(
        MEDIAN(loss, jnp.array([0, 0, 0, 1, 1, 1, 1, 0, 2, 2]), 3)[:, 0], [1.5, 4.5, 8.5]
    )
    np.testing.assert_allclose(
        MEDIAN(loss, jnp.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 2]), 3)[:, 0], [0.0, 4.5, 9.0]
    )


def test_median_counts_non_finite_losses_as_worst():
    loss = jnp.array([[0.0, 1.0, jnp.nan]])
    np.testing.assert_allclose(cluster_median_losses(loss, jnp.array([0, 0, 0]), 1), [[1.0]])
    loss = jnp.array([[jnp.nan, 1.0, jnp.nan]])
    assert np.isposinf(float(cluster_median_losses(loss, jnp.array([0, 0, 0]), 1)[0, 0]))


def test_unknown_pairing_name():
    with pytest.raises(ValueError, match="unknown pairing"):
        get_pairing("random")
