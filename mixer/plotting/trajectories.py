"""Figs. 10 and 11: one test trajectory per family, truth against prediction.

Figures are ``matplotlib.figure.Figure`` objects on an Agg canvas (no pyplot state, no
window); callers save them with ``fig.savefig``. Non-finite predictions (a diverged model)
are drawn where finite and the axis limits stay near the truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["first_test_trajectory", "plot_family_trajectories"]


def first_test_trajectory(
    x: np.ndarray,
    pred: np.ndarray,
    t: np.ndarray,
    families: np.ndarray,
    family_order: Sequence[object],
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[str]]:
    """For each family of ``family_order``, the first trajectory of its first environment.

    ``x``, ``pred``: (env, traj, time, state); ``t``: (env, time); ``families``: (env,)
    family of each environment. Returns (times, truths, predictions, family names).
    """
    families = np.asarray(families)
    ts, trues, preds, names = [], [], [], []
    for family in family_order:
        envs = np.flatnonzero(families == family)
        if envs.size == 0:
            raise ValueError(f"family {family!r} has no environment")
        e = int(envs[0])
        ts.append(np.asarray(t[e]))
        trues.append(np.asarray(x[e, 0]))
        preds.append(np.asarray(pred[e, 0]))
        names.append(str(family))
    return ts, trues, preds, names


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def _limits(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float] | None:
    """Union of truth and prediction ranges, clamped to the truth range ± one span."""
    truth = truth[np.isfinite(truth)]
    if truth.size == 0:
        return None
    lo, hi = float(truth.min()), float(truth.max())
    span = max(hi - lo, 1e-12 + 1e-3 * abs(hi))
    pred = pred[np.isfinite(pred)]
    p_lo, p_hi = (float(pred.min()), float(pred.max())) if pred.size else (lo, hi)
    return max(min(lo, p_lo), lo - span) - 0.05 * span, min(max(hi, p_hi), hi + span) + 0.05 * span


def _series(ax: Axes, t: np.ndarray, truth: np.ndarray, pred: np.ndarray, legend: bool) -> None:
    for s in range(truth.shape[1]):
        ax.plot(t, truth[:, s], "-", color=f"C{s % 10}", lw=1.2, label=f"x{s} true")
        ax.plot(t, pred[:, s], "--", color=f"C{s % 10}", lw=1.2, label=f"x{s} pred")
    if (lim := _limits(truth, pred)) is not None:
        ax.set_ylim(*lim)
    ax.set_xlabel("t")
    ax.set_ylabel("state x")
    if legend:
        ax.legend(fontsize=7, ncols=2)


def _phase(ax: Axes, truth: np.ndarray, pred: np.ndarray, legend: bool) -> None:
    ax.plot(truth[:, 0], truth[:, 1], "-", color="k", lw=1.2, label="true")
    ax.plot(pred[:, 0], pred[:, 1], "--", color="C3", lw=1.2, label="pred")
    for setter, s in ((ax.set_xlim, 0), (ax.set_ylim, 1)):
        if (lim := _limits(truth[:, s], pred[:, s])) is not None:
            setter(*lim)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    if legend:
        ax.legend(fontsize=7)


def plot_family_trajectories(
    t: Sequence[np.ndarray],
    true: Sequence[np.ndarray],
    pred: Sequence[np.ndarray],
    names: Sequence[str],
    title: str = "",
) -> Figure:
    """One row per family: left, every state against time (truth solid, prediction dashed);
    right, the phase portrait x0 against x1. With one-dimensional states the phase column is
    left out. ``t[i]``: (time,); ``true[i]``, ``pred[i]``: (time, state).
    """
    if not (len(t) == len(true) == len(pred) == len(names)) or not names:
        raise ValueError("t, true, pred and names must be non-empty and of equal length")
    n_state = min(np.asarray(x).reshape(len(x), -1).shape[1] for x in true)
    n_cols = 2 if n_state >= 2 else 1
    fig = Figure(figsize=(4.5 * n_cols, 2.4 * len(names)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), n_cols, squeeze=False)
    for row, (ti, xi, pi, name) in enumerate(zip(t, true, pred, names, strict=True)):
        xi = _finite(xi).reshape(len(ti), -1)
        pi = _finite(pi).reshape(len(ti), -1)
        _series(axes[row, 0], np.asarray(ti), xi, pi, legend=row == 0)
        axes[row, 0].set_title(f"{name}: trajectory", fontsize=9)
        if n_cols == 2:
            _phase(axes[row, 1], xi, pi, legend=row == 0)
            axes[row, 1].set_title(f"{name}: phase space", fontsize=9)
    fig.suptitle(title)
    return fig
