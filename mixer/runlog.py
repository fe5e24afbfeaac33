"""Logging set-up for workflow jobs: one log file per job, plus the console."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def configure_logging(log_path: str | Path | None, level: int = logging.INFO) -> logging.Logger:
    """Send the ``mixer`` logger to ``log_path`` (created with its folder) and to stderr."""
    logger = logging.getLogger("mixer")
    logger.setLevel(level)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger
