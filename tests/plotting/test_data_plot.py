"""The dataset overview figure."""

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mixer.data.layout import trajectory_dataset
from mixer.plotting import plot_trajectory_dataset
from mixer.plotting.data import pick_trajectories


def dataset(n_fam, envs_per_fam, n_state, n_traj=2):
    n_env = n_fam * envs_per_fam
    x = np.random.default_rng(0).normal(size=(n_env, n_traj, 7, n_state))
    t = np.broadcast_to(np.arange(7.0), (n_env, 7))
    fam = np.repeat(np.arange(n_fam), envs_per_fam)
    attrs = {"dataset": "demo", "split": "train"}
    return trajectory_dataset(x, t, [f"f{k}" for k in fam], fam, {}, attrs)


def test_two_d_data_gets_time_series_and_phase_portrait(tmp_path):
    backend = matplotlib.get_backend()
    fig = plot_trajectory_dataset(dataset(3, 4, 2), n_per_family=3)
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    assert len(fig.axes) == 6
    series, phase = fig.axes[0], fig.axes[1]
    assert len(series.lines) == 3 * 2  # 3 trajectories x 2 states
    assert len(phase.lines) == 3 * 2  # 3 orbits + 3 start markers
    assert "f0" in series.get_title() and "phase" in phase.get_title()
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0
    assert matplotlib.get_backend() == backend  # global state untouched


def test_one_d_data_has_one_column_and_caps_the_count():
    fig = plot_trajectory_dataset(dataset(2, 1, 1, n_traj=2), n_per_family=5)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 2  # only 1 env x 2 trajectories exist


def test_picks_spread_over_environments():
    ds = dataset(1, 9, 2)
    assert pick_trajectories(ds, 0, 3) == [(0, 0), (4, 0), (8, 0)]
    many = pick_trajectories(ds, 0, 11)  # every env's first trajectory, then second ones
    assert many == [(e, 0) for e in range(9)] + [(0, 1), (1, 1)]
