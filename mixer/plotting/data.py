"""Overview figure of a trajectory dataset: a few trajectories per family.

Figures are ``matplotlib.figure.Figure`` objects on an Agg canvas (no pyplot state, no
window); callers save them with ``fig.savefig``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mixer.plotting.labels import family_label

_LINESTYLES = ("-", "--", ":", "-.")


def _family_names(ds: xr.Dataset) -> list[tuple[int, str]]:
    """(family id, display name) of every family of ``ds`` (:func:`family_label`)."""
    ids = np.asarray(ds["family_id"].values)
    names = np.asarray(ds["family"].values).astype(str)
    dataset = str(ds.attrs.get("dataset", ""))
    return [
        (int(k), family_label(dataset, names[np.flatnonzero(ids == k)[0]])) for k in np.unique(ids)
    ]


def _state_legend(n_state: int) -> list[Line2D]:
    return [
        Line2D([], [], color="0.3", ls=_LINESTYLES[s % len(_LINESTYLES)], label=f"x{s}")
        for s in range(n_state)
    ]


def pick_trajectories(ds: xr.Dataset, family_id: int, n: int) -> list[tuple[int, int]]:
    """Up to ``n`` (env, traj) pairs of one family: the first trajectory of environments
    spread evenly over the family, then further trajectories of the same environments."""
    envs = np.flatnonzero(np.asarray(ds["family_id"].values) == family_id)
    n_traj = ds.sizes["traj"]
    spread = envs[np.unique(np.round(np.linspace(0, len(envs) - 1, min(n, len(envs)))).astype(int))]
    pairs = [(int(e), j) for j in range(n_traj) for e in spread]
    return pairs[:n]


def plot_trajectory_dataset(ds: xr.Dataset, n_per_family: int = 3) -> Figure:
    """Time series (all states) and, when the state has >= 2 dimensions, the phase portrait
    (state 0 against state 1) of ``n_per_family`` trajectories of every family.

    One row per family (titled with its name, :func:`mixer.plotting.labels.family_label`);
    one column (time series: colour = trajectory, line style = state dimension) or two (plus
    phase portrait).
    """
    if n_per_family < 1:
        raise ValueError(f"n_per_family must be >= 1, got {n_per_family}")
    families = _family_names(ds)
    n_state = ds.sizes["state"]
    n_cols = 2 if n_state >= 2 else 1
    fig = Figure(figsize=(4.5 * n_cols, 2.4 * len(families)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(families), n_cols, squeeze=False)
    x = ds["x"].transpose("env", "traj", "time", "state").values
    t = ds["t"].transpose("env", "time").values
    for row, (fid, name) in enumerate(families):
        for k, (e, j) in enumerate(pick_trajectories(ds, fid, n_per_family)):
            color = f"C{k % 10}"
            for s in range(n_state):
                axes[row, 0].plot(t[e], x[e, j, :, s], color=color, lw=1.0,
                                  ls=_LINESTYLES[s % len(_LINESTYLES)])  # fmt: skip
            if n_cols == 2:
                axes[row, 1].plot(x[e, j, :, 0], x[e, j, :, 1], color=color, lw=1.0)
                axes[row, 1].plot(x[e, j, 0, 0], x[e, j, 0, 1], "o", color=color, ms=3)
        axes[row, 0].set_title(f"{name}: time series", fontsize=9)
        axes[row, 0].set_xlabel("t")
        axes[row, 0].set_ylabel("state x")
        if n_cols == 2:
            axes[row, 1].set_title(f"{name}: phase portrait", fontsize=9)
            axes[row, 1].set_xlabel("x0")
            axes[row, 1].set_ylabel("x1")
    if n_state > 1:
        axes[0, 0].legend(handles=_state_legend(n_state), fontsize=7, ncols=min(n_state, 4))
    title = ds.attrs.get("dataset", "dataset")
    fig.suptitle(f"{title} ({ds.attrs.get('split', '')}): {n_per_family} trajectories per family")
    return fig
