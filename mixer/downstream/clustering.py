"""The SCCTS analysis (Fig. 6): K-means from the true class means, the adjusted Rand indices
of the routing and of K-means, and class x expert count tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mixer.metrics import adjusted_rand

__all__ = [
    "kmeans_from_true_means",
    "clustering_scores",
    "class_expert_counts",
]


def kmeans_from_true_means(x: ArrayLike, labels: ArrayLike | Sequence[Any]) -> np.ndarray:
    """Euclidean K-means (Lloyd) with K = number of distinct labels, started at the class means.

    Cluster ``k`` starts at the mean of the ``k``-th label in sorted order (``np.unique``), so
    a perfect recovery returns those label codes. Deterministic (a single, fixed start).

    Args:
        x: features, shape ``(N, p)`` (more dimensions are flattened per sample).
        labels: the true class of every sample, shape ``(N,)``.

    Returns:
        Cluster indices in ``0..K-1``, shape ``(N,)``.
    """
    from sklearn.cluster import KMeans

    features = np.asarray(x, dtype=np.float64)
    features = features.reshape(features.shape[0], -1)
    classes, codes = np.unique(np.asarray(labels).reshape(-1), return_inverse=True)
    if codes.size != features.shape[0]:
        raise ValueError(f"{codes.size} labels for {features.shape[0]} samples")
    means = np.stack([features[codes == k].mean(axis=0) for k in range(classes.size)])
    model = KMeans(n_clusters=classes.size, init=means, n_init=1, algorithm="lloyd")
    return model.fit_predict(features).astype(np.int64)


def clustering_scores(
    routes: ArrayLike,
    contexts: ArrayLike,
    series: ArrayLike,
    classes: ArrayLike | Sequence[Any],
    pairs: ArrayLike | Sequence[Any],
) -> dict[str, float]:
    """The SCCTS adjusted Rand indices (Fig. 6).

    Args:
        routes: routed expert of every environment, shape ``(N,)``.
        contexts: learned context vectors, shape ``(N, d)``.
        series: raw time series, shape ``(N, ...)`` (flattened per environment).
        classes: the six-class label of every environment ("A".."F"), shape ``(N,)``.
        pairs: the family (pair "AB", "CD", "EF") of every environment, shape ``(N,)``.

    Returns:
        ``ari_routing_pairs`` (routing vs the pairs), ``ari_routing_classes`` (routing vs the
        six classes: a split by direction of change, {A, C, E} vs {B, D, F}, is coherent
        routing that scores about 0 against the pairs), ``ari_kmeans_contexts`` and
        ``ari_kmeans_series`` (K-means from the true means vs the six classes).
    """
    return {
        "ari_routing_pairs": adjusted_rand(routes, pairs),
        "ari_routing_classes": adjusted_rand(routes, classes),
        "ari_kmeans_contexts": adjusted_rand(kmeans_from_true_means(contexts, classes), classes),
        "ari_kmeans_series": adjusted_rand(kmeans_from_true_means(series, classes), classes),
    }


def class_expert_counts(
    routes: ArrayLike, classes: ArrayLike | Sequence[Any], num_experts: int
) -> tuple[list[str], np.ndarray]:
    """How many environments of each class every expert receives.

    Args:
        routes: routed expert of every environment, integers in ``0..num_experts-1``.
        classes: the class of every environment.
        num_experts: M (experts that receive nothing get a zero column).

    Returns:
        The class names (sorted, as strings) and the ``(classes, M)`` integer count table.
    """
    experts = np.asarray(routes).reshape(-1)
    names, codes = np.unique(np.asarray(classes).reshape(-1), return_inverse=True)
    if experts.size != codes.size:
        raise ValueError(f"{experts.size} routes for {codes.size} classes")
    if num_experts < 1:
        raise ValueError(f"num_experts must be >= 1, got {num_experts}")
    if experts.size and (
        not np.issubdtype(experts.dtype, np.integer)
        or experts.min() < 0
        or experts.max() >= num_experts
    ):
        raise ValueError(f"routes must be integers in [0, {num_experts}), got {np.unique(experts)}")
    table = np.zeros((names.size, num_experts), dtype=np.int64)
    np.add.at(table, (codes, experts.astype(np.int64)), 1)
    return [str(n) for n in names], table
