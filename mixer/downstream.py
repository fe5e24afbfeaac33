"""Downstream analysis of learned context vectors (§4.3: SCCTS Fig. 6, Epilepsy2 Fig. 7).

PCA projections of contexts, K-means with centroids initialised at the true class means,
the SCCTS adjusted Rand indices, and a logistic-regression probe of the contexts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mixer.metrics import adjusted_rand

__all__ = ["pca_2d", "kmeans_from_true_means", "clustering_scores", "logistic_accuracy"]


def _as_matrix(x: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (N, d) array, got shape {array.shape}")
    return array


def _principal_axes(fit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the (<= 2, d) leading components (largest |entry| positive) and their ratios."""
    mean = fit.mean(axis=0)
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    k = min(2, vt.shape[0])
    axes = vt[:k]
    signs = np.sign(axes[np.arange(k), np.argmax(np.abs(axes), axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    power = s**2
    total = power.sum()
    ratio = power[:k] / total if total > 0 else np.zeros(k)
    return mean, axes, ratio


def pca_2d(
    contexts: ArrayLike, fit_on: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Project contexts onto the first two principal components.

    Args:
        contexts: points to project, shape ``(N, d)`` (a 1-D array is read as ``d = 1``).
        fit_on: points the PCA is fitted on, shape ``(M, d)``; ``contexts`` itself when None
            (e.g. fit on the training contexts, project the held-out ones).

    Returns:
        ``coords`` of shape ``(N, 2)`` and ``explained_variance_ratio`` of shape ``(2,)`` (of
        the fitted set). Missing components (``d == 1`` or a single fitted point) are padded
        with zeros; constant data gives a zero ratio, never NaN. Component signs are fixed so
        that each component's largest-magnitude entry is positive.
    """
    points = _as_matrix(contexts, "contexts")
    fit = points if fit_on is None else _as_matrix(fit_on, "fit_on")
    if fit.shape[1] != points.shape[1]:
        raise ValueError(f"fit_on has {fit.shape[1]} features, contexts {points.shape[1]}")
    mean, axes, ratio = _principal_axes(fit)
    coords = np.zeros((points.shape[0], 2))
    coords[:, : axes.shape[0]] = (points - mean) @ axes.T
    padded = np.zeros(2)
    padded[: ratio.size] = ratio
    return coords, padded


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
    """The three SCCTS adjusted Rand indices (Fig. 6).

    Args:
        routes: routed expert of every environment, shape ``(N,)``.
        contexts: learned context vectors, shape ``(N, d)``.
        series: raw time series, shape ``(N, ...)`` (flattened per environment).
        classes: the six-class label of every environment ("A".."F"), shape ``(N,)``.
        pairs: the family (pair "AB", "CD", "EF") of every environment, shape ``(N,)``.

    Returns:
        ``ari_routing_pairs`` (routing vs pairs), ``ari_kmeans_contexts`` and
        ``ari_kmeans_series`` (K-means from the true means vs the six classes).
    """
    return {
        "ari_routing_pairs": adjusted_rand(routes, pairs),
        "ari_kmeans_contexts": adjusted_rand(kmeans_from_true_means(contexts, classes), classes),
        "ari_kmeans_series": adjusted_rand(kmeans_from_true_means(series, classes), classes),
    }


def _check_split(x: np.ndarray, y: np.ndarray, name: str) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: {x.shape[0]} samples but {y.shape[0]} labels")
    if np.unique(y).size < 2:
        raise ValueError(f"{name} split has a single class ({np.unique(y).tolist()}); need two")


def logistic_accuracy(
    train_x: ArrayLike,
    train_y: ArrayLike,
    test_x: ArrayLike,
    test_y: ArrayLike,
    *,
    seed: int,
) -> dict[str, Any]:
    """Fit a standardised logistic regression on training contexts, score held-out ones.

    Returns:
        ``accuracy``, ``balanced_accuracy``, ``confusion_matrix`` (nested list, rows true,
        columns predicted, in the order of ``labels``), ``labels`` (sorted union of the
        train and test labels), ``n_train`` and ``n_test``.

    Raises:
        ValueError: on mismatched shapes or when either split holds a single class.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xs, xt = _as_matrix(train_x, "train_x"), _as_matrix(test_x, "test_x")
    ys, yt = np.asarray(train_y).reshape(-1), np.asarray(test_y).reshape(-1)
    _check_split(xs, ys, "train")
    _check_split(xt, yt, "test")
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"train has {xs.shape[1]} features, test {xt.shape[1]}")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    pred = model.fit(xs, ys).predict(xt)
    labels = np.unique(np.concatenate([ys, yt]))
    return {
        "accuracy": float(accuracy_score(yt, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(yt, pred)),
        "confusion_matrix": confusion_matrix(yt, pred, labels=labels).tolist(),
        "labels": labels.tolist(),
        "n_train": int(xs.shape[0]),
        "n_test": int(xt.shape[0]),
    }
