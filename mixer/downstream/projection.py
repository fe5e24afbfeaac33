"""Two-dimensional views of learned contexts: PCA projections (Figs. 6 and 7)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["as_matrix", "pca_2d"]


def as_matrix(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a non-empty float64 ``(N, d)`` array (a 1-D array is read as ``d = 1``);
    ``name`` names it in the error."""
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
    points = as_matrix(contexts, "contexts")
    fit = points if fit_on is None else as_matrix(fit_on, "fit_on")
    if fit.shape[1] != points.shape[1]:
        raise ValueError(f"fit_on has {fit.shape[1]} features, contexts {points.shape[1]}")
    pca, ratio = _fit_pca(fit)
    coords = np.zeros((points.shape[0], 2))
    coords[:, : ratio.size] = pca.transform(points)
    padded = np.zeros(2)
    padded[: ratio.size] = ratio
    return coords, padded
