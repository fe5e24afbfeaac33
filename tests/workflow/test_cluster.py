"""The SLURM profile as the executor plugin reads it (issue 15, item 3): GPU resources under the
plugin's names, requested only when the config says `device: gpu`, and partitions chosen by the
plugin from the profile's partitions.yaml. The real submission is tested by
workflow/cluster/slurm-smoke (CI runs it where it can install SLURM)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("snakemake_executor_plugin_slurm")
from snakemake_executor_plugin_slurm.partitions import (
    get_best_partition,
    read_partition_file,
)
from snakemake_executor_plugin_slurm.utils import set_gres_string

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "workflow" / "profiles" / "slurm"


def run_snakemake(*args):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


class _Resources(dict):
    """Snakemake's job resources: mapping and attribute access."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Job:
    def __init__(self, resources, threads=1):
        self.resources = _Resources(resources)
        self.threads = threads
        self.name = "train"
        self.is_group = lambda: False


class _Log:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def planned_train_resources(tmp_path, device):
    """Resources of the planned train jobs in a dry run through the SLURM profile."""
    config = yaml.safe_load((ROOT / "config/test.yaml").read_text())
    config.update(datasets=["odebench2"], device=device, tracking={"mlflow": False})
    path = tmp_path / f"{device}.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = run_snakemake(
        "-n",
        "--forceall",
        "--profile",
        str(PROFILE),
        "--configfile",
        str(path),
        "-d",
        str(tmp_path / device),
        "-s",
        str(ROOT / "Snakefile"),
        "odebench2",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(.*?)(?:\n\n|\Z)", proc.stdout, flags=re.M | re.S)
    found = []
    for rule, body in jobs:
        if rule != "train":
            continue
        line = re.search(r"resources: (.*)", body).group(1)
        found.append(dict(item.split("=", 1) for item in line.split(", ")))
    assert found, proc.stdout[-3000:]
    return found


def test_profile_uses_the_plugins_resource_names():
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    names = set(profile.get("default-resources", {}))
    for resources in profile.get("set-resources", {}).values():
        names |= set(resources)
    # `gpus` is no resource the plugin reads (it reads gpu, gpu_model, gres); partitions and GPUs
    # are never fixed per rule in the profile: the config's `device` decides.
    assert names <= {
        "runtime",
        "mem_mb",
        "mem_mb_per_cpu",
        "cpus_per_task",
        "slurm_account",
        "slurm_partition",
        "constraint",
        "qos",
        "nodes",
        "tasks",
    }, names
    assert "slurm_partition" not in names and "gpu" not in names
    assert (PROFILE / profile["slurm-partition-config"]).is_file()


def test_partitions_route_gpu_jobs_to_a_gpu_partition_and_others_away_from_it():
    partitions = read_partition_file(PROFILE / "partitions.yaml")
    by_gpus = {p.name: p.limits.max_gpu for p in partitions}
    cpu_job, gpu_job = _Job({"gpu": 0, "runtime": 240}), _Job({"gpu": 1, "runtime": 240})
    assert by_gpus[get_best_partition(partitions, cpu_job, _Log())] == 0
    assert by_gpus[get_best_partition(partitions, gpu_job, _Log())] >= 1


@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_train_jobs_request_a_gpu_exactly_when_the_config_says_device_gpu(tmp_path, device):
    for resources in planned_train_resources(tmp_path, device):
        gpus = int(resources.get("gpu", 0))
        assert gpus == (1 if device == "gpu" else 0), resources
        assert "slurm_partition" not in resources and "gpus" not in resources
        # The sbatch options the plugin builds from them.
        gres = set_gres_string(_Job({"gpu": gpus}))
        assert gres.strip() == ("--gpus=1" if device == "gpu" else "")


def test_smoke_script_is_valid_bash():
    script = ROOT / "workflow" / "cluster" / "slurm-smoke"
    assert script.stat().st_mode & 0o111, "not executable"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert '--profile "$REPO/workflow/profiles/slurm"' in text


def test_training_job_with_device_gpu_and_no_gpu_stops_at_its_start(tmp_path):
    """`device: gpu` where JAX sees no GPU (conftest pins the tests' JAX to the CPU): the
    training job fails at its start with the error naming the config key, nothing trained."""
    config = yaml.safe_load((ROOT / "config/test.yaml").read_text())
    config.update(datasets=["lv"], device="gpu", tracking={"mlflow": False})
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(config))
    work = tmp_path / "work"
    run = "results/runs/lv/geps/mixer3/seed0"
    proc = run_snakemake(
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(work),
        "--configfile",
        str(path),
        "--cores",
        "1",
        f"{run}/train.json",
    )
    assert proc.returncode != 0
    log = work / run / "train.log"
    out = proc.stdout + proc.stderr + (log.read_text() if log.exists() else "")
    assert "config key 'device' is 'gpu', but JAX sees no GPU" in out, out[-3000:]
    assert not (work / run / "train.json").exists()
    assert not list((work / run).glob("checkpoints/*/*"))
