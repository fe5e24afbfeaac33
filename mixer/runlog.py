"""Logging set-up for workflow jobs: one log file per job, plus the console.

Jobs of one run (train, evaluate, adapt, routing) prefix every line with the run's label
(``odebench2/geps-mixer2-seed0``), so the interleaved console output of parallel jobs stays
readable. A training job may be interrupted and resumed several times; Snakemake deletes a
job's log file before each attempt, so :func:`keep_attempts` keeps a copy next to the
checkpoint and restores the earlier attempts' lines at the top of the fresh log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["configure_logging", "keep_attempts", "run_name", "run_label", "warn_nonfinite"]

_DATEFMT = "%H:%M:%S"


def run_name(backbone: str, variant: str, seed: int) -> str:
    """The name of a run inside its experiment (its MLflow run name): ``geps-mixer2-seed0``."""
    return f"{backbone}-{variant}-seed{seed}"


def run_label(experiment: str, backbone: str, variant: str, seed: int) -> str:
    """The run's label in logs: ``odebench2/geps-mixer2-seed0``."""
    return f"{experiment}/{run_name(backbone, variant, seed)}"


def _formatter(run: str | None) -> logging.Formatter:
    prefix = f"[{run}] " if run else ""
    return logging.Formatter(f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s", _DATEFMT)


def _file_handler(
    path: Path, mode: str, formatter: logging.Formatter | None
) -> logging.FileHandler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode=mode)
    handler.setFormatter(formatter)
    return handler


def configure_logging(
    log_path: str | Path | None, level: int = logging.INFO, *, run: str | None = None
) -> logging.Logger:
    """Send the ``mixer`` logger to ``log_path`` (created with its folder; overwritten) and to
    stderr; with ``run`` (see :func:`run_label`) every line carries ``[run]``."""
    logger = logging.getLogger("mixer")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
    formatter = _formatter(run)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    logger.addHandler(console)
    if log_path is not None:
        logger.addHandler(_file_handler(Path(log_path), "w", formatter))
    return logger


def keep_attempts(logger: logging.Logger, log_path: str | Path, attempts_path: str | Path) -> int:
    """Make ``log_path`` hold every attempt of a resumable job.

    ``attempts_path`` (next to the job's checkpoint) keeps the lines of every attempt; they are
    put back at the top of ``log_path`` (which Snakemake empties before each attempt), and from
    now on ``logger`` writes to both files. Returns the number of lines of earlier attempts.
    """
    log_path, attempts_path = Path(log_path), Path(attempts_path)
    own = [
        h
        for h in logger.handlers
        if isinstance(h, logging.FileHandler) and Path(h.baseFilename) == log_path.resolve()
    ]
    if not own:
        raise ValueError(f"{log_path} is not a log file of logger {logger.name!r}")
    formatter = own[0].formatter
    for handler in own:
        handler.close()
        logger.removeHandler(handler)
    current = log_path.read_text() if log_path.exists() else ""
    earlier = attempts_path.read_text() if attempts_path.exists() else ""
    log_path.write_text(earlier + current)
    attempts_path.parent.mkdir(parents=True, exist_ok=True)
    with open(attempts_path, "a") as fh:
        fh.write(current)
    logger.addHandler(_file_handler(log_path, "a", formatter))
    logger.addHandler(_file_handler(attempts_path, "a", formatter))
    return earlier.count("\n")


def warn_nonfinite(logger: logging.Logger, run: str, split: str, result: Mapping[str, Any]) -> bool:
    """Log a WARNING naming the run and the environments when its predictions on ``split`` were
    not finite (a ``mixer.experiment.score`` result with ``finite`` false). Returns whether it
    warned."""
    if result["finite"]:
        return False
    logger.warning(
        "%s: non-finite predictions on the %s split for environment(s) %s; relative "
        "MSE and TPRMSE unknown (null), tables say 'diverged'",
        run,
        split,
        list(result["nonfinite_envs"]),
    )
    return True
