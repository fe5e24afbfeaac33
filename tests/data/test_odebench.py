"""ODEBench sets: counts, grids, environments, initial conditions and streams (DATASETS.md)."""

import json
import math

import numpy as np
import pytest

from mixer.data import OdeBenchSpec, build_dataset, spec_from_config

ALL = (24, 25, 28, 32, 34, 35, 37, 38, 39, 40)
# Written here from DATASETS.md: reference params, ICs, horizon.
TABLE = {
    24: ((2.1,), ((0.4, -0.03), (0.0, 0.2)), 10),
    25: ((4.5, 0.43), ((0.12, 0.043), (0.0, -0.3)), 8),
    28: ((0.9,), ((-1.9, 0.0), (0.3, 0.8)), 15),
    32: ((0.18,), ((-1.8, -1.8), (-2.8, 1.0)), 5),
    34: ((0.93,), ((2.1, 0.0), (-1.2, -0.2)), 20),
    35: ((4.2,), ((1.13, -0.3), (0.7, -1.7)), 5),
    37: ((0.43,), ((2.2, 0.0), (0.1, 3.2)), 15),
    38: ((3.37,), ((0.7, 0.0), (-1.1, -0.7)), 15),
    39: ((2.4, 0.07), ((0.4, 0.31), (0.2, -0.7)), 4),
    40: ((0.886,), ((0.63, -0.03), (0.2, 0.2)), 10),
}
TABLE2 = {25: ((0.4, 0.43), ((0.1, 0.1), (0.0, -0.3)), 5), 35: ((6.0,), TABLE[35][1], 5)}
SETS = {
    "odebench2": ((25, 35), 5, 1, TABLE2),
    "odebench10a": (ALL, 5, 1, TABLE),
    "odebench10b": (ALL, 16, 4, TABLE),
}
N_ICS = {"train": 4, "val": 8, "test": 32, "adapt_train": 1, "adapt_test": 32}


@pytest.mark.parametrize("name", sorted(SETS))
def test_split_shapes_and_time_grids(full_datasets, name):
    fams, n_train, n_adapt, table = SETS[name]
    for split, ds in full_datasets(name).items():
        n_env = n_train if split in ("train", "val", "test") else n_adapt
        assert ds.x.dims == ("env", "traj", "time", "state")
        assert ds.t.dims == ("env", "time")
        assert ds.x.shape == (len(fams) * n_env, N_ICS[split], 100, 2)
        assert ds.x.dtype == np.float64
        assert list(ds.family.values) == [str(f) for f in fams for _ in range(n_env)]
        assert list(ds.family_id.values) == [k for k in range(len(fams)) for _ in range(n_env)]
        for e in range(ds.sizes["env"]):
            horizon = table[int(ds.family.values[e])][2]
            np.testing.assert_allclose(ds.t.values[e], np.arange(100) * horizon / 100, atol=1e-12)
        assert ds.attrs["split"] == split and ds.attrs["dataset"] == name
        assert ds.attrs["rtol"] <= 1e-8
        json.dumps(ds.attrs, allow_nan=False)


def expected_train_grid(ref, n):
    if len(ref) == 1:
        return np.stack([np.linspace(0.9, 1.1, n) * ref[0], np.full(n, np.nan)], 1)
    k = math.ceil(math.sqrt(n))
    grid = np.linspace(0.9, 1.1, k)
    pts = [(a, b) for a in grid * ref[0] for b in grid * ref[1]]
    return np.asarray(pts[:n])


def params_of(ds, fid):
    sel = ds.family.values == str(fid)
    return np.stack([ds.param_c0.values[sel], ds.param_c1.values[sel]], 1)


@pytest.mark.parametrize("name", sorted(SETS))
def test_environment_grids(full_datasets, name):
    fams, n_train, n_adapt, table = SETS[name]
    splits = full_datasets(name)
    for fid in fams:
        ref = table[fid][0]
        train = params_of(splits["train"], fid)
        np.testing.assert_allclose(train, expected_train_grid(ref, n_train), equal_nan=True)
        for split in ("val", "test"):
            np.testing.assert_array_equal(params_of(splits[split], fid), train)
        factors = np.linspace(0.8, 1.2, n_adapt)
        c1 = factors * ref[1] if len(ref) > 1 else np.full(n_adapt, np.nan)
        adapt = np.stack([factors * ref[0], c1], 1)
        np.testing.assert_allclose(params_of(splits["adapt_train"], fid), adapt, equal_nan=True)
        np.testing.assert_array_equal(
            params_of(splits["adapt_test"], fid), params_of(splits["adapt_train"], fid)
        )


