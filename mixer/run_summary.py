"""One run's summary after training: the fields of ``metrics.json`` (what tables, figures and
the claims table read) and the metrics added to the run's MLflow run, from the training summary
(``train.json``) and the test, adaptation and routing results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["run_metrics", "tracked_metrics"]


def run_metrics(
    train: Mapping[str, Any],
    test: Mapping[str, Any],
    adapt: Mapping[str, Any],
    routing: Mapping[str, Any],
) -> dict[str, Any]:
    """The content of a run's ``metrics.json``: every field of the training summary (with its
    provenance and run identity) and the test (TRAIN), adaptation (ADAPT) and routing metrics."""
    return {
        **train,
        "test_rel_mse": test["rel_mse"],
        "test_mse": test["mse"],
        "test_tprmse": test["tprmse"],
        "adapt_rel_mse": adapt["rel_mse"],
        "adapt_mse": adapt["mse"],
        "adapt_tprmse": adapt["tprmse"],
        "routing_purity": routing["purity"],
        "routing_ari": routing["ari"],
        "experts_used": routing["experts_used"],
        "test_per_family_rel_mse": test["per_family_rel_mse"],
        "adapt_per_family_rel_mse": adapt["per_family_rel_mse"],
    }


def tracked_metrics(
    test: Mapping[str, Any], adapt: Mapping[str, Any], routing: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metrics and tags added to the training's MLflow run once the run is evaluated
    (names as the UI shows them, e.g. ``test/rel_mse``)."""
    metrics = {
        "test/rel_mse": test["rel_mse"],
        "test/mse": test["mse"],
        "test/tprmse": test["tprmse"],
        "adapt/rel_mse": adapt["rel_mse"],
        "adapt/mse": adapt["mse"],
        "adapt/tprmse": adapt["tprmse"],
        "adapt/seconds": adapt["adapt_seconds"],
        "routing/purity": routing["purity"],
        "routing/ari": routing["ari"],
        "routing/experts_used": routing["experts_used"],
    }
    return metrics, {"test/finite": test["finite"], "adapt/finite": adapt["finite"]}
