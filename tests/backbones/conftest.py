"""Fixtures of the backbone tests."""

from __future__ import annotations

import jax
import pytest
from backbone_helpers import make_toy_data


@pytest.fixture(autouse=True)
def _strict_dtype_promotion():
    """Any implicit dtype promotion in the library fails the test."""
    with jax.numpy_dtype_promotion("strict"):
        yield


@pytest.fixture(scope="session")
def toy_data():
    """``(x, t)``: three trajectories of a damped rotation on an 8-point grid."""
    return make_toy_data()
