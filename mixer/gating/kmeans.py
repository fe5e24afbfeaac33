"""Lloyd's K-means with L1 assignment distance (paper Algorithm 2), jit-compatible.

The assignment step uses the L1 distance (Alg. 2 line 7); the update step takes the mean of
each cluster (line 11). Iteration stops when the centroids move by less than ``tol`` or when
``max_iter`` iterations have run. An empty cluster either stops the run at once
(``on_empty="stop"``, Alg. 2 line 9) or has its centroid moved onto a far point before the next
iteration (``on_empty="reseed"``; the run is reported empty only if the last assignment still
leaves a cluster without points, e.g. when there are fewer distinct points than clusters).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

ON_EMPTY = ("stop", "reseed")


class KMeansResult(eqx.Module):
    """Outcome of one K-means run.

    ``labels`` come from the last assignment step and ``centroids`` are the means of those
    clusters, except when ``empty`` is True: then the last assignment step left a cluster
    without points and ``centroids`` should be discarded by the caller (Alg. 2 returns Null).
    """

    labels: Int[Array, " E"]
    centroids: Float[Array, "K d"]
    converged: Bool[Array, ""]
    iterations: Int[Array, ""]
    empty: Bool[Array, ""]


def l1_distances(
    points: Float[Array, "E d"], centroids: Float[Array, "K d"]
) -> Float[Array, "E K"]:
    """L1 distance between every point and every centroid."""
    return jnp.sum(jnp.abs(points[:, None, :] - centroids[None, :, :]), axis=-1)


def assign_clusters(
    points: Float[Array, "E d"], centroids: Float[Array, "K d"]
) -> Int[Array, " E"]:
    """Index of the L1-nearest centroid of each point (ties go to the lowest index)."""
    return jnp.argmin(l1_distances(points, centroids), axis=1).astype(jnp.int32)


def cluster_means(
    points: Float[Array, "E d"], labels: Int[Array, " E"], num_clusters: int
) -> tuple[Float[Array, "K d"], Int[Array, " K"]]:
    """Mean of the points of every cluster and the cluster sizes.

    The mean of an empty cluster is returned as zeros (callers check the sizes).
    """
    members = jax.nn.one_hot(labels, num_clusters, dtype=points.dtype)  # (E, K)
    counts = jnp.sum(members, axis=0)
    sums = members.T @ points
    means = sums / jnp.maximum(counts, 1.0)[:, None]
    return means, counts.astype(jnp.int32)


def centroid_shift(old: Float[Array, "K d"], new: Float[Array, "K d"]) -> Float[Array, ""]:
    """Convergence measure: the largest absolute change of any centroid coordinate.

    A coordinate-wise (max-norm) criterion does not grow with the context size ``d``, so one
    tolerance suits every dataset (d ranges from 2 to 512 in the paper).
    """
    return jnp.max(jnp.abs(new - old))


def reseed_empty(
    points: Float[Array, "E d"],
    labels: Int[Array, " E"],
    means: Float[Array, "K d"],
    counts: Int[Array, " K"],
) -> Float[Array, "K d"]:
    """Next centroids when some clusters are empty: every non-empty cluster takes its mean;
    the empty ones, in index order, take the points farthest (L1) from the mean of their own
    cluster, the farthest going to the first empty cluster (a different point for each). A
    point alone in its cluster is at distance 0 from its mean, so it is taken last."""
    own = jnp.sum(jnp.abs(points - means[labels]), axis=-1)
    farthest = jnp.argsort(-own, stable=True)
    empty = counts == 0
    rank = jnp.clip(jnp.cumsum(empty) - 1, 0, points.shape[0] - 1)
    return jnp.where(empty[:, None], points[farthest[rank]], means)


def kmeans(
    points: Float[Array, "E d"],
    init_centroids: Float[Array, "K d"],
    *,
    max_iter: int,
    tol: float,
    on_empty: str,
) -> KMeansResult:
    """Lloyd's algorithm warm-started from ``init_centroids`` (Alg. 2, lines 6-14).

    One iteration = one L1 assignment step followed by one mean update. The run has converged
    when an update moves no centroid coordinate by ``tol`` or more (see ``centroid_shift``);
    warm-starting from converged centroids therefore converges after one iteration.
    If an assignment step leaves a cluster empty, ``on_empty="stop"`` ends the loop at once
    with ``empty`` True and ``converged`` False (Alg. 2); ``on_empty="reseed"`` moves the
    empty clusters' centroids onto far points (``reseed_empty``) and goes on, and ``empty``
    reports whether the last assignment step left a cluster empty.

    Args:
        points: the context vectors, one row per environment.
        init_centroids: the starting centroids; their number sets the number of clusters.
        max_iter: the most iterations to run (at least 1).
        tol: tolerance on the centroid movement.
        on_empty: ``"stop"`` or ``"reseed"`` (see above).

    Returns:
        A ``KMeansResult``.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    if on_empty not in ON_EMPTY:
        raise ValueError(f"on_empty must be one of {ON_EMPTY}, got {on_empty!r}")
    stop_on_empty = on_empty == "stop"
    num_clusters = init_centroids.shape[0]
    centroids0 = init_centroids.astype(points.dtype)

    def step(state):
        _, centroids, iteration, _, _ = state
        labels = assign_clusters(points, centroids)
        means, counts = cluster_means(points, labels, num_clusters)
        empty = jnp.any(counts == 0)
        if stop_on_empty:
            new_centroids = jnp.where(empty, centroids, means)
        else:
            new_centroids = reseed_empty(points, labels, means, counts)
        converged = jnp.logical_and(~empty, centroid_shift(centroids, means) < tol)
        return labels, new_centroids, iteration + 1, converged, empty

    def keep_going(state):
        _, _, iteration, converged, empty = state
        running = (iteration < max_iter) & ~converged
        return running & ~empty if stop_on_empty else running

    init_state = (
        jnp.zeros(points.shape[0], dtype=jnp.int32),
        centroids0,
        jnp.asarray(0, dtype=jnp.int32),
        jnp.asarray(False),
        jnp.asarray(False),
    )
    labels, centroids, iterations, converged, empty = jax.lax.while_loop(
        keep_going, step, init_state
    )
    return KMeansResult(
        labels=labels,
        centroids=centroids,
        converged=converged,
        iterations=iterations,
        empty=empty,
    )
