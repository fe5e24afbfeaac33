"""Shared pytest configuration."""

import logging
import os

import pytest

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


@pytest.fixture
def mixer_logger():
    """The ``mixer`` logger, its handlers and level restored after the test."""
    logger = logging.getLogger("mixer")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level)
