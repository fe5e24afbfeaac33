"""Evaluation metrics (SPEC §2.7, paper App. A.2, Eqs. 9 and 10) and routing scores.

Trajectory arrays have shape ``(env, traj, time, state)``; any number of leading axes is
accepted where only the last (state) axis matters. Inputs may be NumPy or JAX arrays; the
computations run in NumPy float64 and return Python floats or NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def _pair(pred: ArrayLike, true: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from data shape {true.shape}")
    if pred.ndim < 1:
        raise ValueError("expected at least a state axis")
    return pred, true


def squared_errors(pred: ArrayLike, true: ArrayLike) -> np.ndarray:
    """Squared L2 norm of the error of every state: shape of the inputs without the last axis."""
    pred, true = _pair(pred, true)
    return np.sum((pred - true) ** 2, axis=-1)


def mse(pred: ArrayLike, true: ArrayLike) -> float:
    """MSE (SPEC §2.7): the mean of ``(x - x̂)²`` over every axis, i.e. over environments,
    trajectories, times **and state dimensions** (the paper's Table 4 convention, from the
    Gen-Dynamics / CoDA evaluation code). It equals the mean of ``||x - x̂||² / d`` for a
    ``d``-dimensional state, not the mean of ``||x - x̂||²``."""
    pred, true = _pair(pred, true)
    return float(np.mean((pred - true) ** 2))


def _relative_terms(
    pred: ArrayLike, true: ArrayLike, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-state ratios ``||x - x̂||² / ||x||²`` and the mask of states with ``||x|| > threshold``
    (ratios of excluded states are set to 0)."""
    pred, true = _pair(pred, true)
    norm_sq = np.sum(true**2, axis=-1)
    keep = np.sqrt(norm_sq) > threshold
    ratios = np.where(keep, squared_errors(pred, true) / np.where(keep, norm_sq, 1.0), 0.0)
    return ratios, keep


def relative_mse(pred: ArrayLike, true: ArrayLike, threshold: float = 1e-6) -> float:
    """Relative MSE (Eq. 9): the mean of ``||x - x̂||² / ||x||²`` over all states (all
    environments, trajectories and times) whose true norm ``||x||`` exceeds ``threshold``.

    States with ``||x|| <= threshold`` are EXCLUDED from both the sum and the count (not
    clamped). Returns NaN when no state qualifies.
    """
    ratios, keep = _relative_terms(pred, true, threshold)
    count = int(np.sum(keep))
    return float(np.sum(ratios) / count) if count else float("nan")


def relative_mse_per_env(pred: ArrayLike, true: ArrayLike, threshold: float = 1e-6) -> np.ndarray:
    """Relative MSE of every environment (leading axis): the mean of the per-state ratios over
    the environment's included states (``||x|| > threshold``), shape ``(E,)``; NaN for an
    environment without any included state."""
    ratios, keep = _relative_terms(pred, true, threshold)
    if ratios.ndim < 1:
        raise ValueError("expected an environment axis in front of the state axis")
    axes = tuple(range(1, ratios.ndim))
    counts = np.sum(keep, axis=axes)
    sums = np.sum(ratios, axis=axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def tprmse(per_env_rel_mse: ArrayLike, eps: float = 0.1) -> float:
    """TPRMSE (Eq. 10): the percentage (0-100) of environments whose relative MSE is strictly
    below ``eps``. NaN entries count as not below. Raises on an empty input."""
    values = np.asarray(per_env_rel_mse, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("tprmse needs at least one environment")
    with np.errstate(invalid="ignore"):
        below = values < eps
    return float(100.0 * np.mean(below))


def _as_codes(values: ArrayLike | Sequence[Any], name: str) -> np.ndarray:
    array = np.asarray(values).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return np.unique(array, return_inverse=True)[1].reshape(-1)


def routing_purity(routes: ArrayLike, labels: ArrayLike | Sequence[Any]) -> float:
    """Purity of the routing against the true families.

    For each expert, count the environments routed to it that belong to its most common
    family (its majority family); purity = the sum of those counts divided by the number of
    environments E. It lies in (0, 1] and equals 1 exactly when every expert's environments
    all come from one family (several experts may share a family). Experts that receive no
    environment contribute nothing.

    Args:
        routes: the expert index of every environment, shape ``(E,)``.
        labels: the family of every environment (any hashable labels), shape ``(E,)``.
    """
    experts, families = _as_codes(routes, "routes"), _as_codes(labels, "labels")
    if experts.shape != families.shape:
        raise ValueError(f"{experts.size} routes for {families.size} labels")
    table = np.zeros((experts.max() + 1, families.max() + 1), dtype=np.int64)
    np.add.at(table, (experts, families), 1)
    return float(table.max(axis=1).sum() / experts.size)


def adjusted_rand(routes: ArrayLike, labels: ArrayLike | Sequence[Any]) -> float:
    """Adjusted Rand index between the routing partition and the family partition (1 for
    identical partitions up to relabelling, about 0 for chance agreement).

    scikit-learn's ``adjusted_rand_score`` (Hubert and Arabie's index; 1.0 in its degenerate
    cases: a single environment, or both partitions trivial) on the integer codes of any
    hashable labels.
    """
    from sklearn.metrics import adjusted_rand_score

    experts, families = _as_codes(routes, "routes"), _as_codes(labels, "labels")
    if experts.shape != families.shape:
        raise ValueError(f"{experts.size} routes for {families.size} labels")
    return float(adjusted_rand_score(families, experts))


def per_family(values_per_env: ArrayLike, families: ArrayLike | Sequence[Any]) -> dict[Any, float]:
    """The mean of a per-environment value over the environments of each family.

    Returns a dict from family label (as a Python scalar, in sorted order) to the mean
    (NaN entries propagate, as in ``numpy.mean``).
    """
    values = np.asarray(values_per_env, dtype=np.float64).reshape(-1)
    labels = np.asarray(families).reshape(-1)
    if values.shape != labels.shape:
        raise ValueError(f"{values.size} values for {labels.size} family labels")
    names, codes = np.unique(labels, return_inverse=True)
    return {
        names[i].item(): float(np.mean(values[codes.reshape(-1) == i])) for i in range(names.size)
    }
