"""The README's interrupt-and-resume procedure, end to end (issue 15, item 1).

Start the test config's `odebench2` target, interrupt it (SIGINT to Snakemake's process group,
as Ctrl-C does) during a training job after its first checkpoint, start the same command again
and compare everything with an uninterrupted run: the tables, the interrupted run's results,
one MLflow run with the whole curve, a train.log with both attempts, and train_seconds over
both. The test config is cut to one backbone (three training runs) and 300 outer steps, so that
an interruption after the first checkpoint lands well before the job ends.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from mixer.io.checkpoints import read_metadata
from mixer.io.datasets import read_dataset
from mixer.io.runs import read_json

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# A test-scale outer step takes about 20 ms on a 2-core CPU: 300 steps leave a window of several
# seconds between the first checkpoint (step 2) and the end of the job, wide enough for the
# test's polling to land its interrupt inside it on a loaded machine (at 120 steps, ~2 s, the
# job sometimes finished first).
OUTER_STEPS = 300


def _config(path: Path, cache: Path) -> Path:
    config = yaml.safe_load((ROOT / "config/test.yaml").read_text())
    config["datasets"] = ["odebench2"]
    config["jax_cache_dir"] = str(cache)
    config["models"]["training"]["outer_steps"] = OUTER_STEPS
    config["experiments"]["odebench2"]["training"]["outer_steps"] = OUTER_STEPS
    config["experiments"]["odebench2"]["backbones"] = ["geps"]
    path.write_text(yaml.safe_dump(config))
    return path


def _command(work: Path, config: Path) -> list[str]:
    """The README's command (`snakemake odebench2 --configfile ...`; the default profile adds
    --cores all and --rerun-incomplete), run in ``work`` with this repository's Snakefile."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(work),
        "odebench2",
        "--cores",
        "2",
        "--configfile",
        str(config),
    ]


def _run(command: list[str], log: Path) -> subprocess.CompletedProcess:
    with open(log, "w") as out:
        return subprocess.run(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )


def _first_checkpoint(work: Path, proc: subprocess.Popen, timeout: float = 600) -> Path:
    """The first training checkpoint written before the end of its job."""
    deadline = time.monotonic() + timeout
    runs = work / "results/runs/odebench2"
    while time.monotonic() < deadline and proc.poll() is None:
        for ckpt in runs.glob("*/*/seed*/checkpoints/*/train_state.ckpt"):
            if read_metadata(ckpt)["step"] < OUTER_STEPS:
                return ckpt
        time.sleep(0.02)
    raise AssertionError(f"no intermediate checkpoint appeared (snakemake exit {proc.poll()})")


def _interrupt_after_first_checkpoint(command: list[str], work: Path, log: Path):
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        try:
            ckpt = _first_checkpoint(work, proc)
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    return ckpt


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted run and an interrupted-then-resumed one of the same config."""
    root = tmp_path_factory.mktemp("resume")
    config = _config(root / "config.yaml", root / "jax-cache")
    reference, resumed = root / "reference", root / "resumed"
    start = time.perf_counter()
    proc = _run(_command(reference, config), root / "reference.log")
    assert proc.returncode == 0, (root / "reference.log").read_text()[-4000:]
    ckpt = _interrupt_after_first_checkpoint(
        _command(resumed, config), resumed, root / "attempt1.log"
    )
    run_dir = ckpt.parents[2]
    assert not (run_dir / "train.json").exists(), "the job ended before the interruption"
    before = read_metadata(ckpt)
    proc = _run(_command(resumed, config), root / "attempt2.log")
    assert proc.returncode == 0, (root / "attempt2.log").read_text()[-4000:]
    print(f"reference + interrupted + resumed runs: {time.perf_counter() - start:.0f} s")
    return reference, resumed, run_dir.relative_to(resumed), before


def test_resumed_workflow_ends_with_the_uninterrupted_results(runs):
    reference, resumed, run, _ = runs
    table = "results/tables/odebench2.csv"
    assert (resumed / table).read_text() == (reference / table).read_text()
    for name in ("eval.json", "routing.json", "adapt.json"):
        a, b = read_json(resumed / run / name), read_json(reference / run / name)
        a.pop("adapt_seconds", None), b.pop("adapt_seconds", None)
        assert a == b, name
    for key in ("best_step", "best_val_rel_mse", "training_key"):
        assert (
            read_json(resumed / run / "train.json")[key]
            == read_json(reference / run / "train.json")[key]
        )
    resumed_history = read_dataset(resumed / run / "history.zarr")
    reference_history = read_dataset(reference / run / "history.zarr")
    # Wall-clock seconds are the one record that may differ; they count every attempt.
    seconds = resumed_history["wall_seconds"].values
    assert np.all(np.isfinite(seconds)) and np.all(np.diff(seconds) >= 0)
    xr.testing.assert_equal(
        resumed_history.drop_vars("wall_seconds"), reference_history.drop_vars("wall_seconds")
    )


def test_resumed_job_keeps_its_log_and_counts_every_attempt(runs):
    _, resumed, run, before = runs
    log = (resumed / run / "train.log").read_text()
    assert log.count("training key ") == 2  # both attempts, in order
    assert "resumed from" in log.split("training key ")[2]
    assert f"outer step {OUTER_STEPS}/{OUTER_STEPS}" in log
    assert read_json(resumed / run / "train.json")["train_seconds"] > before["train_seconds"]


def test_resumed_job_is_one_mlflow_run_with_the_whole_curve(runs, monkeypatch):
    from mlflow.tracking import MlflowClient

    _, resumed, run, _ = runs
    monkeypatch.chdir(resumed)  # artifact locations are relative to the working directory
    # An absolute URI: MLflow caches one store per URI string in a process, so a relative one
    # would reuse the store an earlier test opened in another directory.
    client = MlflowClient(tracking_uri=f"sqlite:///{resumed / 'results/mlflow.db'}")
    experiment = client.get_experiment_by_name("odebench2")
    everything = client.search_runs([experiment.experiment_id])
    assert {r.info.status for r in everything} <= {"FINISHED", "KILLED"}
    name = "-".join([run.parts[-3], run.parts[-2], run.parts[-1]])
    mine = [r for r in everything if r.info.run_name == name and r.info.status == "FINISHED"]
    assert len(mine) == 1
    summary = read_json(resumed / run / "train.json")
    assert mine[0].info.run_id == summary["mlflow_run_id"]
    steps = {m.step for m in client.get_metric_history(mine[0].info.run_id, "train/loss")}
    assert steps == set(range(OUTER_STEPS))
    metrics, results = mine[0].data.metrics, read_json(resumed / run / "eval.json")
    assert metrics["test/rel_mse"] == pytest.approx(results["rel_mse"])
    assert metrics["adapt/rel_mse"] == pytest.approx(
        read_json(resumed / run / "adapt.json")["rel_mse"]
    )
    assert metrics["routing/purity"] == read_json(resumed / run / "routing.json")["purity"]
    artifacts = [f.path for f in client.list_artifacts(mine[0].info.run_id)]
    assert artifacts == ["training_curves.png"]
