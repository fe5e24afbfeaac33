"""Downstream analysis of learned context vectors (§4.3: SCCTS Fig. 6, Epilepsy2 Fig. 7).

PCA projections of contexts, K-means with centroids initialised at the true class means,
the SCCTS adjusted Rand indices (routing against the pairs and against the six classes) and
class x expert counts, and the Epilepsy2 classification protocol: contexts of every series
re-inferred by one adaptation of the frozen model, then a logistic regression scored by
stratified k-fold cross-validation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from mixer.metrics import adjusted_rand

if TYPE_CHECKING:  # the JAX side is imported only by the functions that adapt
    from mixer.envdata import EnvData
    from mixer.experiment import RunSpec
    from mixer.layer import MixER

__all__ = [
    "pca_2d",
    "kmeans_from_true_means",
    "clustering_scores",
    "class_expert_counts",
    "count_table_markdown",
    "logistic_accuracy",
    "stratified_folds",
    "cross_validate_logistic",
    "majority_baseline",
    "reinfer_contexts",
    "adaptation_convergence",
]


def _as_matrix(x: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (N, d) array, got shape {array.shape}")
    return array


def _fit_pca(fit: np.ndarray) -> tuple[Any, np.ndarray]:
    """scikit-learn's PCA with up to two components fitted on ``fit`` (exact SVD, so the signs
    follow ``svd_flip`` on the components: each one's largest-magnitude entry is positive), and
    its explained variance ratios, 0 where the fitted set has no variance (sklearn's 0 / 0)."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=min(2, *fit.shape), svd_solver="full")
    with np.errstate(divide="ignore", invalid="ignore"):  # zero-variance sets give 0 / 0
        pca.fit(fit)
    return pca, np.nan_to_num(pca.explained_variance_ratio_, nan=0.0)


def pca_2d(contexts: ArrayLike, fit_on: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Project contexts onto the first two principal components (scikit-learn's ``PCA``).

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
    pca, ratio = _fit_pca(fit)
    coords = np.zeros((points.shape[0], 2))
    coords[:, : ratio.size] = pca.transform(points)
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


def count_table_markdown(
    rows: Sequence[str], columns: Sequence[str], counts: ArrayLike, corner: str = ""
) -> str:
    """A count table (class x expert, or a confusion matrix) as a Markdown table."""
    table = np.asarray(counts)
    if table.shape != (len(rows), len(columns)):
        raise ValueError(f"counts have shape {table.shape}, expected {(len(rows), len(columns))}")
    lines = ["| " + " | ".join([corner, *columns]) + " |", "|" + " --- |" * (len(columns) + 1)]
    lines += [
        "| " + " | ".join([str(r), *(str(int(v)) for v in row)]) + " |"
        for r, row in zip(rows, table, strict=True)
    ]
    return "\n".join(lines) + "\n"


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

    xs, xt = _as_matrix(train_x, "train_x"), _as_matrix(test_x, "test_x")
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


# --------------------------------------------------------------------------- Epilepsy2 protocol


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

    x = _as_matrix(contexts, "contexts")
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


def reinfer_contexts(
    spec: RunSpec, model: MixER, parts: Sequence[EnvData], *, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Contexts of every series of ``parts`` by ONE adaptation call of the frozen model.

    The series the model was trained on and the held-out ones go through the same procedure
    (contexts from 0, ``steps`` AdaBelief steps, ``mixer.experiment.adapt_run`` with the run's
    other adaptation settings), so a classifier trained on some and tested on others compares
    one population.  The co-trained contexts are deliberately not an input.

    Args:
        spec: the run's ``RunSpec``.
        model: the trained ``MixER``.
        parts: ``EnvData`` splits (same time grid length), concatenated in order.
        steps: adaptation steps (enough to converge; see :func:`adaptation_convergence`).

    Returns:
        Contexts ``(N, d)`` and the loss before every step ``(steps, N)``, as NumPy arrays.
    """
    import jax.numpy as jnp

    from mixer.envdata import EnvData
    from mixer.experiment import adapt_run

    if not parts:
        raise ValueError("reinfer_contexts needs at least one split")
    lengths = {p.x.shape[2] for p in parts}
    if len(lengths) != 1:
        raise ValueError(f"splits have different series lengths {sorted(lengths)}")
    data = EnvData(x=jnp.concatenate([p.x for p in parts]), t=jnp.concatenate([p.t for p in parts]))
    adapt_cfg = dataclasses.replace(spec.adapt, steps=int(steps))
    contexts, losses = adapt_run(dataclasses.replace(spec, adapt=adapt_cfg), model, data)
    return np.asarray(contexts), np.asarray(losses)


def adaptation_convergence(
    losses: ArrayLike, *, tail: float = 0.1, tol: float = 1e-2
) -> dict[str, Any]:
    """Whether adaptation has converged, from its loss curves ``(steps, N)``.

    Per series, the *projected decrease*: the relative drop of the mean loss from the window of
    ``tail * steps`` steps before the last window to the last window, scaled by
    ``steps / window`` (what as many further steps would still gain at the current rate; a
    rise is negative).  Adaptation has converged when the median over series is below ``tol``
    in magnitude.  The median, not every series: with a frozen top-1 gate, a context that
    crosses a gate boundary switches expert, its loss jumps and falls again, so a few series
    are caught mid-way at any step count.

    Returns:
        ``steps``, ``loss_first`` and ``loss_last`` (mean over series),
        ``tail_decrease_median`` and ``tail_decrease_max`` (projected), ``converged_fraction``
        (share of series within ``tol``) and ``converged``.  Fewer than two steps cannot show
        convergence: NaN decreases, ``converged`` False.
    """
    curves = np.asarray(losses, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[0] == 0 or curves.shape[1] == 0:
        raise ValueError(f"losses must be a non-empty (steps, N) array, got {curves.shape}")
    steps = curves.shape[0]
    if steps < 2:
        decrease = np.full(curves.shape[1], np.nan)
    else:
        window = min(max(1, int(tail * steps)), steps // 2)
        before = curves[-2 * window : -window].mean(axis=0)
        last = curves[-window:].mean(axis=0)
        decrease = (before - last) / np.maximum(np.abs(before), 1e-12) * (steps / window)
    median = float(np.median(decrease))
    return {
        "steps": int(steps),
        "loss_first": float(curves[0].mean()),
        "loss_last": float(curves[-1].mean()),
        "tail_decrease_median": median,
        "tail_decrease_max": float(np.max(decrease)),
        "converged_fraction": float(np.mean(np.abs(decrease) < tol)),
        "converged": bool(abs(median) < tol),
    }
