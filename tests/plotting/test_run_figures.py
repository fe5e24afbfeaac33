"""Fig. 2, Fig. 8 and the family labels of the figures (issue 15, item 5)."""

import itertools

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mixer.plotting.gating import plot_gate_heatmap_histogram
from mixer.plotting.labels import family_label, family_labels, family_names, family_order
from mixer.plotting.runs import pick_gate_steps, plot_fig2, plot_fig8


@pytest.mark.parametrize(
    ("steps", "moments", "shown"),
    [
        ([0, 3], [0, 1, 2, 3], [0, 3]),  # the "step 0, step 0, step 3, step 3"
        ([0, 2, 3], [0, 1, 2, 3], [0, 2, 3]),
        (list(range(0, 251, 25)), [0, 25, 125, 250], [0, 25, 125, 250]),
        ([0, 10, 20, 30, 40], [0, 1, 2, 40], [0, 10, 20, 40]),  # crowded moments spread out
        ([5, 0, 10], [10, 0], [0, 10]),  # unsorted steps and moments
    ],
)
def test_pick_gate_steps_examples(steps, moments, shown):
    assert [steps[i] for i in pick_gate_steps(steps, moments)] == shown


def test_pick_gate_steps_never_repeats_a_step():
    rng = np.random.default_rng(0)
    for _ in range(200):
        steps = np.sort(rng.choice(300, size=rng.integers(1, 12), replace=False))
        moments = rng.integers(0, 300, size=rng.integers(1, 8)).tolist()
        picked = steps[pick_gate_steps(steps, moments)]
        assert len(set(picked.tolist())) == len(picked) == min(len(steps), len(moments))
        assert np.all(np.diff(picked) > 0)
        if len(steps) > len(moments):  # the step nearest the first moment is always shown
            assert np.abs(steps - min(moments)).min() in np.abs(picked - min(moments))


def _history(steps, families, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(2), size=(len(steps), len(families)))
    return xr.Dataset(
        {"gate_probs": (("gate_step", "env", "expert"), probs)},
        coords={"gate_step": np.asarray(steps), "family": ("env", np.asarray(families))},
    )


def test_fig8_distinct_steps_families_grouped_and_named_with_a_colour_bar():
    families = ["25", "35", "25", "35", "25"]
    histories = {"naive": _history([0, 3], families, 1), "mixer": _history([0, 3], families, 2)}
    fig = plot_fig8(histories, [0, 1, 2, 3], "Fig. 8", {"25": "25 damped oscillator"})
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(panels) == 4  # 2 histories x 2 recorded steps (not 4 moments with repeats)
    titles = [ax.get_title() for ax in panels]
    assert titles == ["naive\nstep 0", "naive\nstep 3", "mixer\nstep 0", "mixer\nstep 3"]
    order = [0, 2, 4, 1, 3]  # family 25 first, then 35
    np.testing.assert_allclose(
        panels[1].images[0].get_array(), histories["naive"]["gate_probs"].values[1][order]
    )
    ticks = [t.get_text() for t in panels[0].get_yticklabels()]
    assert ticks == ["25 damped oscillator", "35"]
    np.testing.assert_allclose(panels[0].get_yticks(), [1.0, 3.5])
    separators = [line.get_ydata()[0] for line in panels[0].lines]
    assert separators == [2.5]
    colorbars = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]
    assert len(colorbars) == 1 and colorbars[0].get_ylabel() == "gate probability"


def test_fig8_row_with_fewer_recorded_steps_hides_its_spare_panels():
    fam = ["a", "b"]
    fig = plot_fig8(
        {"one": _history([0, 1, 2], fam, 3), "two": _history([0], fam, 4)}, [0, 1, 2], ""
    )
    visible = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.images]
    assert visible == ["one\nstep 0", "one\nstep 1", "one\nstep 2", "two\nstep 0"]


def test_fig2_plots_relative_mse_and_says_so():
    runs = pd.DataFrame(
        [
            {"backbone": b, "variant": v, "seed": 0, "test_rel_mse": value}
            for (b, v), value in zip(
                itertools.product(["ncf", "coda"], ["mixer1", "mixer2"]),
                [0.1, 0.2, 0.3, 0.4],
                strict=True,
            )
        ]
    )
    curves = runs.assign(step=0, val_rel_mse=runs["test_rel_mse"])
    fig = plot_fig2(runs, curves, "")
    top = fig.axes[0]
    assert top.get_ylabel() == "test relative MSE (Eq. 9)"
    assert "L2" not in " ".join(ax.get_ylabel() for ax in fig.axes)
    heights = sorted(p.get_height() for p in top.patches if p.get_height() > 0)
    np.testing.assert_allclose(heights, [0.1, 0.2])
    assert [ax.get_title() for ax in fig.axes[:2]] == ["NCF", "CoDA"]


def test_fig5_groups_environments_by_family_on_the_x_axis():
    probs = np.random.default_rng(5).dirichlet(np.ones(3), size=6)
    families = ["28", "24", "28", "24", "28", "24"]
    fig = plot_gate_heatmap_histogram(
        probs, probs.argmax(1), "", families, family_names("odebench10b")
    )
    heat = fig.axes[0]
    np.testing.assert_allclose(heat.images[0].get_array(), probs[[0, 2, 4, 1, 3, 5]].T)
    labels = [t.get_text() for t in heat.get_xticklabels()]
    assert labels == ["28 pendulum, no friction", "24 harmonic oscillator, no damping"]
    assert heat.get_xlabel() == "environment (grouped by family)"


def test_family_names_come_from_the_data_modules():
    assert family_label("odebench2", "25") == "25 harmonic oscillator, damped"
    assert family_label("odebench10a", 40) == "40 Duffing (weakly nonlinear)"
    assert family_labels("sccts", ["A", "F"]) == ["A normal", "F downward shift"]
    assert family_label("lv", "lv") == "lv"  # already a name
    assert set(family_names("odebench10b")) == {
        "24",
        "25",
        "28",
        "32",
        "34",
        "35",
        "37",
        "38",
        "39",
        "40",
    }


def test_family_order_groups_by_first_appearance():
    order, blocks = family_order(["b", "a", "b", "c", "a"])
    assert order.tolist() == [0, 2, 1, 4, 3]
    assert blocks == [("b", 0, 2), ("a", 2, 4), ("c", 4, 5)]
