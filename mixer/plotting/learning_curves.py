"""Learning curves of an experiment: validation score against outer step and wall time.

Every run contributes its validation score (``val_rel_mse`` of the history: the relative MSE,
Eq. 9, or for teacher-forced backbones the teacher-forced MSE, Eq. 7) at the outer steps where
it was computed, and the wall-clock seconds of training at those steps. The seconds come from
the history's ``wall_seconds`` per outer step when it stores them; otherwise from the progress
lines of the run's ``train.log`` (:func:`progress_seconds`: logged at a steady cadence, about
every 5 % of the run, and at the first and last step), linear in between. The seconds include
the compilation of the first step and the validation passes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, cast

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from mixer.backbones.registry import BACKBONES
from mixer.tables import backbone_label, variant_label

__all__ = [
    "WALL_VARIABLE",
    "FROM_HISTORY",
    "FROM_LOG",
    "progress_seconds",
    "seconds_at",
    "run_curve",
    "validation_label",
    "plot_learning_curves",
    "sources_note",
]

WALL_VARIABLE = "wall_seconds"
"""The history variable with the seconds of training at the end of every outer step."""

FROM_HISTORY = "per-step seconds stored in the history"
FROM_LOG = "train.log progress lines (about every 5 % of the outer steps), linear in between"

_PROGRESS = re.compile(r"outer step (\d+)/\d+ .*elapsed=([0-9.]+)s")
_RESUMED = re.compile(r"resumed from .* at outer step (\d+) \(([0-9.]+) s of training before\)")
LineStyle = Literal["-", "--", ":", "-."]
_STYLES: tuple[LineStyle, ...] = ("-", "--", ":", "-.")


def progress_seconds(log_text: str) -> dict[int, float]:
    """Seconds of training at the end of the outer steps a ``train.log`` reports.

    Reads the progress lines ("outer step n/N ... elapsed=Xs", n counted from 1; the returned
    steps from 0). A resumed attempt ("resumed from ... at outer step s (T s of training
    before)") adds T to its own elapsed times and replaces what earlier attempts logged from
    step s on; an attempt that starts afresh replaces them from its first step.
    """
    seconds: dict[int, float] = {}
    offset, last = 0.0, -1
    for line in log_text.splitlines():
        resumed = _RESUMED.search(line)
        if resumed:
            start, offset, last = int(resumed[1]), float(resumed[2]), -1
            seconds = {k: v for k, v in seconds.items() if k < start}
            continue
        progress = _PROGRESS.search(line)
        if not progress:
            continue
        step = int(progress[1]) - 1
        if step <= last:  # a new attempt from the start (nothing to resume from)
            offset = 0.0
            seconds = {k: v for k, v in seconds.items() if k < step}
        seconds[step], last = offset + float(progress[2]), step
    return seconds


def seconds_at(steps: np.ndarray, known: Mapping[int, float]) -> np.ndarray:
    """Seconds at ``steps``, linear between the ``known`` (step -> seconds) points and held
    constant beyond them; NaN everywhere when nothing is known."""
    if not known:
        return np.full(len(steps), np.nan)
    xs = np.array(sorted(known), dtype=float)
    return np.interp(np.asarray(steps, float), xs, [known[int(x)] for x in xs])


def run_curve(history: xr.Dataset, log_text: str) -> tuple[pd.DataFrame, str]:
    """One run's validated steps: columns step, value, seconds, best (the selected state, the
    history's ``best_step``) and metric (the history's ``selection_metric``, empty when it
    does not record one), and where the seconds come from (:data:`FROM_HISTORY` or
    :data:`FROM_LOG`)."""
    steps = history["step"].values
    value = history["val_rel_mse"].values
    keep = np.isfinite(value)
    stored = history[WALL_VARIABLE].values.astype(float) if WALL_VARIABLE in history else None
    if stored is not None and np.isfinite(stored[keep]).all():
        seconds, source = stored, FROM_HISTORY
    else:  # a history without per-step wall times (or resumed from an older checkpoint)
        seconds, source = seconds_at(steps, progress_seconds(log_text)), FROM_LOG
    frame = pd.DataFrame({"step": steps[keep], "value": value[keep], "seconds": seconds[keep]})
    best = history.attrs.get("best_step", -1)
    metric = str(history.attrs.get("selection_metric", ""))
    return frame.assign(best=frame["step"] == int(best), metric=metric), source


_METRIC_LABELS = {
    "teacher_forced_mse": "validation teacher-forced MSE (Eq. 7)",
    "rel_mse": "validation relative MSE (Eq. 9)",
    "mse": "validation MSE (Table 4's)",
}


def validation_label(backbone: str, metric: str = "") -> str:
    """The axis label of a backbone's validation score: its model-selection ``metric``
    (``mixer.train_validation.validation_metric``), or when that is not given the backbone's
    default (teacher-forced MSE or relative MSE)."""
    if metric:
        return _METRIC_LABELS[metric]
    if backbone in BACKBONES and BACKBONES[backbone].teacher_forced:
        return _METRIC_LABELS["teacher_forced_mse"]
    return _METRIC_LABELS["rel_mse"]


def _ordered(values: pd.Series) -> list:
    return list(dict.fromkeys(values))


def _tick_label(value: float, digits: int) -> str:
    if 1e-4 <= value < 1e6:
        return np.format_float_positional(value, precision=digits, fractional=False, trim="-")
    return f"{value:.{digits}g}"


def _log_axis(ax, values: pd.Series) -> None:
    """Log scale with plain numbers; within one decade the intermediate ticks are labelled too,
    with enough digits to tell them apart."""
    ax.set_yscale("log")
    low, high = float(values.min()), float(values.max())
    digits = int(np.clip(2 + np.ceil(np.log10(high / max(high - low, 1e-12 * high))), 3, 6))
    plain = FuncFormatter(lambda v, _: _tick_label(v, digits))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain if high < 10 * low else NullFormatter())


def _draw(
    ax, runs: pd.DataFrame, x: str, colors: Mapping[str, str], styles: Mapping[int, LineStyle]
) -> None:
    for key, group in runs.groupby(["variant", "seed"], sort=False):
        variant, seed = cast(tuple[str, int], key)
        run = group.sort_values("step")
        ax.plot(
            run[x],
            run["value"],
            styles[seed],
            color=colors[variant],
            marker="o",
            markersize=2.5,
            linewidth=1.2,
        )
        best = run[run["best"]]
        ax.plot(
            best[x],
            best["value"],
            "*",
            color=colors[variant],
            markersize=10,
            markeredgecolor="black",
            markeredgewidth=0.6,
        )
    if (runs["value"] > 0).any():
        _log_axis(ax, runs["value"][runs["value"] > 0])
    right = float(np.nanmax(runs[x])) if len(runs) else 0.0
    if right > 0:  # from the start of training: the first point shows compilation too
        ax.set_xlim(0, 1.05 * right)
    ax.grid(True, which="major", alpha=0.3)


def _legend(
    fig: Figure, colors: Mapping[str, str], styles: Mapping[int, LineStyle], top: float
) -> None:
    handles = [Line2D([], [], color=c, label=variant_label(v)) for v, c in colors.items()]
    if len(styles) > 1:
        handles += [
            Line2D([], [], color="grey", linestyle=s, label=f"seed {seed}")
            for seed, s in styles.items()
        ]
    handles.append(
        Line2D(
            [],
            [],
            linestyle="",
            marker="*",
            color="grey",
            markersize=10,
            markeredgecolor="black",
            label="selected state (best validation)",
        )
    )
    fig.legend(
        handles=handles,
        loc="upper center",
        ncol=len(handles),
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, top),
    )


def plot_learning_curves(curves: pd.DataFrame, title: str, note: str = "") -> Figure:
    """One row per backbone: validation score against outer step (left) and against wall
    time (right), log scale, one line per variant (colour) and seed (line style), the
    selected state starred.

    ``curves``: columns backbone, variant, seed, step, value, seconds and best, optionally
    metric (see :func:`run_curve`).
    """
    backbones = _ordered(curves["backbone"])
    palette = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
    colors = {v: palette[i % len(palette)] for i, v in enumerate(_ordered(curves["variant"]))}
    styles = {s: _STYLES[i % len(_STYLES)] for i, s in enumerate(sorted(curves["seed"].unique()))}
    height = 2.8 * len(backbones) + 1.3
    fig = Figure(figsize=(10, height))
    axes = fig.subplots(len(backbones), 2, squeeze=False)
    for row, backbone in zip(axes, backbones, strict=True):
        runs = curves[curves["backbone"] == backbone]
        for ax, x, xlabel in (
            (row[0], "step", "outer step"),
            (row[1], "seconds", "wall time of training (s)"),
        ):
            _draw(ax, runs, x, colors, styles)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(validation_label(backbone, _metric(runs)), fontsize=9)
        row[0].xaxis.set_major_locator(MaxNLocator(integer=True))
        row[0].set_title(backbone_label(backbone), loc="left", fontsize=10)
    fig.suptitle(title)
    _legend(fig, colors, styles, top=1 - 0.38 / height)  # title and legend: the top 0.7 inch
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="dimgray", va="bottom")
    fig.tight_layout(rect=(0, 0.25 / height if note else 0, 1, 1 - 0.7 / height))
    return fig


def _metric(runs: pd.DataFrame) -> str:
    """The selection metric of a backbone's runs ("" when unrecorded); runs that disagree are
    an error (one axis, one metric)."""
    found = set(runs["metric"]) - {""} if "metric" in runs else set()
    if len(found) > 1:
        raise ValueError(f"runs of one backbone select on different metrics: {sorted(found)}")
    return found.pop() if found else ""


def sources_note(sources: Sequence[str]) -> str:
    """The figure's note on where the wall times come from."""
    found = list(dict.fromkeys(sources))
    return "Wall time: " + "; ".join(found) + ". It includes compilation and validation."
