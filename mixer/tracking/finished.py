"""Logging into an existing (e.g. finished) MLflow run: what the evaluation jobs add to a
training run."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mixer.tracking.base import flatten_dict
from mixer.tracking.store import with_retries

__all__ = ["log_to_run"]


def log_to_run(
    reference: Mapping[str, str],
    metrics: Mapping[str, Any],
    *,
    tags: Mapping[str, Any] | None = None,
    artifacts: Iterable[str | Path] = (),
) -> list[str]:
    """Add metrics (at step 0), tags and artifacts to an existing run, e.g. a finished training
    run, without changing its status.

    ``reference`` is a :meth:`Tracker.reference` (``mlflow_tracking_uri``, ``mlflow_run_id``);
    an empty one (nothing was tracked) logs nothing. Metrics that are None or not finite (an
    unknown value, e.g. of a diverged evaluation) are not logged: their names are returned.
    Writes are retried on database contention, so parallel jobs lose no update.
    """
    if not reference:
        return []
    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=reference["mlflow_tracking_uri"])
    run_id = reference["mlflow_run_id"]
    now = int(time.time() * 1000)
    values = flatten_dict(metrics)
    unknown = sorted(k for k, v in values.items() if v is None or not math.isfinite(float(v)))
    batch = functools.partial(
        client.log_batch,
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in values.items() if k not in unknown],
        tags=[RunTag(k, str(v)) for k, v in flatten_dict(tags or {}).items()],
    )
    with_retries(batch, "logging to a finished run")
    for path in artifacts:
        upload = functools.partial(client.log_artifact, run_id, str(path))
        with_retries(upload, "logging an artifact")
    return unknown
