"""Tracking: the do-nothing tracker, the MLflow backend on an SQLite store, concurrent use."""

import multiprocessing

import pytest

from mixer.tracking import MlflowTracker, NullTracker, ensure_store, flatten_dict, log_to_run


def test_flatten_dict():
    nested = {"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x", 3: 4.0}
    assert flatten_dict(nested) == {"a.b": 1, "a.c.d": [1, 2], "e": "x", "3": 4.0}


def test_null_tracker_accepts_everything(tmp_path):
    with NullTracker() as tracker:
        tracker.log_params({"model": {"width": 64, "depth": 3}, "name": None})
        tracker.log_metrics({"loss": 0.5, "nested": {"rel": 1}}, step=3)
        tracker.set_tags({"seed": 0})
        tracker.log_artifact(tmp_path / "missing.txt")
    with pytest.raises(ZeroDivisionError):
        with NullTracker():
            raise ZeroDivisionError
    with pytest.raises(ValueError):  # metric values must be scalars
        NullTracker().log_metrics({"loss": "not a number"}, step=0)


@pytest.fixture(scope="module")
def mlflow_client_cls():
    """Import MLflow once for the module (the import takes seconds)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store shared by the module's tests (creating one takes seconds)."""
    root = tmp_path_factory.mktemp("store")
    return root, f"sqlite:///{root / 'db' / 'mlflow.db'}"


def test_mlflow_tracker_round_trip(tmp_path, store, mlflow_client_cls):
    _, uri = store
    artifact = tmp_path / "summary.txt"
    artifact.write_text("hello")
    with MlflowTracker(uri, "roundtrip", "run-a", artifact_location=tmp_path / "art") as tracker:
        tracker.log_params({"model": {"width": 64}, "lr": 1e-3})
        tracker.log_metrics({"loss": 2.0, "val": {"rel": 0.5}}, step=0)
        tracker.log_metrics({"loss": 1.0}, step=1)
        tracker.set_tags({"dataset": "lv", "seed": 3})
        tracker.log_artifact(artifact)
        run_id = tracker.run_id

    client = mlflow_client_cls(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "run-a"
    assert run.data.params == {"model.width": "64", "lr": "0.001"}
    assert run.data.tags["dataset"] == "lv" and run.data.tags["seed"] == "3"
    history = client.get_metric_history(run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(0, 2.0), (1, 1.0)]
    assert run.data.metrics["val.rel"] == 0.5
    assert [f.path for f in client.list_artifacts(run_id)] == ["summary.txt"]
    experiment = client.get_experiment_by_name("roundtrip")
    assert experiment.artifact_location == (tmp_path / "art").resolve().as_uri()


def test_failed_block_marks_run_failed(store, mlflow_client_cls):
    root, uri = store
    tracker = MlflowTracker(uri, "failing", "bad")
    with pytest.raises(RuntimeError, match="not started"):
        tracker.log_metrics({"loss": 1.0}, step=0)
    with pytest.raises(KeyError):
        with tracker:
            run_id = tracker.run_id
            raise KeyError("boom")
    assert mlflow_client_cls(tracking_uri=uri).get_run(run_id).info.status == "FAILED"
    # Without an explicit location, artifacts go next to the database.
    experiment = mlflow_client_cls(tracking_uri=uri).get_experiment_by_name("failing")
    assert experiment.artifact_location == (root / "db" / "mlartifacts" / "failing").as_uri()


def test_ensure_store_creates_experiments_once(tmp_path, store, mlflow_client_cls):
    root, uri = store
    ids = ensure_store(uri, tmp_path / "artifacts", ["lv", "go"])
    assert (root / "db" / "mlflow.db").exists()
    assert ensure_store(uri, tmp_path / "artifacts", ["lv", "go"]) == ids
    client = mlflow_client_cls(tracking_uri=uri)
    for name, experiment_id in ids.items():
        experiment = client.get_experiment(experiment_id)
        assert experiment.name == name
        assert experiment.artifact_location == (tmp_path / "artifacts" / name).resolve().as_uri()


def _log_one_run(uri, index, barrier, results):
    """Child process: wait for the sibling, then log a run to the shared store."""
    import mlflow  # noqa: F401  (pay the import before the barrier so both start together)

    barrier.wait()
    with MlflowTracker(uri, "shared", f"run-{index}") as tracker:
        tracker.log_params({"index": index})
        for step in range(5):
            tracker.log_metrics({"loss": float(step)}, step=step)
        results.put(tracker.run_id)


def test_two_processes_share_a_new_store(tmp_path, mlflow_client_cls):
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_log_one_run, args=(uri, i, barrier, results)) for i in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    run_ids = {results.get(timeout=5) for _ in range(2)}

    client = mlflow_client_cls(tracking_uri=uri)
    experiment = client.get_experiment_by_name("shared")
    runs = client.search_runs([experiment.experiment_id])
    assert {run.info.run_id for run in runs} == run_ids and len(run_ids) == 2
    assert sorted(run.data.params["index"] for run in runs) == ["0", "1"]
    assert all(run.data.metrics["loss"] == 4.0 for run in runs)
    assert len(client.search_experiments()) == 2  # Default + "shared": created exactly once


# --------------------------------------------------------------------- issue 15, items 1 and 4


