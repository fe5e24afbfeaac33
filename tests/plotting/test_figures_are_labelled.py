"""Every figure of mixer.plotting, read as a reader of the paper (issue 15, item 5): each panel
says what its axes are, and no two panels of one figure show the same data.

The rules checked on every visible axes of every figure, built from small synthetic inputs:

- a panel needs a non-empty x label and y label. A heatmap is a panel like any other (its axes
  name what the rows and columns are, e.g. "expert", "environment (by family)"). An axis
  shared with another panel (``sharey=True`` grids) may be labelled once, on one of the panels
  sharing it.
- a colour bar needs its label (what the colour means); its other axis has none.
- two panels never hold the same plotted data: the data arrays of their lines, scatter
  collections, images and bars are compared, in drawing order.
- the tick labels of an axis never run into each other (their drawn boxes do not overlap).

``FIGURES`` must name every public ``plot_*`` function of the package, so a new figure function
fails here until it has a builder.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import mixer.plotting
from mixer.data.layout import trajectory_dataset
from mixer.history import History
from mixer.plotting import (
    Fig6Panel,
    Fig7Panel,
    first_test_trajectory,
    plot_family_trajectories,
    plot_fig6,
    plot_fig7,
    plot_gate_heatmap_histogram,
    plot_gate_heatmaps,
    plot_trajectory_dataset,
)
from mixer.plotting.runs import plot_fig2, plot_fig8, plot_training_curves


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _gate(n_env: int, n_exp: int, seed: int) -> np.ndarray:
    logits = _rng(seed).normal(size=(n_env, n_exp))
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def _dataset() -> xr.Dataset:
    x = _rng(1).normal(size=(6, 2, 9, 2))
    t = np.broadcast_to(np.linspace(0, 1, 9), (6, 9))
    fam = np.repeat([0, 1, 2], 2)
    return trajectory_dataset(
        x,
        t,
        [str(k) for k in (24, 25, 28) for _ in range(2)],
        fam,
        {},
        {"dataset": "odebench10b", "split": "train"},
    )


def _history(steps: int = 6) -> History:
    rng = _rng(2)
    loss = np.exp(-np.arange(steps) / 3) + rng.uniform(0, 0.01, steps)
    val = np.where(np.arange(steps) % 2 == 0, loss * 2, np.nan)
    gate = np.stack([_gate(4, 2, k) for k in range(2)])
    return History(
        np.arange(steps),
        loss,
        loss,
        loss,
        np.full(steps, 1e-3),
        val,
        np.zeros(steps, int),
        np.cumsum(np.full(steps, 0.5)),
        np.array([0, steps - 1]),
        gate,
        gate.argmax(-1),
    )


def _fig2() -> Figure:
    runs = pd.DataFrame(
        [
            {"backbone": b, "variant": v, "seed": s, "test_rel_mse": 0.1 * (k + 1) + 0.01 * s}
            for k, (b, v) in enumerate(itertools.product(["ncf", "coda"], ["mixer1", "mixer2"]))
            for s in (0, 1)
        ]
    )
    curves = pd.DataFrame(
        [
            {
                "backbone": b,
                "variant": v,
                "seed": s,
                "step": step,
                "val_rel_mse": (k + 1) * np.exp(-step / 4) + 0.01 * s,
            }
            for k, (b, v) in enumerate(itertools.product(["ncf", "coda"], ["mixer1", "mixer2"]))
            for s in (0, 1)
            for step in range(0, 8, 2)
        ]
    )
    return plot_fig2(runs, curves, "Fig. 2")


def _gate_history(seed: int, steps: list[int]) -> xr.Dataset:
    probs = np.stack([_gate(6, 2, seed * 10 + k) for k in range(len(steps))])
    return xr.Dataset(
        {"gate_probs": (("gate_step", "env", "expert"), probs)},
        coords={
            "gate_step": np.asarray(steps),
            "family": ("env", np.array(["25", "35", "25", "35", "25", "35"])),
        },
    )


def _fig8() -> Figure:
    # Two recorded steps for four requested moments: two panels per row, not four.
    histories = {
        "GEPS MixER-2†": _gate_history(1, [0, 3]),
        "GEPS MixER-2": _gate_history(2, [0, 3]),
    }
    return plot_fig8(histories, [0, 1, 2, 3], "Fig. 8", {"25": "25 damped", "35": "35 shear"})


def _fig6() -> Figure:
    rng = _rng(3)
    classes = np.repeat(list("ABCDEF"), 5)
    codes = np.unique(classes, return_inverse=True)[1]
    counts = np.zeros((6, 3), int)
    counts[np.arange(6), np.arange(6) % 3] = 5
    # K-means labels differ from the classes: the top and middle panels group the same points
    # differently (with a perfect K-means they would be the same picture, by design of Fig. 6).
    panels = [
        Fig6Panel(
            name,
            1e3 * rng.normal(size=(30, 4)),
            classes,
            (codes + shift) % 6,
            list("ABCDEF"),
            table,
            {"ARI routing": 0.5},
        )
        for name, shift, table in (("MixER-1", 1, np.full((6, 1), 5)), ("MixER-3", 2, counts))
    ]
    return plot_fig6(panels, "Fig. 6")


def _fig7() -> Figure:
    rng = _rng(4)
    y, held = np.repeat([0, 1], 6), np.repeat([0, 1], 3)
    panels = [
        Fig7Panel(name, rng.normal(size=(12, 3)), y, rng.normal(size=(6, 3)), held, 0.7)
        for name in ("MixER-1", "MixER-2")
    ]
    return plot_fig7(panels, {0: "healthy", 1: "seizure"}, "Fig. 7")


def _fig10() -> Figure:
    rng = _rng(5)
    x = rng.normal(size=(3, 1, 12, 2))
    t = np.broadcast_to(np.linspace(0, 2, 12), (3, 12))
    parts = first_test_trajectory(x, x + 0.1, t, np.array(["24", "25", "28"]), ["24", "28"])
    return plot_family_trajectories(*parts[:3], ["24 harmonic", "28 pendulum"], "Fig. 10")


def _learning_curves() -> Figure:
    from mixer.plotting.learning_curves import plot_learning_curves

    rows = [
        {
            "backbone": b,
            "variant": v,
            "seed": 0,
            "step": step,
            "value": (k + 1) * np.exp(-step / 5),
            "seconds": 1.5 * step + k,
            "best": step == 8,
        }
        for k, (b, v) in enumerate(itertools.product(["geps", "plrnn"], ["mixer1", "mixer2"]))
        for step in range(0, 10, 2)
    ]
    return plot_learning_curves(pd.DataFrame(rows), "learning curves")


FIGURES: dict[str, Callable[[], Figure]] = {
    "plot_trajectory_dataset": lambda: plot_trajectory_dataset(_dataset(), 2),
    "plot_training_curves": lambda: plot_training_curves(_history(), "run"),
    "plot_fig2": _fig2,
    "plot_fig8": _fig8,
    "plot_gate_heatmap_histogram": lambda: plot_gate_heatmap_histogram(
        _gate(8, 3, 6), _gate(8, 3, 6).argmax(1), "Fig. 5", ["24"] * 4 + ["25"] * 4
    ),
    "plot_gate_heatmaps": lambda: plot_gate_heatmaps(
        {"LV": _gate(5, 3, 7), "GO": _gate(4, 3, 8), "SM": _gate(6, 3, 9)}, "Fig. 9"
    ),
    "plot_family_trajectories": _fig10,
    "plot_fig6": _fig6,
    "plot_fig7": _fig7,
    "plot_learning_curves": _learning_curves,
}


def _figure_functions() -> set[str]:
    names = set()
    for info in pkgutil.iter_modules(mixer.plotting.__path__, "mixer.plotting."):
        module = importlib.import_module(info.name)
        names |= {
            name
            for name, obj in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("plot_") and obj.__module__ == module.__name__
        }
    return names


def _colorbar(ax: Axes) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def _labelled(ax: Axes, fig: Figure, which: str) -> bool:
    """``ax``'s x or y label, or that of a visible panel sharing that axis with it."""
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    panels = [other for other in group.get_siblings(ax) if other in fig.axes]
    get = "get_xlabel" if which == "x" else "get_ylabel"
    return any(getattr(p, get)().strip() and p.get_visible() for p in panels)


