"""Gate figures: Fig. 5 (heatmap over histogram of routes) and Fig. 9 (one heatmap per dataset).

Figures are ``matplotlib.figure.Figure`` objects on an Agg canvas (no pyplot state, no
window); callers save them with ``fig.savefig``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mixer.plotting.labels import family_order, mark_families

__all__ = ["route_counts", "plot_gate_heatmap_histogram", "plot_gate_heatmaps"]

_CMAP = "viridis"


def _check_probs(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2:
        raise ValueError(f"gate probabilities must be (env, expert), got shape {probs.shape}")
    return probs


def route_counts(routes: np.ndarray, num_experts: int) -> np.ndarray:
    """Number of environments routed to each of ``num_experts`` experts (zeros included)."""
    routes = np.asarray(routes)
    if routes.ndim != 1 or np.any(routes < 0) or np.any(routes >= num_experts):
        raise ValueError(f"routes must be a 1-D array of expert indices in [0, {num_experts})")
    return np.bincount(routes.astype(int), minlength=num_experts)


def plot_gate_heatmap_histogram(
    probs: np.ndarray,
    routes: np.ndarray,
    title: str = "",
    families: Sequence[str] | None = None,
    family_names: Mapping[str, str] | None = None,
) -> Figure:
    """Fig. 5: top, gate probabilities (environments on x, experts on y) with a colour bar;
    bottom, a bar chart of the number of environments routed to each expert.

    ``probs``: (env, expert); ``routes``: (env,) expert index per environment. All experts
    appear in the bar chart, unused ones with height 0. With ``families`` (the family of each
    environment), the environments are grouped by family and each family is named above the
    heatmap (``family_names``: stored value -> display name,
    :func:`mixer.plotting.labels.mark_families`).
    Axes: heatmap, histogram, colour bar.
    """
    probs = _check_probs(probs)
    num_envs, num_experts = probs.shape
    if len(routes) != num_envs:
        raise ValueError(f"routes has {len(routes)} entries for {num_envs} environments")
    if families is not None and len(families) != num_envs:
        raise ValueError(f"families has {len(families)} entries for {num_envs} environments")
    fig = Figure(figsize=(max(6.0, 0.05 * num_envs + 3), 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, height_ratios=[1.4, 1.0])
    order, blocks = family_order(list(families) if families is not None else ["all"] * num_envs)
    image = top.imshow(
        probs[order].T, aspect="auto", cmap=_CMAP, vmin=0, vmax=1, interpolation="nearest"
    )
    top.set_yticks(range(num_experts))
    top.set_ylabel("expert")
    if families is None:
        top.set_xlabel("environment")
    else:  # family names above the heatmap, away from the bar chart below it
        mark_families(top, blocks, family_names or {}, axis="x")
        top.xaxis.tick_top()
        top.xaxis.set_label_position("top")
        top.set_xlabel("environment (grouped by family)")
    fig.colorbar(image, ax=top, label="gate probability")
    bottom.bar(range(num_experts), route_counts(routes, num_experts), color="C0")
    bottom.set_xticks(range(num_experts))
    bottom.set_xlabel("expert")
    bottom.set_ylabel("environments routed")
    fig.suptitle(title)
    return fig


def plot_gate_heatmaps(panels: Mapping[str, np.ndarray], title: str = "") -> Figure:
    """Fig. 9: one gate heatmap per dataset, side by side, with one shared colour bar.

    ``panels`` maps a dataset label ("LV") to its (env, expert) gate probabilities;
    environments run down the rows and experts along the columns (as in Fig. 8).
    """
    if not panels:
        raise ValueError("panels is empty: give at least one dataset's gate probabilities")
    fig = Figure(figsize=(2.6 * len(panels) + 1.0, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    images = []
    for ax, (label, probs) in zip(axes, panels.items(), strict=True):
        probs = _check_probs(probs)
        image = ax.imshow(probs, aspect="auto", cmap=_CMAP, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks(range(probs.shape[1]))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("expert")
        ax.set_ylabel("environment")
        ax.set_title(label)
        images.append(image)
    fig.colorbar(images[0], ax=list(axes), label="gate probability")
    fig.suptitle(title)
    return fig
