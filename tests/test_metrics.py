"""Hand-computed checks of the evaluation metrics (Eqs. 9, 10) and routing scores."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixer import metrics


def test_mse_averages_over_state_dimensions_too():
    """SPEC §2.7 (the paper's Table 4 convention): the mean over env, trajectory, time AND
    state, so a 2-D state's squared norms are divided by 2 as well."""
    true = np.zeros((2, 1, 2, 2))
    pred = true.copy()
    pred[0, 0, 0] = [3.0, 4.0]  # squared norm 25
    pred[1, 0, 1] = [1.0, 0.0]  # squared norm 1
    assert metrics.mse(pred, true) == pytest.approx(26.0 / (4 * 2))
    assert metrics.mse(jnp.asarray(pred), jnp.asarray(true)) == pytest.approx(3.25)
    assert isinstance(metrics.mse(pred, true), float)
    # A constant error c in every state dimension has MSE c², whatever the dimension.
    for dim in (1, 2, 7):
        assert metrics.mse(np.full((3, 2, 5, dim), 0.5), np.zeros((3, 2, 5, dim))) == 0.25


def test_relative_mse_hand_computed():
    true = np.array([[[[1.0, 0.0], [0.0, 2.0]]]])  # norms 1 and 2
    pred = np.array([[[[1.5, 0.0], [0.0, 1.0]]]])  # errors 0.25 and 1
    assert metrics.relative_mse(pred, true) == pytest.approx((0.25 / 1 + 1 / 4) / 2)


def test_small_states_are_excluded_not_clamped():
    true = np.array([[[[1.0], [1e-8], [2.0]]]])
    pred = np.array([[[[2.0], [5.0], [2.0]]]])
    # Only the first and last states count: (1 + 0) / 2. Clamping would give a huge value,
    # and counting the excluded state in the denominator would give 1/3.
    assert metrics.relative_mse(pred, true) == pytest.approx(0.5)
    assert metrics.relative_mse_per_env(pred, true)[0] == pytest.approx(0.5)
    assert np.isnan(metrics.relative_mse(pred, np.zeros_like(true)))


def test_relative_mse_per_env():
    true = np.ones((2, 2, 3, 1))
    pred = true.copy()
    pred[1] += 0.5  # env 1: every ratio 0.25
    pred[0, 0, 0] += 1.0  # env 0: one ratio of 1 over 6 states
    per_env = metrics.relative_mse_per_env(pred, true)
    np.testing.assert_allclose(per_env, [1 / 6, 0.25])
    # The global value pools all states (Eq. 9); with equal counts it is the mean per env.
    assert metrics.relative_mse(pred, true) == pytest.approx(per_env.mean())
    true[0] = 0.0
    assert np.isnan(metrics.relative_mse_per_env(pred, true)[0])


def test_tprmse_edge_cases():
    assert metrics.tprmse([0.01, 0.2, 0.05, 0.3]) == pytest.approx(50.0)
    assert metrics.tprmse([0.1]) == 0.0  # strictly below eps
    assert metrics.tprmse([0.0999]) == 100.0
    assert metrics.tprmse([np.nan, 0.0]) == 50.0  # NaN is not below
    assert metrics.tprmse([0.5, 0.6], eps=1.0) == 100.0
    with pytest.raises(ValueError):
        metrics.tprmse([])


def test_purity_hand_computed():
    routes = [0, 0, 0, 1, 1, 2]
    labels = ["a", "a", "b", "b", "b", "a"]
    # expert 0: majority a (2), expert 1: b (2), expert 2: a (1) -> 5 / 6
    assert metrics.routing_purity(routes, labels) == pytest.approx(5 / 6)


@pytest.mark.parametrize("seed", range(20))
def test_purity_is_one_iff_each_expert_sees_one_family(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=12)
    if seed % 2:
        routes = rng.integers(0, 4, size=12)
    else:  # each family split over its own experts
        routes = 2 * labels + rng.integers(0, 2, size=12)
    pure = all(len(set(labels[routes == m])) <= 1 for m in range(6))
    assert pure or seed % 2
    assert (metrics.routing_purity(routes, labels) == 1.0) == pure
    # Splitting a family across experts keeps purity at 1.
    assert metrics.routing_purity(np.arange(12), labels) == 1.0


def test_all_to_one_expert_purity_is_majority_share():
    assert metrics.routing_purity([0] * 4, [1, 1, 1, 2]) == pytest.approx(0.75)


def test_adjusted_rand_invariant_to_relabelling():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    routes = np.array([1, 1, 0, 0, 2, 2, 0])
    value = metrics.adjusted_rand(routes, labels)
    relabelled = np.array([5, 9, 7])[routes]
    assert metrics.adjusted_rand(relabelled, labels) == pytest.approx(value)
    assert metrics.adjusted_rand(labels, np.array(["x", "y", "z"])[labels]) == pytest.approx(1.0)
    assert value < 1.0


def test_per_family_means():
    out = metrics.per_family(jnp.array([1.0, 2.0, 3.0, 5.0]), ["b", "a", "b", "a"])
    assert out == {"a": pytest.approx(3.5), "b": pytest.approx(2.0)}
    assert list(out) == ["a", "b"]
    assert metrics.per_family([1.0, 3.0], np.array([7, 7])) == {7: 2.0}


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        metrics.mse(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        metrics.routing_purity([0, 1], [0])


def previous_adjusted_rand(routes, labels):
    """The project's former NumPy ARI (Hubert and Arabie's formula on the contingency table),
    kept as the reference the scikit-learn-backed version must reproduce."""
    _, experts = np.unique(np.asarray(routes), return_inverse=True)
    _, families = np.unique(np.asarray(labels), return_inverse=True)
    table = np.zeros((families.max() + 1, experts.max() + 1))
    np.add.at(table, (families, experts), 1.0)

    def pairs(counts):
        return float(np.sum(counts * (counts - 1.0) / 2.0))

    index, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    total = families.size * (families.size - 1) / 2.0
    expected = rows * cols / total if total > 0 else 0.0
    maximum = (rows + cols) / 2.0
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), min_size=1, max_size=60))
def test_adjusted_rand_equals_the_previous_implementation(pairs):
    labels, routes = (np.array(p) for p in zip(*pairs, strict=True))
    assert metrics.adjusted_rand(routes, labels) == pytest.approx(
        previous_adjusted_rand(routes, labels), abs=1e-12
    )


@pytest.mark.parametrize("seed", range(10))
def test_adjusted_rand_equals_the_previous_implementation_on_string_labels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    labels = np.array(list("ABCDEF"))[rng.integers(0, 6, size=n)]
    routes = rng.integers(0, int(rng.integers(1, 8)), size=n)
    value = metrics.adjusted_rand(routes, labels)
    assert isinstance(value, float)
    assert value == pytest.approx(previous_adjusted_rand(routes, labels), abs=1e-12)


def test_adjusted_rand_degenerate_partitions():
    assert metrics.adjusted_rand([3], ["a"]) == 1.0  # a single environment
    assert metrics.adjusted_rand([0, 0, 0], ["a", "a", "a"]) == 1.0  # both one cluster
    assert metrics.adjusted_rand([0, 1, 2], ["a", "b", "c"]) == 1.0  # both all singletons
    assert metrics.adjusted_rand([0, 0, 0, 0], ["a", "b", "c", "d"]) == 0.0
    with pytest.raises(ValueError, match="routes for"):
        metrics.adjusted_rand([0, 1], ["a"])
    with pytest.raises(ValueError, match="empty"):
        metrics.adjusted_rand([], [])
