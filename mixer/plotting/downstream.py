"""Figures of the downstream context analysis: Fig. 6 (SCCTS) and Fig. 7 (Epilepsy2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mixer.downstream import pca_2d

__all__ = ["Fig6Panel", "Fig7Panel", "plot_fig6", "plot_fig7"]


@dataclasses.dataclass(frozen=True)
class Fig6Panel:
    """One model's column of Fig. 6.

    ``contexts`` (N, d); ``classes`` (N,) true labels ("A".."F"); ``kmeans_labels`` (N,)
    cluster codes, cluster ``k`` started at the mean of the ``k``-th sorted class;
    ``class_names`` and ``class_expert_counts`` (classes, M): how many series of each class
    each expert receives (``mixer.downstream.class_expert_counts``); ``scores`` e.g.
    ``{"ARI routing": 0.9, "ARI K-means": 0.8}``, shown in the titles.
    """

    name: str
    contexts: np.ndarray
    classes: np.ndarray
    kmeans_labels: np.ndarray
    class_names: Sequence[str]
    class_expert_counts: np.ndarray
    scores: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = np.shape(self.class_expert_counts)
        if len(shape) != 2 or shape[0] != len(self.class_names):
            raise ValueError(
                f"class_expert_counts has shape {shape}, expected ({len(self.class_names)}, M)"
            )


@dataclasses.dataclass(frozen=True)
class Fig7Panel:
    """One model's panel of Fig. 7: contexts (N, d) with their labels of the series the model
    was trained on and of the held-out ones (both re-inferred by the same adaptation), and the
    cross-validated accuracy of the logistic-regression probe over all of them."""

    name: str
    train_contexts: np.ndarray
    train_labels: np.ndarray
    test_contexts: np.ndarray
    test_labels: np.ndarray
    accuracy: float


def _colour(k: int) -> tuple[float, ...]:
    return colormaps["tab10"](k % 10)


def _scatter_by(
    ax: Axes, coords: np.ndarray, codes: np.ndarray, names: Sequence[str], **style: Any
) -> None:
    for k, name in enumerate(names):
        mask = codes == k
        if mask.any():
            ax.scatter(coords[mask, 0], coords[mask, 1], color=_colour(k), label=name, **style)


def _pc_labels(ax: Axes, ratio: np.ndarray) -> None:
    """Axis labels with the explained variance; at most five ticks per axis, so that long
    tick labels (large context values) never run into each other."""
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.0f}%)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f}%)")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))


def _scores_text(scores: Mapping[str, float], per_line: int = 2) -> str:
    items = [f"{key} {value:.2f}" for key, value in scores.items()]
    return "\n".join(", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line))


def _count_heatmap(ax: Axes, counts: np.ndarray, rows: Sequence[str]) -> None:
    """Annotated heatmap of a (classes, experts) count table."""
    counts = np.asarray(counts)
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(1, int(counts.max())), aspect="auto")
    for (i, j), value in np.ndenumerate(counts):
        dark = value > 0.6 * counts.max()
        ax.text(
            j,
            i,
            str(int(value)),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if dark else "black",
        )
    ax.set_xticks(
        range(counts.shape[1]), [f"expert {m}" for m in range(counts.shape[1])], fontsize=7
    )
    ax.set_yticks(range(len(rows)), list(rows), fontsize=7)
    ax.set_xlabel("routed expert")
    ax.set_ylabel("true class")


def plot_fig6(
    panels: Sequence[Fig6Panel], title: str = "", row_labels: Mapping[str, str] | None = None
) -> Figure:
    """PCA of contexts, one column per model: top coloured by the true classes, middle by the
    K-means labels (cluster ``k`` drawn in the colour of the class it was started at), bottom
    the class x expert count table of the routing (annotated heatmap).

    ``row_labels`` maps class names to the heatmap's row labels (e.g. "A" -> "A normal").
    """
    fig = Figure(figsize=(4.8 * len(panels), 11.0))
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, len(panels), squeeze=False)
    for j, panel in enumerate(panels):
        coords, ratio = pca_2d(panel.contexts)
        names, codes = np.unique(np.asarray(panel.classes), return_inverse=True)
        labels = [str(n) for n in names]
        kmeans = np.asarray(panel.kmeans_labels).reshape(-1)
        top, bottom = axes[0, j], axes[1, j]
        _scatter_by(top, coords, codes.reshape(-1), labels, s=10, alpha=0.8)
        n_clusters = max(len(labels), int(kmeans.max()) + 1)
        _scatter_by(
            bottom, coords, kmeans, [f"cluster {k}" for k in range(n_clusters)], s=10, alpha=0.8
        )
        top.set_title(f"{panel.name}: ground truth\n{_scores_text(panel.scores)}", fontsize=9)
        bottom.set_title(f"{panel.name}: K-means from true means", fontsize=9)
        for ax in (top, bottom):
            _pc_labels(ax, ratio)
        rows = [(row_labels or {}).get(str(c), str(c)) for c in panel.class_names]
        _count_heatmap(axes[2, j], panel.class_expert_counts, rows)
        axes[2, j].set_title(f"{panel.name}: series per class and routed expert", fontsize=9)
        if j == 0:
            top.legend(fontsize=7, markerscale=1.5)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_fig7(
    panels: Sequence[Fig7Panel], label_names: Mapping[Any, str], title: str = ""
) -> Figure:
    """PCA (fitted on the training series' contexts) per model: contexts of the series the
    model was trained on as circles, held-out ones as crosses, coloured by class; the
    cross-validated accuracy in each title.

    ``label_names`` maps every label value to its display name (e.g. ``{1: "seizure",
    0: "healthy"}``); the colour order follows its keys.
    """
    keys = list(label_names)
    fig = Figure(figsize=(4.5 * len(panels), 4.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        train_xy, ratio = pca_2d(panel.train_contexts)
        test_xy, _ = pca_2d(panel.test_contexts, fit_on=panel.train_contexts)
        for xy, labels, marker, split in (
            (train_xy, panel.train_labels, "o", "train"),
            (test_xy, panel.test_labels, "x", "held-out"),
        ):
            codes = _codes(labels, keys)
            _scatter_by(
                ax,
                xy,
                codes,
                [f"{label_names[k]} ({split})" for k in keys],
                marker=marker,
                s=14,
                alpha=0.7,
            )
        ax.set_title(f"{panel.name}\nCV accuracy {panel.accuracy:.3f}", fontsize=9)
        _pc_labels(ax, ratio)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _codes(labels: np.ndarray, keys: Sequence[Any]) -> np.ndarray:
    values = np.asarray(labels).reshape(-1).tolist()
    unknown = set(values) - set(keys)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} have no entry in label_names")
    return np.asarray([keys.index(v) for v in values], dtype=np.int64)
