"""SCCTS: generator counts and class statistics (Alcock 1999), the UCI-file source, and the
per-time-index z-score the models see."""

import numpy as np
import pytest

from mixer.data import SccTsSpec, build_dataset, spec_from_config

T = np.arange(1, 61)


@pytest.fixture(scope="module")
def sccts():
    return build_dataset("sccts", SccTsSpec(), seed=0)["train"]


def series(ds, cls):
    return ds.x_raw.values[ds.family.values == cls, 0, :, 0]


def slopes(y):
    return np.polyfit(T, y.T, 1)[0]


def test_layout_and_counts(sccts):
    assert sccts.x.shape == (600, 1, 60, 1)
    assert list(sccts.family.values) == [c for c in "ABCDEF" for _ in range(100)]
    np.testing.assert_array_equal(sccts.family_id.values, np.repeat(np.arange(6), 100))
    np.testing.assert_array_equal(sccts.pair_id.values, np.repeat(np.arange(3), 200))
    np.testing.assert_array_equal(sccts.t.values, np.broadcast_to(T, (600, 60)))
    assert sccts.attrs["split"] == "train"


def test_class_statistics(sccts):
    a, b, c, d, e, f = (series(sccts, k) for k in "ABCDEF")
    assert np.all((a >= 24) & (a <= 36))  # m + r s, r in (-3, 3)
    assert abs(a.mean() - 30) < 0.2
    assert b.std(axis=1).min() > a.std(axis=1).max()  # cycles of amplitude >= 10
    assert np.all(slopes(c) > 0.1) and np.all(slopes(d) < -0.1)
    assert np.all(np.abs(slopes(a)) < 0.1)
    np.testing.assert_allclose(slopes(c), sccts.param_g.values[200:300], atol=0.1)
    late, early = slice(40, 60), slice(0, 19)  # t3 in (20, 40)
    assert np.all(e[:, late].mean(1) - e[:, early].mean(1) > 4)
    assert np.all(f[:, late].mean(1) - f[:, early].mean(1) < -4)


def test_jump_sits_at_t3(sccts):
    e = series(sccts, "E")
    t3 = sccts.param_t3.values[400:500]
    x = sccts.param_x.values[400:500]
    assert np.all((t3 > 20) & (t3 < 40)) and np.all((x > 7.5) & (x < 20))
    jump = np.array([y[T >= s].mean() - y[T < s].mean() for y, s in zip(e, t3, strict=True)])
    assert np.all(np.abs(jump - x) < 4.0)


def test_parameters_and_nan_pattern(sccts):
    a_, per = sccts.param_a.values, sccts.param_T.values
    assert np.all(np.isnan(a_[:100])) and np.all(np.isnan(a_[200:]))
    for values in (a_[100:200], per[100:200]):
        assert np.all((values > 10) & (values < 15))
    g = sccts.param_g.values
    assert np.all((g[200:400] > 0.2) & (g[200:400] < 0.5)) and np.all(np.isnan(g[:200]))


def test_determinism_and_small_config():
    a = build_dataset("sccts", SccTsSpec(n_per_class=5), seed=1)["train"]
    b = build_dataset("sccts", SccTsSpec(n_per_class=5), seed=1)["train"]
    c = build_dataset("sccts", SccTsSpec(n_per_class=5), seed=2)["train"]
    assert a.x.shape == (30, 1, 60, 1)
    np.testing.assert_array_equal(a.x.values, b.x.values)
    assert not np.array_equal(a.x_raw.values, c.x_raw.values)


def test_uci_file_source(tmp_path, sccts):
    path = tmp_path / "synthetic_control.data"
    np.savetxt(path, sccts.x_raw.values[:, 0, :, 0], fmt="%.4f")
    spec = spec_from_config("sccts", {"source": "file", "path": str(path)})
    ds = build_dataset("sccts", spec, seed=0)["train"]
    np.testing.assert_allclose(ds.x_raw.values, sccts.x_raw.values, atol=1e-4)
    np.testing.assert_allclose(ds.x.values, sccts.x.values, atol=1e-3)
    assert list(ds.family.values) == list(sccts.family.values)
    assert ds.attrs["source"] == "file" and np.all(np.isnan(ds.param_g.values))
    few = build_dataset("sccts", SccTsSpec("file", str(path), n_per_class=3), seed=0)["train"]
    np.testing.assert_allclose(few.x_raw.values[3:6], sccts.x_raw.values[100:103], atol=1e-4)


@pytest.mark.parametrize("n_per_class", [100, 4])
def test_models_see_series_z_scored_per_time_index(n_per_class):
    """DATASETS.md, SCCTS: ``x`` has mean 0 and std 1 at every time index over the training
    series; the raw values and the statistics that map back are stored alongside."""
    ds = build_dataset("sccts", SccTsSpec(n_per_class=n_per_class), seed=3)["train"]
    x = ds.x.values  # (env, traj, time, state)
    assert x.shape == (6 * n_per_class, 1, 60, 1)
    np.testing.assert_allclose(x.mean(axis=(0, 1)), 0.0, atol=1e-10)
    np.testing.assert_allclose(x.std(axis=(0, 1)), 1.0, rtol=1e-10)
    raw = ds.x_raw.values
    assert 25 < raw.mean() < 35 and raw.std() > 5  # the raw scale (~30 ± 20) is kept
    assert ds.x_mean.dims == ("time", "state") and ds.x_std.dims == ("time", "state")
    np.testing.assert_allclose(ds.x_mean.values, raw.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(ds.x_std.values, raw.std(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(x * ds.x_std.values + ds.x_mean.values, raw, rtol=1e-12)
    assert "z-score per time index" in ds.attrs["normalisation"]


def test_z_score_round_trips_through_the_store(tmp_path, sccts):
    from mixer.envdata import EnvData
    from mixer.io.datasets import read_dataset, write_dataset

    back = read_dataset(write_dataset(sccts, tmp_path / "train.zarr"))
    np.testing.assert_array_equal(back.x_raw.values, sccts.x_raw.values)
    data = EnvData.from_dataset(back)  # what training reads
    np.testing.assert_allclose(np.asarray(data.x), sccts.x.values, atol=1e-6)
    assert float(np.abs(np.asarray(data.x)).max()) < 10


def test_constant_time_index_is_rejected():
    from mixer.data.sccts import time_index_stats

    series = np.random.default_rng(0).normal(size=(5, 1, 60, 1))
    series[:, :, 7] = 3.0
    with pytest.raises(ValueError, match=r"time index\(es\) \[7\]"):
        time_index_stats(series)


def test_spec_validation():
    with pytest.raises(ValueError, match="path"):
        SccTsSpec(source="file")
    assert SccTsSpec(source="file", path="data/synthetic_control.data").file_path().name == (
        "synthetic_control.data"
    )
    with pytest.raises(ValueError, match="path"):
        SccTsSpec().file_path()  # the generator has no file
    with pytest.raises(ValueError, match="source"):
        SccTsSpec(source="download")
