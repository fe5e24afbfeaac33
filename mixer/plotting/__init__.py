"""Figures built from stored datasets and results (matplotlib, Agg canvas, never ``show``)."""

from mixer.plotting.data import plot_trajectory_dataset

__all__ = ["plot_trajectory_dataset"]
