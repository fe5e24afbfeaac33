"""Figures of trained runs: training curves, Fig. 2 (error and validation curves), Fig. 8."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
import xarray as xr
from matplotlib.figure import Figure

from mixer.history import History
from mixer.tables import variant_label

__all__ = ["plot_training_curves", "plot_fig2", "plot_fig8"]


def plot_training_curves(history: History, title: str = "") -> Figure:
    """Training loss and validation relative MSE per outer step (one run)."""
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.semilogy(history.step, history.train_loss, label="train loss (Eq. 7)")
    valid = np.isfinite(history.val_rel_mse)
    ax.semilogy(history.step[valid], history.val_rel_mse[valid], "o-", label="val rel. MSE")
    ax.set_xlabel("outer step")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_fig2(runs: pd.DataFrame, curves: pd.DataFrame, title: str) -> Figure:
    """Top: test relative L2 per model (bar, mean ± sd over seeds); bottom: validation curves.

    ``runs``: columns backbone, variant, seed, test_rel_mse. ``curves``: columns backbone,
    variant, seed, step, val_rel_mse.
    """
    backbones = list(dict.fromkeys(runs["backbone"]))
    fig = Figure(figsize=(4 * len(backbones), 6.5))
    axes = fig.subplots(2, len(backbones), squeeze=False)
    runs = runs.assign(model=runs["variant"].map(variant_label))
    curves = curves.assign(model=curves["variant"].map(variant_label))
    for j, backbone in enumerate(backbones):
        top, bottom = axes[0, j], axes[1, j]
        sns.barplot(runs[runs["backbone"] == backbone], x="model", y="test_rel_mse",
                    hue="model", errorbar="sd", ax=top)
        top.set_yscale("log")
        top.set_title(backbone.upper() if backbone != "coda" else "CoDA")
        top.set_xlabel("")
        top.set_ylabel("test relative L2" if j == 0 else "")
        sns.lineplot(curves[curves["backbone"] == backbone], x="step", y="val_rel_mse",
                     hue="model", errorbar=None, ax=bottom)
        bottom.set_yscale("log")
        bottom.set_xlabel("outer step")
        bottom.set_ylabel("validation rel. MSE" if j == 0 else "")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _nearest(steps: np.ndarray, moments: Sequence[int]) -> list[int]:
    return [int(np.argmin(np.abs(steps - m))) for m in moments]


def plot_fig8(histories: Mapping[str, xr.Dataset], moments: Sequence[int], title: str) -> Figure:
    """Gate heatmaps (environment × expert) at ``moments``, one row per labelled history.

    Each history needs ``gate_probs`` (gate_step, env, expert) and the ``gate_step``
    coordinate; the recorded step nearest each moment is shown.
    """
    fig = Figure(figsize=(2.6 * len(moments), 2.6 * len(histories) + 0.6))
    axes = fig.subplots(len(histories), len(moments), squeeze=False)
    for i, (label, hist) in enumerate(histories.items()):
        steps = hist["gate_step"].values
        for j, idx in enumerate(_nearest(steps, moments)):
            ax = axes[i, j]
            probs = hist["gate_probs"].values[idx]
            ax.imshow(probs, aspect="auto", cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"{label}\nstep {steps[idx]}", fontsize=8)
            ax.set_xticks(range(probs.shape[1]))
            ax.set_xlabel("expert" if i == len(histories) - 1 else "")
            ax.set_ylabel("environment" if j == 0 else "")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
