"""Gating tests run with strict dtype promotion, so no silent float64/int promotion hides."""

import jax
import pytest


@pytest.fixture(autouse=True)
def _strict_dtype_promotion():
    with jax.numpy_dtype_promotion("strict"):
        yield
