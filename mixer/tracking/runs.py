"""MLflow runs of the workflow's jobs: finding the run of an earlier attempt, and marking the
runs a killed job left RUNNING as KILLED."""

from __future__ import annotations

import functools
import logging

from mixer.tracking.store import with_retries

__all__ = ["find_run", "kill_stale_runs"]

_LOG = logging.getLogger(__name__)


def find_run(client, run_id: str, experiment_id: str):
    """The live run ``run_id`` of experiment ``experiment_id``, or None (unknown id, deleted
    run, another experiment)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None
    if run.info.lifecycle_stage == "deleted" or run.info.experiment_id != experiment_id:
        return None
    return run


def kill_stale_runs(client, experiment_id: str, run_name: str, keep: str) -> list[str]:
    """Mark KILLED every other RUNNING run named ``run_name`` (left by a killed job: one run
    name is one workflow job, never two at once). Returns their ids."""
    if "'" in run_name:
        raise ValueError(f"run name {run_name!r} must not contain a quote")
    query = f"attributes.run_name = '{run_name}' AND attributes.status = 'RUNNING'"
    runs = with_retries(
        lambda: client.search_runs([experiment_id], filter_string=query),
        "searching stale MLflow runs",
    )
    stale = [run.info.run_id for run in runs if run.info.run_id != keep]
    for run_id in stale:
        _LOG.warning(
            "MLflow run %s (%s) was left RUNNING by an interrupted job: marked KILLED",
            run_id,
            run_name,
        )
        with_retries(
            functools.partial(client.set_terminated, run_id, status="KILLED"),
            "marking a stale run KILLED",
        )
    return stale
