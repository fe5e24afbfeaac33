"""Gate figures (Figs. 5, 9) and per-family trajectory figures (Figs. 10, 11)."""

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from mixer.plotting import (
    first_test_trajectory,
    plot_family_trajectories,
    plot_gate_heatmap_histogram,
    plot_gate_heatmaps,
)
from mixer.plotting.gating import route_counts


def gate(n_env: int, n_exp: int, seed: int = 0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(n_env, n_exp))
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_heatmap_histogram_bars_are_route_counts(tmp_path):
    backend = matplotlib.get_backend()
    probs = gate(12, 5)
    routes = np.array([0, 0, 0, 1, 1, 3, 3, 3, 3, 3, 0, 1])  # experts 2 and 4 unused
    fig = plot_gate_heatmap_histogram(probs, routes, title="Fig. 5")
    assert isinstance(fig.canvas, FigureCanvasAgg)
    assert len(fig.axes) == 3  # heatmap, histogram, colour bar
    heat, hist = fig.axes[0], fig.axes[1]
    np.testing.assert_allclose(heat.images[0].get_array(), probs.T)  # experts on y
    assert heat.get_xlabel() == "environment" and heat.get_ylabel() == "expert"
    heights = [p.get_height() for p in hist.patches]
    assert heights == [4, 3, 0, 5, 0]
    fig.savefig(tmp_path / "fig5.png")
    assert (tmp_path / "fig5.png").stat().st_size > 0
    assert matplotlib.get_backend() == backend


def test_route_counts_rejects_bad_routes():
    assert route_counts(np.array([2, 2]), 4).tolist() == [0, 0, 2, 0]
    with pytest.raises(ValueError):
        route_counts(np.array([0, 4]), 4)
    with pytest.raises(ValueError, match="routes has"):
        plot_gate_heatmap_histogram(gate(3, 2), np.array([0, 1]))


def test_heatmaps_one_panel_per_dataset(tmp_path):
    panels = {"LV": gate(9, 3, 1), "GO": gate(7, 3, 2), "SM": gate(5, 3, 3)}
    fig = plot_gate_heatmaps(panels, title="Fig. 9")
    assert len(fig.axes) == 4  # three heatmaps and one shared colour bar
    assert [ax.get_title() for ax in fig.axes[:3]] == ["LV", "GO", "SM"]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), panels["GO"])
    fig.savefig(tmp_path / "fig9.png")
    with pytest.raises(ValueError):
        plot_gate_heatmaps({})


def family_data(n_state: int = 2):
    rng = np.random.default_rng(0)
    fams = np.array(["b", "a", "b", "c", "a"])
    x = rng.normal(size=(5, 2, 20, n_state))
    t = np.broadcast_to(np.linspace(0, 1, 20), (5, 20))
    return x, x + 0.1, t, fams


def test_first_test_trajectory_picks_first_env_and_traj():
    x, pred, t, fams = family_data()
    ts, trues, preds, names = first_test_trajectory(x, pred, t, fams, ["a", "b", "c"])
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(trues[0], x[1, 0])
    np.testing.assert_array_equal(trues[1], x[0, 0])
    np.testing.assert_array_equal(preds[2], pred[3, 0])
    np.testing.assert_array_equal(ts[2], t[3])
    with pytest.raises(ValueError, match="'z'"):
        first_test_trajectory(x, pred, t, fams, ["z"])


def test_family_trajectories_rows_lines_and_non_finite(tmp_path):
    x, pred, t, fams = family_data()
    pred[1, 0, 5:, 0] = np.nan
    pred[1, 0, 10:, 1] = np.inf
    pred[0, 0, 15:, :] = 1e30  # diverging but finite
    fig = plot_family_trajectories(
        *first_test_trajectory(x, pred, t, fams, ["a", "b", "c"]), title="Fig. 10"
    )
    assert len(fig.axes) == 6  # 3 families x (time series, phase space)
    series, phase = fig.axes[0], fig.axes[1]
    assert len(series.lines) == 4 and len(phase.lines) == 2
    assert series.lines[0].get_linestyle() == "-" and series.lines[1].get_linestyle() == "--"
    for ax in fig.axes:
        assert np.all(np.isfinite(ax.get_ylim())) and abs(ax.get_ylim()[1]) < 1e3
    fig.savefig(tmp_path / "fig10.png")
    assert (tmp_path / "fig10.png").stat().st_size > 0


def test_family_trajectories_one_state_and_all_nan():
    x, pred, t, fams = family_data(n_state=1)
    pred[:] = np.nan
    fig = plot_family_trajectories(*first_test_trajectory(x, pred, t, fams, ["a", "c"]))
    assert len(fig.axes) == 2  # no phase column for a scalar state
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError):
        plot_family_trajectories([], [], [], [])
