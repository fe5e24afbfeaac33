"""``MlflowTracker``: one MLflow run through an ``MlflowClient`` (no global MLflow state),
reopened by a resumed job."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mixer.tracking.base import Tracker
from mixer.tracking.runs import find_run, kill_stale_runs
from mixer.tracking.store import artifact_uri, default_artifact_location, open_store, with_retries

__all__ = ["MlflowTracker"]

_LOG = logging.getLogger(__name__)


class MlflowTracker(Tracker):
    """Logs one MLflow run through an ``MlflowClient`` (no global MLflow state is touched).

    Args:
        tracking_uri: the store, e.g. ``"sqlite:///results/mlflow.db"``.
        experiment: experiment name; created (with ``artifact_location``) if missing.
        run_name: the run's display name.
        artifact_location: where a newly created experiment keeps artifacts; by default
            ``mlartifacts/<experiment>`` next to an SQLite database (relative when the
            database path is).
        resume_run_id: the run of an earlier attempt of the same job: ``start`` reopens it
            (status RUNNING again) so that a resumed job stays one run; a new run is created
            when it is unknown to the store.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        artifact_location: str | Path | None = None,
        *,
        resume_run_id: str | None = None,
    ):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_name = run_name
        self.resume_run_id = resume_run_id
        if artifact_location is None:
            self.artifact_location = default_artifact_location(tracking_uri, experiment)
        else:
            self.artifact_location = artifact_uri(artifact_location)
        self._client = None
        self._run_id: str | None = None

    @property
    def run_id(self) -> str:
        """The MLflow id of the open run."""
        return self._active()[1]

    def reference(self) -> dict[str, str]:
        return {"mlflow_tracking_uri": self.tracking_uri, "mlflow_run_id": self.run_id}

    def _active(self):
        if self._run_id is None:
            raise RuntimeError("the MLflow tracker is not started (use it as a context manager)")
        return self._client, self._run_id

    def _reopen(self, client, experiment_id: str) -> str | None:
        if self.resume_run_id is None:
            return None
        if find_run(client, self.resume_run_id, experiment_id) is None:
            _LOG.warning(
                "MLflow run %s of an earlier attempt is not in the store; starting a new run",
                self.resume_run_id,
            )
            return None
        run_id = self.resume_run_id
        with_retries(lambda: client.update_run(run_id, status="RUNNING"), "reopening the run")
        return run_id

    def start(self) -> None:
        if self._run_id is not None:
            raise RuntimeError("the tracker is already started")
        client, ids = open_store(self.tracking_uri, {self.experiment: self.artifact_location})
        experiment_id = ids[self.experiment]
        run_id = self._reopen(client, experiment_id)
        if run_id is None:
            run = with_retries(
                lambda: client.create_run(experiment_id, run_name=self.run_name),
                "creating an MLflow run",
            )
            run_id = run.info.run_id
        kill_stale_runs(client, experiment_id, self.run_name, keep=run_id)
        self._client, self._run_id = client, run_id
        verb = "reopened" if run_id == self.resume_run_id else "started"
        _LOG.info("MLflow run %s (%s) in %r %s", run_id, self.run_name, self.experiment, verb)

    def end(self, status: str = "FINISHED") -> None:
        if self._run_id is None:
            return
        client, run_id = self._active()
        with_retries(lambda: client.set_terminated(run_id, status=status), "ending the run")
        self._client, self._run_id = None, None

    def log_artifact(self, path: str | Path) -> None:
        client, run_id = self._active()
        path = Path(path)
        if path.is_dir():
            client.log_artifacts(run_id, str(path))
        else:
            client.log_artifact(run_id, str(path))

    def _log_batch(self, **entities) -> None:
        client, run_id = self._active()
        with_retries(lambda: client.log_batch(run_id, **entities), "logging to MLflow")

    def _log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        self._log_batch(params=[Param(key, value) for key, value in params.items()])

    def _log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._log_batch(metrics=[Metric(key, value, now, step) for key, value in metrics.items()])

    def _set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self._log_batch(tags=[RunTag(key, value) for key, value in tags.items()])
