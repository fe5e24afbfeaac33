"""Figures of trained runs (mixer/plotting/runs.py): what each panel draws. Fig. 8's layout and
the gate-step choice are checked in test_run_figures.py."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mixer.history import History
from mixer.plotting.runs import plot_fig2, plot_fig8, plot_training_curves


def _history(val):
    n = len(val)
    fields = {f.name: np.full(n, np.nan) for f in dataclasses.fields(History)}
    fields.update(
        step=np.arange(n),
        train_loss=np.geomspace(1.0, 1e-3, n),
        val_rel_mse=np.asarray(val, float),
        gate_step=np.array([0]),
        gate_probs=np.full((1, 2, 2), 0.5),
        routed=np.zeros((1, 2), int),
    )
    return History(**fields)


def test_training_curves_draw_every_loss_and_only_the_computed_validation_scores():
    hist = _history([np.nan, 0.5, np.nan, 0.2, 0.1])
    fig = plot_training_curves(hist, title="lv geps MixER-3", val_label="teacher-forced MSE")
    (ax,) = fig.axes
    loss, val = ax.lines
    np.testing.assert_array_equal(loss.get_xdata(), hist.step)
    np.testing.assert_array_equal(loss.get_ydata(), hist.train_loss)
    np.testing.assert_array_equal(val.get_xdata(), [1, 3, 4])
    np.testing.assert_array_equal(val.get_ydata(), [0.5, 0.2, 0.1])
    assert ax.get_yscale() == "log" and ax.get_title() == "lv geps MixER-3"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["training loss (Eq. 7)", "teacher-forced MSE"]


def test_fig2_bars_are_the_mean_over_seeds_and_curves_the_mean_per_step():
    runs = pd.DataFrame(
        {
            "backbone": ["geps"] * 4,
            "variant": ["mixer1", "mixer1", "mixer3", "mixer3"],
            "seed": [0, 1, 0, 1],
            "test_rel_mse": [0.1, 0.3, 0.01, 0.03],
        }
    )
    curves = pd.DataFrame(
        {
            "backbone": ["geps"] * 4,
            "variant": ["mixer3"] * 4,
            "seed": [0, 1, 0, 1],
            "step": [0, 0, 5, 5],
            "val_rel_mse": [1.0, 3.0, 0.2, 0.4],
        }
    )
    fig = plot_fig2(runs, curves, "ODEBench-2")
    top, bottom = fig.axes[:2]
    heights = sorted(p.get_height() for p in top.patches if p.get_height() > 0)
    np.testing.assert_allclose(heights, [0.02, 0.2])
    (line,) = [line for line in bottom.lines if len(line.get_xdata()) == 2]
    np.testing.assert_allclose(line.get_xdata(), [0, 5])
    np.testing.assert_allclose(line.get_ydata(), [2.0, 0.3])
    assert top.get_title() == "GEPS" and fig.get_suptitle() == "ODEBench-2"


def test_fig8_without_histories_says_so():
    with pytest.raises(ValueError, match="histories is empty"):
        plot_fig8({}, [0], "")
