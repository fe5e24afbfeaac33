"""SCCTS: generator counts and class statistics (Alcock 1999), and the UCI-file source."""

import numpy as np
import pytest

from mixer.data import SccTsSpec, build_dataset, spec_from_config

T = np.arange(1, 61)


@pytest.fixture(scope="module")
def sccts():
    return build_dataset("sccts", SccTsSpec(), seed=0)["train"]


def series(ds, cls):
    return ds.x.values[ds.family.values == cls, 0, :, 0]


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
    assert not np.array_equal(a.x.values, c.x.values)


def test_uci_file_source(tmp_path, sccts):
    path = tmp_path / "synthetic_control.data"
    np.savetxt(path, sccts.x.values[:, 0, :, 0], fmt="%.4f")
    spec = spec_from_config("sccts", {"source": "file", "path": str(path)})
    ds = build_dataset("sccts", spec, seed=0)["train"]
    np.testing.assert_allclose(ds.x.values, sccts.x.values, atol=1e-4)
    assert list(ds.family.values) == list(sccts.family.values)
    assert ds.attrs["source"] == "file" and np.all(np.isnan(ds.param_g.values))
    few = build_dataset("sccts", SccTsSpec("file", str(path), n_per_class=3), seed=0)["train"]
    np.testing.assert_allclose(few.x.values[3:6], sccts.x.values[100:103], atol=1e-4)


def test_spec_validation():
    with pytest.raises(ValueError, match="path"):
        SccTsSpec(source="file")
    with pytest.raises(ValueError, match="source"):
        SccTsSpec(source="download")
