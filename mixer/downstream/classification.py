"""The Epilepsy2 classification of contexts (Fig. 7): a standardised logistic regression,
scored on a held-out split or by stratified k-fold cross-validation, and the majority-class
baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mixer.downstream.projection import as_matrix

__all__ = [
    "logistic_accuracy",
    "stratified_folds",
    "cross_validate_logistic",
    "majority_baseline",
]


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
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix

    xs, xt = as_matrix(train_x, "train_x"), as_matrix(test_x, "test_x")
    ys, yt = np.asarray(train_y).reshape(-1), np.asarray(test_y).reshape(-1)
    _check_split(xs, ys, "train")
    _check_split(xt, yt, "test")
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"train has {xs.shape[1]} features, test {xt.shape[1]}")
    pred = _logistic(seed).fit(xs, ys).predict(xt)
    labels = np.unique(np.concatenate([ys, yt]))
    return {
        "accuracy": float(accuracy_score(yt, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(yt, pred)),
        "confusion_matrix": confusion_matrix(yt, pred, labels=labels).tolist(),
        "labels": labels.tolist(),
        "n_train": int(xs.shape[0]),
        "n_test": int(xt.shape[0]),
    }


def majority_baseline(labels: ArrayLike | Sequence[Any]) -> dict[str, Any]:
    """The classifier that always answers the most frequent label (ties: the first sorted).

    Returns:
        ``majority_label``, ``majority_accuracy`` (its accuracy on ``labels``) and
        ``majority_balanced_accuracy`` (1 / number of classes).
    """
    names, counts = np.unique(np.asarray(labels).reshape(-1), return_counts=True)
    if names.size == 0:
        raise ValueError("majority_baseline needs at least one label")
    top = int(np.argmax(counts))
    return {
        "majority_label": names[top].item(),
        "majority_accuracy": float(counts[top] / counts.sum()),
        "majority_balanced_accuracy": float(1.0 / names.size),
    }


def stratified_folds(labels: ArrayLike | Sequence[Any], folds: int, *, seed: int) -> np.ndarray:
    """Fold index (``0..folds-1``) of every sample: shuffled with ``seed``, each class spread
    evenly over the folds (scikit-learn's ``StratifiedKFold``).

    Raises:
        ValueError: for ``folds < 2``, fewer than two classes, or a class with fewer samples
            than folds (some fold would not contain it).
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels).reshape(-1)
    if folds < 2:
        raise ValueError(f"cross-validation needs folds >= 2, got {folds}")
    names, counts = np.unique(y, return_counts=True)
    if names.size < 2:
        raise ValueError(f"cross-validation needs two classes, got {names.tolist()}")
    if counts.min() < folds:
        small = {str(n): int(c) for n, c in zip(names, counts, strict=True) if c < folds}
        raise ValueError(f"{folds} folds but class(es) {small} have fewer samples than folds")
    fold_of = np.empty(y.size, dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros((y.size, 1)), y)):
        fold_of[test] = k
    return fold_of


def _logistic(seed: int) -> Any:
    """A standardised logistic regression (scikit-learn pipeline) seeded with ``seed``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))


def cross_validate_logistic(
    contexts: ArrayLike, labels: ArrayLike | Sequence[Any], *, folds: int, seed: int
) -> dict[str, Any]:
    """Stratified k-fold cross-validation of a standardised logistic regression on contexts.

    Every sample is predicted once, by the model fitted on the other folds; the scores are
    those of the pooled out-of-fold predictions.  ``seed`` shuffles the folds and seeds the
    classifier.

    Returns:
        ``accuracy``, ``balanced_accuracy``, ``confusion_matrix`` (nested list, rows true,
        columns predicted, in the order of ``labels``), ``labels`` (sorted), ``fold_accuracy``
        (per fold), ``folds``, ``n_series`` and the :func:`majority_baseline` entries.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix

    x = as_matrix(contexts, "contexts")
    y = np.asarray(labels).reshape(-1)
    if x.shape[0] != y.size:
        raise ValueError(f"{x.shape[0]} contexts but {y.size} labels")
    fold_of = stratified_folds(y, folds, seed=seed)
    pred = np.empty_like(y)
    fold_accuracy = []
    for k in range(folds):
        test = fold_of == k
        pred[test] = _logistic(seed).fit(x[~test], y[~test]).predict(x[test])
        fold_accuracy.append(float(np.mean(pred[test] == y[test])))
    names = np.unique(y)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "confusion_matrix": confusion_matrix(y, pred, labels=names).tolist(),
        "labels": names.tolist(),
        "fold_accuracy": fold_accuracy,
        "folds": int(folds),
        "n_series": int(y.size),
        **majority_baseline(y),
    }
