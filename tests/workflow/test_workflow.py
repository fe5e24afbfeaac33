"""The Snakemake workflow: dry runs for every config, lint, and config errors before any job."""

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
    # Training and evaluation jobs write to the MLflow store while others run: a job that
    # lists it as input fails Snakemake's end-of-job check (outputs newer than inputs)
    # whenever another job logs in between. Only the ready marker's job may read it.
    readers = {rule for rule, inputs in job_inputs(proc.stdout) if "results/mlflow.db" in inputs}
    assert readers <= {"mlflow_ready"}, readers


def job_inputs(dry_run: str) -> list[tuple[str, list[str]]]:
    """(rule, input paths) of every job of a dry run's listing."""
    jobs: list[tuple[str, list[str]]] = []
    for line in dry_run.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            jobs.append((match.group(1), []))
        elif jobs and (match := re.match(r"^\s+input: (.*)$", line)):
            jobs[-1][1].extend(path.strip() for path in match.group(1).split(","))
    return jobs


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
    text = (
        (ROOT / "config/test.yaml")
        .read_text()
        .replace("directory: ../shared/data/epilepsy2", f"directory: {tmp_path / 'nowhere'}")
    )
    cfg.write_text(text)
    proc = run_snakemake("-n", "--forceall", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Epilepsy2 skipped" in proc.stderr
    assert "load_epilepsy2" not in proc.stdout


def planned_rules(output):
    """Rule names in the first "Job stats" table of a dry run (empty when nothing is to do)."""
    lines = output.splitlines()
    if "Job stats:" not in lines:
        return set()
    names = set()
    for line in lines[lines.index("Job stats:") + 3 :]:
        name = (line.split() or ["total"])[0]
        if name == "total":
            return names
        names.add(name)
    return names


def test_adaptation_only_change_plans_no_training_job(tmp_path):
    """A job depends on exactly what it uses (issue 16, item 2; SPEC §2.5): after a run, a
    change of the adaptation settings plans the evaluate job (which adapts) but no train job,
    while a change of the training settings does retrain."""
    config = yaml.safe_load((ROOT / "config/test.yaml").read_text())
    config.update(datasets=["lv"], tracking={"mlflow": False})
    configs = {"same": config, "adapt": copy.deepcopy(config), "train": copy.deepcopy(config)}
    configs["adapt"]["models"]["adaptation"]["lr"] = 5e-3
    configs["train"]["models"]["training"]["inner_steps_weights"] += 1
    for name, cfg in configs.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    work = tmp_path / "work"
    run = work / "results/runs/lv/geps/mixer3/seed0"
    targets = [f"{run.relative_to(work)}/{name}" for name in ("adapt.json", "eval.json")]
    for split in ("train", "val", "test", "adapt_train", "adapt_test"):
        (work / f"results/data/lv/{split}.zarr").mkdir(parents=True)
    (run / "history.zarr").mkdir(parents=True)
    for name in (
        "model.eqx",
        "train.json",
        "adapt.json",
        "eval.json",
        "routing.json",
        "metrics.json",
    ):
        (run / name).touch()

    def snakemake(config_name, *args):
        proc = run_snakemake(
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(work),
            "--configfile",
            str(tmp_path / f"{config_name}.yaml"),
            *args,
            *targets,
            "--quiet",
            "rules",
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return planned_rules(proc.stdout + proc.stderr)

    # Record Snakemake's metadata (params) of every job as if the run had been made.
    assert {"train", "evaluate"} <= snakemake("same", "--touch", "--forceall")
    assert snakemake("same", "-n") == set()
    after_adaptation_change = snakemake("adapt", "-n")
    assert "train" not in after_adaptation_change
    assert "evaluate" in after_adaptation_change
    assert "train" in snakemake("train", "-n")


def test_default_profile_is_loaded_and_reruns_incomplete_jobs(tmp_path):
    """Issue 15, item 1: Snakemake 9 loads `profiles/default/` next to the Snakefile (not
    `workflow/profiles/default/`), also with `-s`/`-d`; it must rerun the jobs an interruption
    left incomplete (the README's interrupt-and-resume procedure)."""
    profile = yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text())
    assert profile["rerun-incomplete"] is True and profile["keep-going"] is True
    for args, cwd in (((), ROOT), (("-s", str(ROOT / "Snakefile"), "-d", str(tmp_path)), tmp_path)):
        proc = run_snakemake(
            *args, "data", "-n", "--configfile", str(ROOT / "config/test.yaml"), cwd=cwd
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Using workflow specific profile" in proc.stderr
        assert "profiles/default for setting default command line arguments" in proc.stderr


def test_target_whose_dataset_is_not_built_says_why(tmp_path):
    """Issue 15, item 2: `snakemake lv` with lv not in `datasets:` used to do nothing."""
    config = yaml.safe_load((ROOT / "config/test.yaml").read_text())
    config["datasets"] = ["odebench2"]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(tmp_path / "w"),
        "lv",
        "-n",
        "--configfile",
        str(tmp_path / "c.yaml"),
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "target 'lv' builds nothing with this config" in out
    assert "its dataset 'lv' is not in `datasets:` ['odebench2']" in out


def test_every_rule_declares_the_conda_environment_file_whose_paths_resolve_beside_it():
    """Issue 15, item 6 (kept, see README "Quick start"): `--sdm conda` builds the environment
    from `environment.yml` in place, and conda runs its pip section in the file's folder, so
    the relative paths there must name files of the repository root."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-c constraints.txt", "-e .[test]"]
    assert (ROOT / "constraints.txt").is_file() and (ROOT / "pyproject.toml").is_file()
    scripted = 0
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in smk.read_text().split("\nrule ")[1:]:
            if "    script:" in block:
                scripted += 1
                assert '    conda:\n        "../environment.yml"\n' in block, smk.name
    assert scripted >= 20
