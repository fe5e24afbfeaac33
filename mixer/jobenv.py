"""Process environment of workflow jobs: the persistent XLA compilation cache.

Every job is a fresh Python process that would otherwise compile its JAX computations from
scratch. With a persistent cache, a computation compiled once (same program, shapes, JAX
version and flags) is loaded by every later job and run. A compiled program that calls back
to the host is never cached, and Equinox's runtime checks do that by default; with
``EQX_ON_ERROR=nan`` they return NaN instead (the rollouts already return NaN past
``max_steps``, and non-finite losses stop a run with a clear message).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path

__all__ = ["job_environment", "apply_job_environment"]


def job_environment(cache_dir: str | Path | None, *, min_compile_s: float = 0.5) -> dict[str, str]:
    """Environment variables for a job; ``cache_dir=None`` (or empty) leaves caching off.

    Only computations that took at least ``min_compile_s`` seconds to compile are written.
    """
    env = {"EQX_ON_ERROR": "nan"}
    if cache_dir:
        env["JAX_COMPILATION_CACHE_DIR"] = str(Path(cache_dir).resolve())
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = repr(float(min_compile_s))
    return env


def apply_job_environment(environ: MutableMapping[str, str], cache_dir: str | Path | None) -> None:
    """Set ``job_environment(cache_dir)`` in ``environ``; values already there win."""
    for name, value in job_environment(cache_dir).items():
        environ.setdefault(name, value)
