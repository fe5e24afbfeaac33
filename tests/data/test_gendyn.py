"""LV / GO / SM: environments, counts, time grids and initial-condition rules (DATASETS.md)."""

import itertools

import numpy as np
import pytest

from mixer.data import build_dataset, spec_from_config

SPLITS = ("train", "val", "test", "adapt_train", "adapt_test")
COUNTS = {
    "lv": (4, 8, 32, 1, 32),
    "go": (32, 8, 32, 1, 32),
    "sm": (4, 4, 4, 1, 4),
}
SM_B = np.concatenate(
    [np.linspace(-1, -0.25, 7), np.linspace(-0.1, 0.1, 7), np.linspace(0.25, 1, 7)]
)
ENVS = {
    "lv": (("beta", "delta"), list(itertools.product([0.5, 0.75, 1.0], repeat=2)),
           list(itertools.product([0.625, 1.125], repeat=2))),
    "go": (("k1", "K1_inh"), list(itertools.product([100, 90, 80], [1, 0.75, 0.5])),
           list(itertools.product([85, 95], [0.625, 0.875]))),
    "sm": (("b",), [(b,) for b in SM_B], [(b,) for b in (-1.25, -0.65, -0.05, 0.02, 0.6, 1.2)]),
}  # fmt: skip
TIMES = {
    "lv": np.linspace(0, 10, 20, endpoint=False),
    "go": np.linspace(0, 1, 20, endpoint=False),
    "sm": np.linspace(0, 40, 11),
}
IC_BOX = {
    "lv": ([1, 1], [2, 2]),
    "go": ([0.15, 0.19, 0.04, 0.10, 0.08, 0.14, 0.05], [1.60, 2.16, 0.20, 0.35, 0.30, 2.67, 0.10]),
    "sm": ([0, 0], [3, 3]),
}


@pytest.mark.parametrize("name", ["lv", "go", "sm"])
def test_counts_environments_and_time(full_datasets, name):
    names, train_envs, adapt_envs = ENVS[name]
    for split, n_traj in zip(SPLITS, COUNTS[name], strict=True):
        ds = full_datasets(name)[split]
        envs = train_envs if split in ("train", "val", "test") else adapt_envs
        assert ds.x.shape == (len(envs), n_traj, TIMES[name].size, len(IC_BOX[name][0]))
        got = np.stack([ds[f"param_{p}"].values for p in names], 1)
        np.testing.assert_allclose(got, np.asarray(envs, float))
        np.testing.assert_allclose(ds.t.values, np.broadcast_to(TIMES[name], ds.t.shape))
        assert set(ds.family.values) == {name} and set(ds.family_id.values) == {0}


@pytest.mark.parametrize("name", ["lv", "go", "sm"])
def test_ics_shared_across_envs_in_box_and_distinct_between_splits(full_datasets, name):
    lo, hi = map(np.asarray, IC_BOX[name])
    seen = {}
    for split, ds in full_datasets(name).items():
        ics = ds.x.values[:, :, 0]
        assert np.array_equal(ics, np.broadcast_to(ics[:1], ics.shape)), "ICs differ across envs"
        assert np.all(ics >= lo) and np.all(ics < hi)
        rows = {tuple(v) for v in ics[0]}
        assert len(rows) == ics.shape[1]
        for other, values in seen.items():
            assert not rows & values, f"{split} and {other} share an IC"
        seen[split] = rows


def test_spec_knobs_and_determinism():
    spec = spec_from_config(
        "lv", {"n_traj": {"train": 2, "val": 2, "test": 3}, "n_train_envs": 2, "n_adapt_envs": 1}
    )
    a = build_dataset("lv", spec, seed=11)
    b = build_dataset("lv", spec, seed=11)
    c = build_dataset("lv", spec, seed=12)
    assert a["test"].x.shape == (2, 3, 20, 2) and a["adapt_test"].x.shape == (1, 32, 20, 2)
    for split in SPLITS:
        np.testing.assert_array_equal(a[split].x.values, b[split].x.values)
        assert not np.array_equal(a[split].x.values, c[split].x.values)


def test_go_default_train_count_differs_from_lv():
    assert spec_from_config("go", {}).counts("go").train == 32
    assert spec_from_config("lv", {}).counts("lv").train == 4
