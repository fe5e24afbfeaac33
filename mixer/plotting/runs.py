"""Figures of trained runs: training curves, Fig. 2 (error and validation curves), Fig. 8."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from mixer.history import History
from mixer.plotting.labels import family_order, mark_families
from mixer.tables import backbone_label, variant_label

__all__ = ["plot_training_curves", "plot_fig2", "pick_gate_steps", "plot_fig8"]


def plot_training_curves(
    history: History, title: str = "", val_label: str = "validation score (model selection)"
) -> Figure:
    """Training loss and the validation score per outer step (one run), log scale.

    ``val_label`` names what ``history.val_rel_mse`` holds (relative MSE, Eq. 9, or the
    teacher-forced MSE: ``mixer.train.validation_metric``).
    """
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.semilogy(history.step, history.train_loss, label="training loss (Eq. 7)")
    valid = np.isfinite(history.val_rel_mse)
    ax.semilogy(history.step[valid], history.val_rel_mse[valid], "o-", label=val_label)
    ax.set_xlabel("outer step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss / validation score")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig


def plot_fig2(runs: pd.DataFrame, curves: pd.DataFrame, title: str) -> Figure:
    """Top: test relative MSE (Eq. 9) per model (bar: mean, error bar: sd over seeds); bottom:
    validation relative MSE during training (mean over seeds). One column per backbone.

    ``runs``: columns backbone, variant, seed, test_rel_mse. ``curves``: columns backbone,
    variant, seed, step, val_rel_mse.
    """
    backbones = list(dict.fromkeys(runs["backbone"]))
    fig = Figure(figsize=(4 * len(backbones), 6.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(backbones), squeeze=False)
    runs = runs.assign(model=runs["variant"].map(variant_label))
    curves = curves.assign(model=curves["variant"].map(variant_label))
    for j, backbone in enumerate(backbones):
        top, bottom = axes[0, j], axes[1, j]
        sns.barplot(
            runs[runs["backbone"] == backbone],
            x="model",
            y="test_rel_mse",
            hue="model",
            errorbar="sd",
            ax=top,
        )
        top.set_yscale("log")
        top.set_title(backbone_label(backbone))
        top.set_xlabel("model")
        top.set_ylabel("test relative MSE (Eq. 9)")
        sns.lineplot(
            curves[curves["backbone"] == backbone],
            x="step",
            y="val_rel_mse",
            hue="model",
            errorbar=None,
            marker="o",
            ax=bottom,
        )
        bottom.set_yscale("log")
        bottom.set_xlabel("outer step")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.set_ylabel("validation relative MSE")
    fig.suptitle(title)
    return fig


def pick_gate_steps(steps: ArrayLike, moments: Sequence[int]) -> list[int]:
    """Indices into the recorded gate ``steps`` to show for the requested training ``moments``:
    distinct, in increasing step order, never one recorded step twice.

    Each moment, in increasing order, takes the nearest recorded step not taken yet; when no
    more steps are recorded than moments are asked for, every recorded step is shown once.
    """
    recorded = np.asarray(steps)
    if recorded.size <= len(moments):
        return [int(i) for i in np.argsort(recorded, kind="stable")]
    taken = np.zeros(recorded.size, dtype=np.bool_)
    for moment in sorted(moments):
        distance = np.where(taken, np.inf, np.abs(recorded - moment))
        taken[int(np.argmin(distance))] = True
    chosen = np.flatnonzero(taken)
    return [int(i) for i in chosen[np.argsort(recorded[chosen], kind="stable")]]


def plot_fig8(
    histories: Mapping[str, xr.Dataset],
    moments: Sequence[int],
    title: str,
    family_names: Mapping[str, str] | None = None,
) -> Figure:
    """Gate heatmaps (environment × expert) at training ``moments``, one row per labelled
    history, one shared colour bar.

    Each history needs ``gate_probs`` (gate_step, env, expert), the ``gate_step`` coordinate and
    the ``family`` coordinate on ``env``. The recorded steps shown are
    :func:`pick_gate_steps` (distinct; fewer panels when fewer steps were recorded).
    Environments are grouped by family, marked on the y axis with ``family_names`` (stored
    value -> display name) and separated by white lines.
    """
    if not histories:
        raise ValueError("histories is empty: give at least one run's history")
    picks = {
        label: pick_gate_steps(h["gate_step"].values, moments) for label, h in histories.items()
    }
    n_cols = max(len(p) for p in picks.values())
    fig = Figure(figsize=(2.4 * n_cols + 2.6, 2.4 * len(histories) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(histories), n_cols, squeeze=False, sharey=True)
    images = []
    for row, (label, hist) in zip(axes, histories.items(), strict=True):
        order, blocks = family_order(hist["family"].values)
        steps = hist["gate_step"].values
        for ax, idx in zip(row, picks[label], strict=False):  # spare panels hidden below
            probs = np.asarray(hist["gate_probs"].values[idx])[order]
            images.append(
                ax.imshow(
                    probs, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest"
                )
            )
            ax.set_title(f"{label}\nstep {steps[idx]}", fontsize=8)
            ax.set_xticks(range(probs.shape[1]))
            ax.set_xlabel("expert")
            mark_families(ax, blocks, family_names or {})
        for ax in row[len(picks[label]) :]:
            ax.set_visible(False)
        row[0].set_ylabel("environment (by family)")
    fig.colorbar(images[0], ax=axes.ravel().tolist(), label="gate probability", shrink=0.8)
    fig.suptitle(title)
    return fig
