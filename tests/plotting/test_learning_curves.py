"""Learning curves: wall time read from the training log, one run's curve, the figure."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from mixer.plotting.learning_curves import (
    FROM_HISTORY,
    FROM_LOG,
    WALL_VARIABLE,
    plot_learning_curves,
    progress_seconds,
    run_curve,
    seconds_at,
    validation_label,
)
from mixer.runlog import configure_logging
from mixer.train_progress import Progress


def progress_line(n, total, elapsed):
    return (
        f"07:14:08 INFO [go/cavia-mixer1-seed0] mixer: outer step {n}/{total} loss=4.008 "
        f"rel_mse=0.4279 elapsed={elapsed:.1f}s eta=?"
    )


def test_reads_the_lines_the_training_loop_writes(tmp_path, mixer_logger):
    """The format of the training loop's progress lines, through the job log's formatter."""
    log = configure_logging(tmp_path / "train.log", run="lv/geps-mixer3-seed0")
    progress = Progress(log, 0, 40)  # logs every 2nd step, the first and the last
    for step in range(40):
        progress(step, {"loss": 1.0 / (step + 1), "rel_mse": 0.5})
    seconds = progress_seconds((tmp_path / "train.log").read_text())
    assert sorted(seconds) == [0, *range(2, 40, 2), 39]
    values = [seconds[k] for k in sorted(seconds)]
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))


def test_a_resumed_attempt_adds_the_earlier_seconds_and_replaces_the_redone_steps():
    first = [progress_line(n, 8, 1.0 * n) for n in range(1, 7)]  # steps 0-5, then killed
    resumed = [
        "07:20:00 INFO [x] mixer: resumed from ckpt at outer step 4 (4.5 s of training before)"
    ] + [progress_line(n, 8, 0.5 * (n - 4)) for n in range(5, 9)]
    seconds = progress_seconds("\n".join(first + resumed))
    assert sorted(seconds) == list(range(8))
    assert seconds[3] == 4.0  # from the first attempt, before the checkpoint
    assert seconds[4] == 4.5 + 0.5 and seconds[7] == 4.5 + 2.0


def test_an_attempt_starting_afresh_replaces_the_earlier_one():
    text = "\n".join(
        [progress_line(n, 4, 10.0 * n) for n in (1, 2, 3)]
        + [progress_line(n, 4, 1.0 * n) for n in (1, 2, 3, 4)]
    )
    assert progress_seconds(text) == {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}


def test_seconds_between_logged_steps_are_linear():
    known = {0: 10.0, 10: 20.0, 20: 40.0}
    np.testing.assert_allclose(
        seconds_at(np.array([0, 5, 15, 20, 25]), known), [10.0, 15.0, 30.0, 40.0, 40.0]
    )
    assert np.isnan(seconds_at(np.array([1, 2]), {})).all()


def history(with_wall=False):
    steps = np.arange(6)
    value = np.array([np.nan, 0.5, np.nan, 0.2, np.nan, 0.3])
    data = {"val_rel_mse": ("step", value)}
    if with_wall:
        data[WALL_VARIABLE] = ("step", 100.0 + steps)
    return xr.Dataset(data, coords={"step": steps}, attrs={"best_step": 3})


def test_run_curve_keeps_validated_steps_and_marks_the_selected_one():
    log = "\n".join(progress_line(n, 6, 2.0 * n) for n in range(1, 7))
    curve, source = run_curve(history(), log)
    assert source == FROM_LOG
    assert list(curve["step"]) == [1, 3, 5] and list(curve["seconds"]) == [4.0, 8.0, 12.0]
    assert list(curve["best"]) == [False, True, False]
    stored, source = run_curve(history(with_wall=True), log)
    assert source == FROM_HISTORY and list(stored["seconds"]) == [101.0, 103.0, 105.0]
    unknown = history(with_wall=True)
    unknown[WALL_VARIABLE][:] = np.nan  # resumed from a checkpoint without wall times
    assert run_curve(unknown, log)[1] == FROM_LOG
    assert set(curve["metric"]) == {""}  # a history that does not record its metric
    recorded = history()
    recorded.attrs["selection_metric"] = "mse"
    assert set(run_curve(recorded, log)[0]["metric"]) == {"mse"}


def test_validation_label_names_the_selection_metric():
    assert "relative MSE" in validation_label("geps")
    assert "teacher-forced" in validation_label("plrnn")
    assert "Table 4" in validation_label("ncf", "mse")
    assert "relative MSE" in validation_label("ncf", "rel_mse")


def test_axis_label_follows_the_recorded_metric_and_refuses_a_mixture():
    frame = curves().assign(metric="mse")
    fig = plot_learning_curves(frame, "Learning curves: sm")
    assert "Table 4" in fig.axes[0].get_ylabel()
    frame.loc[frame.index[0], "metric"] = "rel_mse"
    with pytest.raises(ValueError, match="different metrics"):
        plot_learning_curves(frame, "Learning curves: sm")


def curves():
    rows = []
    for backbone in ("geps", "plrnn"):
        for variant in ("mixer1", "naive2", "mixer2"):
            for seed in (0, 1):
                for step in (1, 3, 5):
                    rows.append(
                        {
                            "backbone": backbone,
                            "variant": variant,
                            "seed": seed,
                            "step": step,
                            "value": 1.0 / step,
                            "seconds": 2.0 * step,
                            "best": step == 5,
                        }
                    )
    return pd.DataFrame(rows)


def test_figure_has_steps_and_wall_time_per_backbone_on_log_scales(tmp_path):
    fig = plot_learning_curves(curves(), "Learning curves: odebench2", "Wall time: log.")
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    left, right = fig.axes[0], fig.axes[1]
    assert left.get_xlabel() == "outer step" and "wall time" in right.get_xlabel()
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    # per run one curve and one star: 3 variants x 2 seeds
    assert len(left.lines) == 2 * 6
    np.testing.assert_allclose(right.lines[0].get_xdata(), [2.0, 6.0, 10.0])
    assert "teacher-forced" in fig.axes[2].get_ylabel()
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert {"MixER-1", "MixER-2†", "MixER-2", "seed 0", "seed 1"} <= set(labels)
    fig.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
