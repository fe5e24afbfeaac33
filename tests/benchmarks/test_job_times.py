"""benchmarks/job_times.py: per-rule seconds from a Snakemake console log."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "job_times.py"
_SPEC = importlib.util.spec_from_file_location("job_times", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
job_times = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(job_times)

LOG = """
[Sat Dec  5 11:22:22 2026]
localrule simulate_ivp:
    output: results/data/lv/train.zarr
    jobid: 4
    wildcards: dataset=lv
[Sat Dec  5 11:22:25 2026]
rule train:
    output: results/runs/lv/ncf/mixer1/seed0/model.eqx
    jobid: 7
[Sat Dec  5 11:22:27 2026]
Finished jobid: 4 (Rule: simulate_ivp)
[Sat Dec  5 11:22:30 2026]
rule train:
    jobid: 9
[Sat Dec  5 11:23:05 2026]
Finished jobid: 7 (Rule: train)
[Sat Dec  5 11:23:10 2026]
Finished jobid: 9 (Rule: train)
[Sat Dec  5 11:23:11 2026]
rule evaluate:
    jobid: 12
"""


def test_spans_pair_each_start_with_its_own_end():
    spans = job_times.job_spans(LOG.splitlines())
    seconds = sorted((name, (end - start).total_seconds()) for name, start, end in spans)
    assert seconds == [("simulate_ivp", 5.0), ("train", 40.0), ("train", 40.0)]


def test_summary_sums_per_rule_and_measures_the_run_from_first_start_to_last_end():
    summary = job_times.summarise(job_times.job_spans(LOG.splitlines()))
    assert summary["jobs"] == 3  # the unfinished evaluate job is not counted
    assert summary["rules"]["train"] == {
        "jobs": 2,
        "job_seconds": 80.0,
        "mean_s": 40.0,
        "max_s": 40.0,
    }
    assert summary["wall_seconds"] == 48.0
    assert list(summary["rules"]) == ["train", "simulate_ivp"]  # costliest first


def test_a_log_without_finished_jobs_is_an_error(tmp_path):
    (tmp_path / "empty.log").write_text("Building DAG of jobs...\n")
    with pytest.raises(SystemExit, match="no finished Snakemake job"):
        job_times.main([str(tmp_path / "empty.log")])
