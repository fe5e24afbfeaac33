"""The Snakemake workflow: dry runs for every config, lint, and config errors before any job."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run_snakemake(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.parametrize("config", ["config/config.yaml", "config/test.yaml", "config/paper.yaml"])
def test_dry_run_succeeds(config):
    proc = run_snakemake("-n", "--forceall", "--configfile", config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "simulate_ivp" in proc.stdout


def test_lint_is_clean():
    proc = run_snakemake("--lint", "--configfile", "config/test.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_bad_config_stops_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "config/test.yaml").read_text().replace("seed: 7", "sede: 7")
    bad.write_text(text)
    proc = run_snakemake("-n", "--configfile", str(bad))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "unknown config key 'sede'" in out and "did you mean 'seed'" in out
    assert "simulate_ivp" not in proc.stdout


def test_missing_epilepsy2_is_skipped_not_fatal(tmp_path):
    cfg = tmp_path / "noeeg.yaml"
    text = (ROOT / "config/test.yaml").read_text().replace(
        "directory: ../shared/data/epilepsy2", f"directory: {tmp_path / 'nowhere'}"
    )
    cfg.write_text(text)
    proc = run_snakemake("-n", "--forceall", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Epilepsy2 skipped" in proc.stderr
    assert "load_epilepsy2" not in proc.stdout
