"""Fig. 6 and Fig. 7 of the downstream context analysis."""

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from mixer.plotting import Fig6Panel, Fig7Panel, plot_fig6, plot_fig7


def contexts(rng, labels, d):
    codes = np.unique(labels, return_inverse=True)[1]
    return 3.0 * np.eye(d)[codes % d] + rng.normal(size=(len(labels), d)) * 0.3


def test_fig6_has_three_rows_per_model_with_scores_and_count_table(tmp_path):
    backend = matplotlib.get_backend()
    rng = np.random.default_rng(0)
    classes = np.repeat(list("ABCDEF"), 10)
    codes = np.unique(classes, return_inverse=True)[1]
    split = np.zeros((6, 3), int)  # {A, C, E} -> expert 2, {B, D, F} -> expert 0
    split[[0, 2, 4], 2] = split[[1, 3, 5], 0] = 10
    panels = [
        Fig6Panel(
            "MixER-1",
            contexts(rng, classes, 10),
            classes,
            codes,
            list("ABCDEF"),
            np.full((6, 1), 10),
            {"ARI routing": 0.0, "ARI K-means": 0.42},
        ),
        Fig6Panel(
            "MixER-3",
            contexts(rng, classes, 1),
            classes,
            codes[::-1].copy(),
            list("ABCDEF"),
            split,
            {"ARI routing": 1.0, "ARI K-means": 0.87},
        ),
    ]
    fig = plot_fig6(panels, title="SCCTS", row_labels={"A": "A normal"})
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes]
    assert "MixER-1" in titles[0] and "0.42" in titles[0]
    assert "MixER-3" in titles[1] and "0.87" in titles[1] and "1.00" in titles[1]
    assert "K-means" in titles[2] and "MixER-1" in titles[2]
    assert "expert" in titles[5] and "MixER-3" in titles[5]
    assert len(fig.axes[0].collections) == 6  # one scatter per class
    heat = fig.axes[5]  # the bottom row: one annotation per cell, the counts as text
    assert sorted(t.get_text() for t in heat.texts) == sorted(map(str, split.ravel()))
    assert [t.get_text() for t in heat.get_yticklabels()][:2] == ["A normal", "B"]
    with pytest.raises(ValueError, match="class_expert_counts"):
        Fig6Panel("bad", panels[0].contexts, classes, codes, list("ABC"), split)
    fig.savefig(tmp_path / "fig6.png")
    assert (tmp_path / "fig6.png").stat().st_size > 0
    assert matplotlib.get_backend() == backend


def test_fig7_has_one_panel_per_model_with_accuracy(tmp_path):
    rng = np.random.default_rng(1)
    names = {1: "seizure", 0: "healthy"}
    train_y, test_y = np.repeat([0, 1], 20), np.repeat([1, 0], 7)
    panels = [
        Fig7Panel(name, contexts(rng, train_y, 10), train_y, contexts(rng, test_y, 10), test_y, acc)
        for name, acc in (("MixER-1", 0.925), ("MixER-2", 0.6125))
    ]
    fig = plot_fig7(panels, names)
    assert len(fig.axes) == 2
    assert "MixER-1" in fig.axes[0].get_title() and "0.925" in fig.axes[0].get_title()
    assert "CV accuracy" in fig.axes[0].get_title()
    assert "0.613" in fig.axes[1].get_title() or "0.612" in fig.axes[1].get_title()
    assert len(fig.axes[0].collections) == 4  # 2 classes x (train, held-out)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "seizure (train)" in legend and "healthy (held-out)" in legend
    fig.savefig(tmp_path / "fig7.png")
    assert (tmp_path / "fig7.png").stat().st_size > 0


def test_fig7_rejects_labels_without_a_name():
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 5)
    panel = Fig7Panel("m", contexts(rng, y, 3), y, contexts(rng, y, 3), y + 1, 0.5)
    with pytest.raises(ValueError, match="label_names"):
        plot_fig7([panel], {0: "a", 1: "b"})
