"""Process environment of workflow jobs: the persistent XLA compilation cache and the device.

Every job is a fresh Python process that would otherwise compile its JAX computations from
scratch. With a persistent cache, a computation compiled once (same program, shapes, JAX
version and flags) is loaded by every later job and run. A compiled program that calls back
to the host is never cached, and Equinox's runtime checks do that by default; with
``EQX_ON_ERROR=nan`` they return NaN instead (the rollouts already return NaN past
``max_steps``, and non-finite losses stop a run with a clear message).

The device (config key ``device``): ``cpu`` pins every job's JAX to the CPU
(``JAX_PLATFORMS=cpu``), so a CUDA JAX installed for other work never moves a run to a GPU;
``gpu`` leaves JAX free to pick the GPU, and ``require_device`` stops a job that was promised
a GPU at its start when JAX sees none (no CUDA JAX installed, no GPU allocated to the job)
instead of letting it train on the CPU silently.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

__all__ = [
    "DEVICES",
    "DeviceError",
    "job_environment",
    "apply_job_environment",
    "device_record",
    "require_device",
]

DEVICES = ("cpu", "gpu")


class DeviceError(RuntimeError):
    """The config key ``device`` asks for a device that this job's JAX cannot see."""


def job_environment(
    cache_dir: str | Path | None, *, min_compile_s: float = 0.5, device: str | None = None
) -> dict[str, str]:
    """Environment variables for a job; ``cache_dir=None`` (or empty) leaves caching off.

    Only computations that took at least ``min_compile_s`` seconds to compile are written.
    ``device="cpu"`` pins JAX to the CPU; ``"gpu"`` and ``None`` leave the platform to JAX.
    """
    env = {"EQX_ON_ERROR": "nan"}
    if cache_dir:
        env["JAX_COMPILATION_CACHE_DIR"] = str(Path(cache_dir).resolve())
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = repr(float(min_compile_s))
    if device is not None and device not in DEVICES:
        raise ValueError(f"config key 'device' must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
    return env


def apply_job_environment(
    environ: MutableMapping[str, str], cache_dir: str | Path | None, device: str | None = None
) -> None:
    """Set ``job_environment(cache_dir, device=device)`` in ``environ``; values already there
    win."""
    for name, value in job_environment(cache_dir, device=device).items():
        environ.setdefault(name, value)


def device_record() -> dict[str, str]:
    """The device JAX computes on in this process: ``device`` (``cpu`` or ``gpu``, JAX's
    default backend) and ``device_kind`` (e.g. ``cpu``, ``NVIDIA H100 80GB HBM3``)."""
    import jax

    first = jax.devices()[0]
    return {"device": jax.default_backend(), "device_kind": str(first.device_kind)}


def require_device(device: str) -> dict[str, str]:
    """Check at job start that JAX computes on the configured ``device``; its record.

    Raises:
        DeviceError: ``device: gpu`` but JAX sees no GPU (no CUDA JAX installed, no GPU
            allocated to the job, or JAX restricted to the CPU by ``JAX_PLATFORMS``), or
            ``device: cpu`` but JAX computes elsewhere (``JAX_PLATFORMS`` set otherwise).
    """
    if device not in DEVICES:
        raise DeviceError(f"config key 'device' must be one of {DEVICES}, got {device!r}")
    import jax

    record = device_record()
    if record["device"] == device:
        return record
    seen = (
        f"devices: {jax.devices()}, JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')!r}, "
        f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r}"
    )
    if device == "gpu":
        raise DeviceError(
            f"config key 'device' is 'gpu', but JAX sees no GPU in this job ({seen}). Install "
            "the CUDA build of JAX (pip install -c constraints.txt -e '.[gpu]'), run the job "
            "where a GPU is allocated (training jobs request one when device: gpu), or set "
            "device: cpu."
        )
    raise DeviceError(
        f"config key 'device' is '{device}', but JAX computes on {record['device']} in this "
        f"job ({seen}); unset JAX_PLATFORMS or set device: {record['device']}."
    )