def test_two_parameter_grid_of_odebench10a_is_first_five_of_3x3(full_datasets):
    c = params_of(full_datasets("odebench10a")["train"], 25)
    assert np.allclose(c[:, 0], [4.05, 4.05, 4.05, 4.5, 4.5])
    assert np.allclose(c[:, 1], [0.387, 0.43, 0.473, 0.387, 0.43])
    assert np.allclose(params_of(full_datasets("odebench10a")["adapt_test"], 39), [[1.92, 0.056]])


def ics_by_split(splits, fid):
    return {s: ds.x.values[ds.family.values == str(fid), :, 0] for s, ds in splits.items()}


@pytest.mark.parametrize("name", sorted(SETS))
def test_reference_ics_only_in_train_and_no_split_shares_an_ic(full_datasets, name):
    fams, _, _, table = SETS[name]
    splits = full_datasets(name)
    for fid in fams:
        refs = {tuple(r) for r in table[fid][1]}
        ics = ics_by_split(splits, fid)
        for k in (0, 1):  # every training env starts trajectories 0 and 1 at the references
            first = ics["train"][:, k]
            assert np.array_equal(first, np.broadcast_to(table[fid][1][k], first.shape))
        seen = {}
        for split, arr in ics.items():
            rows = [tuple(v) for v in arr.reshape(-1, 2)]
            drawn = [v for v in rows if v not in refs or split != "train"]
            assert not refs & set(drawn), f"reference IC outside train ({split}, family {fid})"
            assert len(set(drawn)) == len(drawn), f"repeated IC inside {split}"
            for other, values in seen.items():
                assert not set(drawn) & values, f"{split} and {other} share an IC (family {fid})"
            seen[split] = set(drawn)


@pytest.mark.parametrize("name", sorted(SETS))
def test_drawn_ics_lie_in_the_shrunk_box(full_datasets, name):
    fams, _, _, table = SETS[name]
    for fid in fams:
        a, b = np.asarray(table[fid][1])
        lo, hi = np.minimum(a, b) + 1e-3, np.maximum(a, b) - 1e-3
        for split, arr in ics_by_split(full_datasets(name), fid).items():
            drawn = arr[:, 2:] if split == "train" else arr
            assert np.all(drawn >= lo) and np.all(drawn <= hi), (split, fid)


def small(**kw):
    base = {
        "train_envs_per_family": 2,
        "adapt_envs_per_family": 2,
        "families": [25, 38],
        "n_ics": dict.fromkeys(N_ICS, 4),
    }
    return spec_from_config("odebench10a", {**base, **kw})


def test_small_config_same_seed_identical_different_seed_different():
    a = build_dataset("odebench10a", small(), seed=3)
    b = build_dataset("odebench10a", small(), seed=3)
    c = build_dataset("odebench10a", small(), seed=4)
    for split in a:
        assert a[split].x.shape[:2] == (4, 4)
        np.testing.assert_array_equal(a[split].x.values, b[split].x.values)
        assert not np.array_equal(a[split].x.values, c[split].x.values)
    np.testing.assert_array_equal(a["train"].x.values[:, :2], c["train"].x.values[:, :2])


def test_streams_depend_on_set_but_not_on_other_families():
    only25 = build_dataset("odebench10a", small(families=[25]), seed=3)
    both = build_dataset("odebench10a", small(), seed=3)
    sel = both["test"].family.values == "25"
    np.testing.assert_array_equal(only25["test"].x.values, both["test"].x.values[sel])
    other = build_dataset("odebench10b", small(families=[25]), seed=3)
    assert not np.array_equal(other["test"].x.values[:, :, 0], only25["test"].x.values[:, :, 0])


def test_spec_defaults_match_datasets_md():
    spec = OdeBenchSpec()
    assert (spec.train_envs_per_family, spec.adapt_envs_per_family) == (5, 1)
    assert spec.n_ics.as_dict() == N_ICS
    assert spec.integrator.rtol <= 1e-10 and spec.integrator.atol <= 1e-12
    big = spec_from_config("odebench10b", {})
    assert (big.train_envs_per_family, big.adapt_envs_per_family) == (16, 4)
