"""Properties of the L1 Lloyd K-means (Alg. 2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gating_planted import make_planted, planted_problems, same_partition
from hypothesis import given, settings
from hypothesis import strategies as st

from mixer.gating.kmeans import assign_clusters, cluster_means, kmeans

SETTINGS = settings(max_examples=25, deadline=None)
KMEANS = jax.jit(kmeans, static_argnames=("max_iter", "tol", "on_empty"))  # once per shape


def one_point_per_cluster(p, rng):
    """Initial centroids: one random member of every planted cluster, in shuffled order."""
    picks = [rng.choice(np.flatnonzero(p.labels == c)) for c in rng.permutation(len(p.centers))]
    return jnp.asarray(p.contexts[picks])


@SETTINGS
@given(planted_problems, st.integers(0, 1000))
def test_recovers_planted_clusters(p, seed):
    init = one_point_per_cluster(p, np.random.default_rng(seed))
    res = KMEANS(jnp.asarray(p.contexts), init, max_iter=20, tol=1e-3, on_empty="stop")
    assert not bool(res.empty)
    assert bool(res.converged)
    assert same_partition(np.asarray(res.labels), p.labels)
    # Centroids are the means of their clusters.
    means, _ = cluster_means(jnp.asarray(p.contexts), res.labels, len(p.centers))
    np.testing.assert_allclose(res.centroids, means, atol=1e-5)


@SETTINGS
@given(planted_problems, st.integers(0, 1000))
def test_warm_start_from_converged_centroids_converges_at_once(p, seed):
    init = one_point_per_cluster(p, np.random.default_rng(seed))
    first = KMEANS(jnp.asarray(p.contexts), init, max_iter=20, tol=1e-3, on_empty="stop")
    again = KMEANS(jnp.asarray(p.contexts), first.centroids, max_iter=20, tol=1e-3, on_empty="stop")
    assert bool(again.converged)
    assert 1 <= int(again.iterations) <= 2
    np.testing.assert_array_equal(again.labels, first.labels)


def test_assignment_uses_l1_not_l2():
    point = jnp.array([[2.0, 2.0]])
    centroids = jnp.array([[0.0, 0.0], [5.0, 2.0]])
    # L2 would pick centroid 0 (2.83 < 3.0); L1 picks centroid 1 (4.0 > 3.0).
    l2 = jnp.linalg.norm(point - centroids, axis=-1)
    assert float(l2[0]) < float(l2[1])
    assert int(assign_clusters(point, centroids)[0]) == 1


def test_empty_cluster_is_reported():
    points = jnp.array([[0.0], [0.1], [1.0], [1.1]])
    init = jnp.array([[0.0], [1.0], [100.0]])  # the third centroid attracts nothing
    res = kmeans(points, init, max_iter=20, tol=1e-3, on_empty="stop")
    assert bool(res.empty)
    assert not bool(res.converged)
    assert int(res.iterations) == 1


def test_iterations_capped_by_max_iter():
    rng = np.random.default_rng(0)
    points = jnp.asarray(rng.normal(size=(200, 2)), dtype=jnp.float32)
    init = points[:4]
    res = kmeans(points, init, max_iter=2, tol=0.0, on_empty="stop")
    assert int(res.iterations) == 2
    assert not bool(res.converged)


def test_jit_equals_eager():
    p = make_planted(3, 3, 3, 4)
    init = jnp.asarray(p.contexts[:3]) + 0.3
    eager = kmeans(jnp.asarray(p.contexts), init, max_iter=20, tol=1e-3, on_empty="stop")
    jitted = KMEANS(jnp.asarray(p.contexts), init, max_iter=20, tol=1e-3, on_empty="stop")
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_rejects_nonpositive_max_iter():
    with pytest.raises(ValueError, match="max_iter"):
        kmeans(jnp.zeros((3, 1)), jnp.zeros((2, 1)), max_iter=0, tol=1e-3, on_empty="stop")


RESEED = jax.jit(kmeans, static_argnames=("max_iter", "tol", "on_empty"))


def test_reseed_fills_the_empty_cluster_and_converges():
    points = jnp.array([[0.0], [0.1], [1.0], [1.1], [5.0], [5.2]])
    init = jnp.array([[0.0], [1.0], [100.0]])  # the third centroid attracts nothing
    stopped = kmeans(points, init, max_iter=20, tol=1e-3, on_empty="stop")
    res = kmeans(points, init, max_iter=20, tol=1e-3, on_empty="reseed")
    assert bool(stopped.empty)
    assert not bool(res.empty) and bool(res.converged)
    assert same_partition(np.asarray(res.labels), np.array([0, 0, 1, 1, 2, 2]))


def test_reseed_still_reports_empty_when_points_are_too_few_distinct():
    points = jnp.full((5, 3), 2.0)
    res = kmeans(points, jnp.zeros((2, 3)), max_iter=20, tol=1e-3, on_empty="reseed")
    assert bool(res.empty) and not bool(res.converged)
    assert int(res.iterations) == 20


def test_reseed_takes_the_farthest_point_of_a_shared_cluster():
    from mixer.gating.kmeans import reseed_empty

    points = jnp.array([[0.0], [1.0], [9.0], [20.0]])
    labels = jnp.array([0, 0, 0, 1])  # cluster 0 mean 10/3: point 9 is farthest; 20 is alone
    means, counts = cluster_means(points, labels, 3)
    new = reseed_empty(points, labels, means, counts)
    np.testing.assert_allclose(new[:2], means[:2])
    assert float(new[2, 0]) == 9.0


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.integers(0, 10_000))
def test_reseed_from_tiny_random_centroids_leaves_no_cluster_empty(k, seed):
    # Distinct points and centroids drawn near the origin, as at the start of training: with
    # "stop" some cluster is usually empty; "reseed" always ends with k non-empty clusters.
    rng = np.random.default_rng(seed)
    points = jnp.asarray(rng.normal(size=(8 * k, 6)), dtype=jnp.float32)
    init = jnp.asarray(rng.uniform(-1e-3, 1e-3, size=(k, 6)), dtype=jnp.float32)
    res = RESEED(points, init, max_iter=20, tol=1e-3, on_empty="reseed")
    assert not bool(res.empty)
    assert len(np.unique(np.asarray(res.labels))) == k


def test_rejects_unknown_on_empty():
    with pytest.raises(ValueError, match="on_empty"):
        kmeans(jnp.zeros((3, 1)), jnp.zeros((2, 1)), max_iter=2, tol=1e-3, on_empty="skip")
