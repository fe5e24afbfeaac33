"""Random streams, environment grids and IC boxes."""

import numpy as np
import pytest

from mixer.data.splits import (
    SplitCounts,
    adaptation_envs,
    ic_box,
    odebench_ics,
    shared_ics,
    split_rng,
    training_grid,
)


def test_stream_values_are_pinned():
    # Pinned numbers: a change here changes every stored dataset (tables must only grow).
    assert split_rng(0, "lv", "train", 0).uniform() == 0.9982415746576053
    assert split_rng(7, "odebench10b", "adapt_test", 35).uniform() == 0.16500664110290486


def test_streams_differ_by_every_component():
    base = split_rng(1, "odebench2", "train", 25).random(4)
    np.testing.assert_array_equal(base, split_rng(1, "odebench2", "train", 25).random(4))
    for args in [(2, "odebench2", "train", 25), (1, "odebench10a", "train", 25),
                 (1, "odebench2", "val", 25), (1, "odebench2", "train", 35)]:  # fmt: skip
        assert not np.array_equal(base, split_rng(*args).random(4)), args


@pytest.mark.parametrize(
    "bad", [(-1, "lv", "train", 0), (0, "xx", "train", 0), (0, "lv", "dev", 0)]
)
def test_stream_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        split_rng(*bad)


def test_training_grids():
    np.testing.assert_allclose(training_grid([2.0], 3)[:, 0], [1.8, 2.0, 2.2])
    g = training_grid([1.0, 10.0], 5)  # ceil(sqrt 5) = 3 values each, first 5 row-major
    np.testing.assert_allclose(g, [[0.9, 9], [0.9, 10], [0.9, 11], [1.0, 9], [1.0, 10]])
    g16 = training_grid([1.0, 10.0], 16)
    assert g16.shape == (16, 2) and len({tuple(r) for r in g16}) == 16
    np.testing.assert_allclose(np.unique(g16[:, 0]), np.linspace(0.9, 1.1, 4))


def test_adaptation_envs():
    np.testing.assert_allclose(adaptation_envs([2.0, 1.0], 1), [[1.6, 0.8]])
    np.testing.assert_allclose(adaptation_envs([1.0], 5)[:, 0], [0.8, 0.9, 1.0, 1.1, 1.2])


def test_ic_box_and_draws():
    lo, hi = ic_box([0.4, -0.03], [0.0, 0.2])
    np.testing.assert_allclose(lo, [0.001, -0.029])
    np.testing.assert_allclose(hi, [0.399, 0.199])
    ics = odebench_ics(np.random.default_rng(0), ((0.4, -0.03), (0.0, 0.2)), 3, 5, True)
    assert ics.shape == (3, 5, 2)
    np.testing.assert_array_equal(ics[:, 0], [[0.4, -0.03]] * 3)
    np.testing.assert_array_equal(ics[:, 1], [[0.0, 0.2]] * 3)
    assert np.all((ics[:, 2:] >= lo) & (ics[:, 2:] <= hi))
    assert len({tuple(v) for v in ics[:, 2:].reshape(-1, 2)}) == 9  # per-env draws
    one = odebench_ics(np.random.default_rng(0), ((0.4, -0.03), (0.0, 0.2)), 2, 1, True)
    np.testing.assert_array_equal(one[:, 0], [[0.4, -0.03]] * 2)
    s = shared_ics(np.random.default_rng(0), [0, 0], [3, 3], 4)
    assert s.shape == (4, 2) and np.all((s >= 0) & (s < 3))


def test_split_counts():
    c = SplitCounts(4, 8, 32, 1, 32)
    assert c["val"] == 8 and c.as_dict()["adapt_test"] == 32
    assert c.updated({"test": 2}).test == 2
    with pytest.raises(ValueError, match="tst"):
        c.updated({"tst": 2})
    with pytest.raises(ValueError, match="train"):
        SplitCounts(0, 1, 1, 1, 1)
