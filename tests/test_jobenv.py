"""The job environment makes the persistent compilation cache work for the model code."""

import math
import os
import subprocess
import sys

import pytest

from mixer.jobenv import DeviceError, apply_job_environment, job_environment, require_device
from mixer.provenance import provenance

# A rollout through Diffrax, compiled in a fresh process as a workflow job would do it.
PROGRAM = """
import jax, jax.numpy as jnp
from mixer.solve import SolverConfig, solve_ivp
f = jax.jit(lambda x: solve_ivp(lambda t, y: -y, x, jnp.linspace(0.0, 1.0, 5), SolverConfig()))
print(float(f(jnp.ones(2))[-1, 0]))
"""


def _run(env):
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def _rollout_entries(cache):
    return [p for p in os.listdir(cache) if p.startswith("jit__lambda")] if cache.exists() else []


def test_rollouts_are_cached_only_with_the_job_environment(tmp_path):
    cache = tmp_path / "cache"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "EQX_"))}
    # The cache directory alone is not enough: Equinox's host callbacks block caching.
    _run(
        {
            **base,
            "JAX_COMPILATION_CACHE_DIR": str(cache),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        }
    )
    assert _rollout_entries(cache) == []
    env = {**base, **job_environment(cache, min_compile_s=0.0)}
    first = _run(env)
    assert len(_rollout_entries(cache)) == 1
    assert _run(env) == first  # a cache hit gives the same numbers
    assert abs(first - math.exp(-1.0)) < 1e-3


def test_cache_off_and_existing_values_win(tmp_path):
    assert job_environment(None) == {"EQX_ON_ERROR": "nan"}
    environ = {"JAX_COMPILATION_CACHE_DIR": "/elsewhere"}
    apply_job_environment(environ, tmp_path)
    assert environ["JAX_COMPILATION_CACHE_DIR"] == "/elsewhere"
    assert environ["EQX_ON_ERROR"] == "nan"
    assert float(environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]) == 0.5


# ------------------------------------------------------------------ device (issue 15, item 3)
# conftest.py pins the tests' JAX to the CPU (JAX_PLATFORMS=cpu): no GPU is visible here, even
# on a machine that has one.


def test_device_cpu_pins_jobs_to_the_cpu_and_gpu_leaves_the_platform_to_jax():
    assert job_environment(None, device="cpu")["JAX_PLATFORMS"] == "cpu"
    assert "JAX_PLATFORMS" not in job_environment(None, device="gpu")
    with pytest.raises(ValueError, match="config key 'device'"):
        job_environment(None, device="tpu")


def test_device_gpu_without_a_visible_gpu_stops_the_job_naming_the_config_key():
    with pytest.raises(DeviceError, match=r"config key 'device' is 'gpu'.*no GPU.*\.\[gpu\]"):
        provenance({"a": 1}, 0, "test", device="gpu")
    with pytest.raises(DeviceError, match="config key 'device'"):
        require_device("tpu")


def test_provenance_records_the_device_used():
    record = provenance({"a": 1}, 0, "test", device="cpu")
    assert record["device"] == "cpu" and record["device_kind"]
    assert provenance({"a": 1}, 0, "test")["device"] == "cpu"  # recorded without a check too


def test_device_gpu_check_in_a_fresh_job_process():
    """What a job process sees: JAX pinned to the CPU, the check at its start fails loudly."""
    code = "from mixer.provenance import provenance\nprovenance({}, 0, 'test', device='gpu')\n"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "DeviceError: config key 'device' is 'gpu'" in proc.stderr
