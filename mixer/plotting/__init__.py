"""Figures built from stored datasets and results (matplotlib, Agg canvas, never ``show``)."""

from mixer.plotting.data import plot_trajectory_dataset
from mixer.plotting.downstream import Fig6Panel, Fig7Panel, plot_fig6, plot_fig7
from mixer.plotting.gating import plot_gate_heatmap_histogram, plot_gate_heatmaps
from mixer.plotting.trajectories import first_test_trajectory, plot_family_trajectories

__all__ = [
    "plot_trajectory_dataset",
    "plot_gate_heatmap_histogram",
    "plot_gate_heatmaps",
    "first_test_trajectory",
    "plot_family_trajectories",
    "Fig6Panel",
    "Fig7Panel",
    "plot_fig6",
    "plot_fig7",
]