def test_interrupted_block_marks_run_killed(store, mlflow_client_cls):
    _, uri = store
    with pytest.raises(KeyboardInterrupt):
        with MlflowTracker(uri, "interrupts", "ctrl-c") as tracker:
            run_id = tracker.run_id
            raise KeyboardInterrupt
    assert mlflow_client_cls(tracking_uri=uri).get_run(run_id).info.status == "KILLED"


def test_resumed_job_reopens_its_run_and_kills_runs_left_running(store, mlflow_client_cls):
    """A job resumed from its checkpoint stays one MLflow run with the whole curve; a run that
    a killed attempt left RUNNING (and that is not resumed) is marked KILLED."""
    _, uri = store
    name = "geps-mixer2-seed0"
    orphan = MlflowTracker(uri, "resume", name)
    orphan.start()  # an attempt killed by SIGKILL: never ended
    first = MlflowTracker(uri, "resume", name)
    first.start()
    for step in (0, 1):
        first.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    with MlflowTracker(uri, "resume", name, resume_run_id=first.run_id) as second:
        assert second.run_id == first.run_id
        assert second.reference() == {"mlflow_tracking_uri": uri, "mlflow_run_id": first.run_id}
        for step in (2, 3):
            second.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
    client = mlflow_client_cls(tracking_uri=uri)
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED"
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "train/loss")) == [
        0,
        1,
        2,
        3,
    ]
    assert client.get_run(orphan.run_id).info.status == "KILLED"
    experiment = client.get_experiment_by_name("resume")
    assert len(client.search_runs([experiment.experiment_id])) == 2
    with MlflowTracker(uri, "resume", "other", resume_run_id="0" * 32) as fresh:
        assert fresh.run_id != first.run_id  # an id the store does not know: a new run


def test_log_to_run_adds_metrics_to_the_finished_training_run(tmp_path, store, mlflow_client_cls):
    """The evaluate job adds the test, adaptation and routing metrics to the training's run, so
    the UI sorts runs by the paper's metrics; an unknown (diverged) value is left out."""
    _, uri = store
    with MlflowTracker(uri, "browse", "geps-mixer2-seed0") as tracker:
        tracker.log_metrics({"train/loss": 1.0}, step=0)
        reference = tracker.reference()
    figure = tmp_path / "training_curves.png"
    figure.write_bytes(b"png")
    left_out = log_to_run(
        reference,
        {"test/rel_mse": 0.25, "test/tprmse": None, "adapt/rel_mse": float("nan")},
        tags={"test/finite": False},
        artifacts=[figure],
    )
    assert left_out == ["adapt/rel_mse", "test/tprmse"]
    client = mlflow_client_cls(tracking_uri=uri)
    run = client.get_run(reference["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"train/loss": 1.0, "test/rel_mse": 0.25}
    assert run.data.tags["test/finite"] == "False"
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["training_curves.png"]
    assert log_to_run({}, {"test/rel_mse": 1.0}) == []  # nothing tracked: nothing to do


def test_relative_artifact_locations_survive_moving_the_working_directory(
    tmp_path, monkeypatch, mlflow_client_cls
):
    """Artifact links relative to the working directory: a moved copy of the working
    directory (with its results/) still serves every artifact."""
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "results").mkdir(parents=True)
    monkeypatch.chdir(old)
    uri = "sqlite:///results/mlflow.db"
    ensure_store(uri, "results/mlartifacts", ["lv"])
    figure = old / "results" / "curve.png"
    figure.write_bytes(b"png")
    run_ids = {}
    for experiment in ("lv", "go"):  # go: created by the tracker, default location
        with MlflowTracker(uri, experiment, "geps-mixer3-seed0") as tracker:
            tracker.log_artifact("results/curve.png")
            run_ids[experiment] = tracker.run_id
    client = mlflow_client_cls(tracking_uri=uri)
    for experiment, run_id in run_ids.items():
        location = client.get_experiment_by_name(experiment).artifact_location
        assert location == f"results/mlartifacts/{experiment}"
        assert client.get_run(run_id).info.artifact_uri.startswith(location + "/")
    old.rename(new)
    monkeypatch.chdir(new)
    client = mlflow_client_cls(tracking_uri=uri)
    for run_id in run_ids.values():
        assert [f.path for f in client.list_artifacts(run_id)] == ["curve.png"]
        path = client.download_artifacts(run_id, "curve.png", str(tmp_path))
        assert open(path, "rb").read() == b"png"


def _log_to_shared_run(reference, index, barrier):
    """Child process: log 5 metrics of its own into the shared run, with its siblings."""
    import mlflow  # noqa: F401  (pay the import before the barrier)

    barrier.wait()
    for step in range(5):
        log_to_run(reference, {f"job{index}/metric{step}": float(step)})


def test_parallel_jobs_lose_no_update_of_one_run(tmp_path, mlflow_client_cls):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with MlflowTracker(uri, "parallel", "geps-mixer2-seed0") as tracker:
        reference = tracker.reference()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_log_to_shared_run, args=(reference, i, barrier)) for i in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=180)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    metrics = mlflow_client_cls(tracking_uri=uri).get_run(reference["mlflow_run_id"]).data.metrics
    assert metrics == {f"job{i}/metric{s}": float(s) for i in range(3) for s in range(5)}
