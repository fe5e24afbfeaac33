"""Datasets generated once per test session (generation is compile-dominated)."""

from pathlib import Path

import pytest

from mixer.data import build_dataset, default_spec

REPO = Path(__file__).resolve().parents[2]
EPILEPSY_DIR = (REPO / ".." / "shared" / "data" / "epilepsy2").resolve()


@pytest.fixture(scope="session")
def full_datasets():
    """Lazily built full-size datasets with seed 0: ``full_datasets(name) -> {split: ds}``."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = build_dataset(name, default_spec(name), seed=0)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def epilepsy_dir():
    """The offline Epilepsy2 copy (tests using it are skipped where it is absent)."""
    if not (EPILEPSY_DIR / "Epilepsy2_TRAIN.ts").is_file():
        pytest.skip(f"Epilepsy2 files not found in {EPILEPSY_DIR}")
    return EPILEPSY_DIR