def _panels(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_visible() and not _colorbar(ax)]


def _data(ax: Axes) -> list[np.ndarray]:
    """The plotted data of a panel, in drawing order: line vertices, scatter offsets, image
    arrays and bar rectangles."""
    arrays = [np.asarray(line.get_xydata(), float) for line in ax.lines]
    arrays += [np.asarray(c.get_offsets(), float) for c in ax.collections]
    arrays += [np.ma.filled(np.asarray(im.get_array(), float), np.nan) for im in ax.images]
    bars = [p.get_bbox().bounds for p in ax.patches if isinstance(p, Rectangle)]
    if bars:
        arrays.append(np.asarray(bars, float))
    return arrays


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
        for x, y in zip(a, b, strict=True)
    )


def test_every_figure_function_has_a_builder_here():
    assert _figure_functions() == set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_panel_names_its_axes(name):
    fig = FIGURES[name]()
    fig.canvas.draw()
    panels = _panels(fig)
    assert panels, name
    for ax in panels:
        where = f"{name}, panel {ax.get_title()!r}"
        assert _labelled(ax, fig, "x"), f"{where}: no x label"
        assert _labelled(ax, fig, "y"), f"{where}: no y label"
    for ax in fig.axes:
        if _colorbar(ax):
            assert ax._colorbar.ax.get_ylabel() or ax._colorbar.ax.get_xlabel(), name


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_no_two_panels_show_the_same_data(name):
    fig = FIGURES[name]()
    data = [(ax.get_title(), _data(ax)) for ax in _panels(fig)]
    for (t1, d1), (t2, d2) in itertools.combinations(data, 2):
        assert d1 or d2, f"{name}: panels {t1!r} and {t2!r} are both empty"
        assert not _same(d1, d2), f"{name}: panels {t1!r} and {t2!r} show the same data"


def _overlapping(labels: list, renderer) -> list[tuple[str, str]]:
    boxes = [
        (t.get_text(), t.get_window_extent(renderer))
        for t in labels
        if t.get_visible() and t.get_text()
    ]
    return [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if box_a.x0 < box_b.x1 - 1
        and box_b.x0 < box_a.x1 - 1
        and box_a.y0 < box_b.y1 - 1
        and box_b.y0 < box_a.y1 - 1
    ]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_tick_labels_do_not_overlap(name):
    fig = FIGURES[name]()
    canvas = FigureCanvasAgg(fig)  # a renderer to measure the drawn text with
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in _panels(fig):
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            assert not _overlapping(labels, renderer), f"{name}, panel {ax.get_title()!r}"


def test_the_duplicate_check_catches_a_repeated_panel():
    """The checker itself: the same heatmap drawn twice is caught."""
    fig = Figure()
    a, b = fig.subplots(1, 2)
    probs = _gate(4, 2, 0)
    a.imshow(probs)
    b.imshow(probs)
    assert _same(_data(a), _data(b))
    b.images[0].set_data(probs[::-1])
    assert not _same(_data(a), _data(b))
