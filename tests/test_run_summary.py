"""A run's metrics.json fields and the metrics added to its MLflow run (mixer/run_summary.py)."""

import pytest

from mixer.run_summary import run_metrics, tracked_metrics

TRAIN = {"best_step": 7, "train_seconds": 12.5, "run": {"backbone": "geps"}, "git_commit": "abc"}
TEST = {
    "rel_mse": 0.1,
    "mse": 0.01,
    "tprmse": 50.0,
    "per_family_rel_mse": {"a": 0.1},
    "finite": True,
}
ADAPT = {
    "rel_mse": 0.2,
    "mse": 0.02,
    "tprmse": 25.0,
    "per_family_rel_mse": {"a": 0.2},
    "finite": False,
    "adapt_seconds": 3.0,
}
ROUTING = {"purity": 1.0, "ari": 0.5, "experts_used": 2}


def test_run_metrics_keeps_the_training_summary_and_names_each_split():
    metrics = run_metrics(TRAIN, TEST, ADAPT, ROUTING)
    assert {k: metrics[k] for k in TRAIN} == TRAIN  # provenance and identity kept
    assert (metrics["test_rel_mse"], metrics["adapt_rel_mse"]) == (0.1, 0.2)
    assert (metrics["test_tprmse"], metrics["adapt_tprmse"]) == (50.0, 25.0)
    assert (metrics["routing_purity"], metrics["routing_ari"], metrics["experts_used"]) == (
        1.0,
        0.5,
        2,
    )
    assert metrics["adapt_per_family_rel_mse"] == {"a": 0.2}


def test_run_metrics_names_the_missing_result_field():
    with pytest.raises(KeyError, match="tprmse"):
        run_metrics(TRAIN, {k: v for k, v in TEST.items() if k != "tprmse"}, ADAPT, ROUTING)


def test_tracked_metrics_use_the_ui_names_and_tag_finiteness():
    metrics, tags = tracked_metrics(TEST, ADAPT, ROUTING)
    assert metrics["test/rel_mse"] == 0.1 and metrics["adapt/rel_mse"] == 0.2
    assert metrics["adapt/seconds"] == 3.0 and metrics["routing/experts_used"] == 2
    assert tags == {"test/finite": True, "adapt/finite": False}
