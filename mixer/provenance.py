"""Provenance recorded with every result: seed, config hash, git commit, package versions and
the device JAX computed on."""

from __future__ import annotations

import importlib.metadata
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixer.config import config_hash
from mixer.jobenv import device_record, require_device

_PACKAGES = ("mixer-pipeline", "jax", "equinox", "diffrax", "optax", "numpy", "xarray", "zarr")


def git_commit(cwd: str | Path = ".") -> str:
    """The current git commit (with ``-dirty`` when the tree has changes), or ``unknown``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that determine the numbers."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(
    section: Mapping[str, Any], seed: int, scale: str, device: str | None = None
) -> dict[str, str | int]:
    """Flat, JSON/Zarr-attribute friendly provenance record for one result.

    The record names the device JAX computes on in this job (``device``: ``cpu`` or ``gpu``,
    ``device_kind``). With ``device`` (the config key's value) given, the job first checks
    that JAX sees that device and raises ``mixer.jobenv.DeviceError`` when it does not: call
    this at the start of a job, before any work.
    """
    on = device_record() if device is None else require_device(device)
    record: dict[str, str | int] = {
        "seed": int(seed),
        "scale": scale,
        "config_hash": config_hash(section),
        "git_commit": git_commit(),
        **on,
    }
    record.update({f"version_{k}": v for k, v in package_versions().items()})
    return record
