"""Mini-batches of related environments, context pools, time windows and the data container."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from mixer.batching import context_pool, nearest_envs, neighbour_batch, window_indices
from mixer.envdata import EnvData


def _draws(contexts, batch_size, n, seed=0):
    keys = jax.random.split(jax.random.key(seed), n)
    fn = jax.jit(jax.vmap(lambda k: neighbour_batch(contexts, batch_size, key=k)))
    return np.asarray(fn(keys))


def test_ties_are_broken_at_random_not_by_index():
    """All contexts equal (as at initialisation): batches must not be index blocks."""
    num_envs, batch_size = 12, 4
    batches = _draws(jnp.zeros((num_envs, 3)), batch_size, 300)
    assert batches.shape == (300, batch_size)
    assert all(len(set(b)) == batch_size for b in batches)  # no repeats
    contiguous = [sorted(b) == list(range(min(b), min(b) + batch_size)) for b in batches]
    # a random 4-subset of 12 is a contiguous block with probability 9 / 495 < 2 %
    assert np.mean(contiguous) < 0.1
    # neighbours of a fixed anchor vary across draws and cover every other environment
    same_anchor = batches[batches[:, 0] == batches[0, 0]]
    assert len({tuple(sorted(b[1:])) for b in same_anchor}) > 3
    assert set(same_anchor[:, 1:].ravel()) == set(range(num_envs)) - {batches[0, 0]}
    # the position of a neighbour in the batch is not tied to its index
    assert not np.all(np.diff(batches[:, 1:], axis=1) > 0)


def test_batch_is_anchor_plus_nearest_in_l1():
    rng = np.random.default_rng(1)
    contexts = rng.normal(size=(10, 2)).astype(np.float32)
    batches = _draws(jnp.asarray(contexts), 4, 40, seed=3)
    anchors = set()
    for batch in batches:
        anchor = batch[0]
        anchors.add(anchor)
        dist = np.abs(contexts - contexts[anchor]).sum(axis=1)
        dist[anchor] = -1.0
        expected = np.argsort(dist, kind="stable")[:4]
        np.testing.assert_array_equal(np.sort(batch), np.sort(expected))
    assert len(anchors) > 5  # the anchor is drawn at random


def test_distance_is_l1_not_l2():
    # from the anchor at 0: env 1 is at L1 = 1.6 / L2 = 1.13, env 2 at L1 = 1.5 / L2 = 1.5
    contexts = jnp.array([[0.0, 0.0], [0.8, 0.8], [1.5, 0.0], [9.0, 9.0]])
    picks = nearest_envs(contexts, jnp.asarray(0), 2, key=jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(picks), [0, 2])


def test_ties_only_among_equally_near():
    """Two far-apart groups with ties inside: the batch stays in the anchor's group."""
    contexts = jnp.concatenate([jnp.zeros((6, 2)), 10.0 * jnp.ones((6, 2))])
    batches = _draws(contexts, 4, 200, seed=5)
    for batch in batches:
        group = batch[0] // 6
        assert np.all(batch // 6 == group)
    first_group = batches[batches[:, 0] < 6]
    assert len({tuple(sorted(b)) for b in first_group}) > 5


def test_context_pool_rows_and_gradient():
    contexts = jnp.array([[0.0], [0.1], [0.25], [5.0], [5.2]])
    batch = jnp.array([0, 3])
    pool = context_pool(contexts, batch, 3, key=jax.random.key(0))
    assert pool.shape == (2, 3, 1)
    np.testing.assert_allclose(pool[:, 0], contexts[batch])  # row 0 is the environment itself
    np.testing.assert_allclose(np.sort(pool[0, 1:, 0]), [0.1, 0.25])
    np.testing.assert_allclose(np.sort(pool[1, 1:, 0]), [0.25, 5.2])
    # only row 0 carries a gradient to the contexts; neighbours are stop_gradient
    grad = jax.grad(lambda c: jnp.sum(context_pool(c, batch, 3, key=jax.random.key(0))))(contexts)
    np.testing.assert_allclose(grad[:, 0], [1.0, 0.0, 0.0, 1.0, 0.0])
    single = context_pool(contexts, batch, 1, key=jax.random.key(0))
    np.testing.assert_allclose(single, contexts[batch][:, None])


@pytest.mark.parametrize("min_window", [0.3, 0.5, 0.9])
def test_windows_are_contiguous_and_long_enough(min_window):
    num_times = 20
    keys = jax.random.split(jax.random.key(2), 200)
    idx, mask = jax.vmap(lambda k: window_indices(num_times, min_window, key=k))(keys)
    idx, mask = np.asarray(idx), np.asarray(mask)
    lengths = mask.sum(axis=1)
    shortest = max(2, math.ceil(min_window * num_times))
    assert lengths.min() >= shortest
    assert lengths.max() <= num_times
    for row, length in zip(idx, lengths, strict=True):
        assert np.all(np.diff(row[:length]) == 1)  # contiguous
        assert np.all(row[length:] == row[length - 1])  # then the last point repeated
        assert 0 <= row[0] and row[-1] < num_times
    assert len(set(idx[:, 0])) >= min(4, num_times - shortest + 1)  # random starts
    assert len(set(lengths)) == num_times - shortest + 1  # every allowed length occurs


def test_full_window_is_identity():
    idx, mask = window_indices(7, 1.0, key=jax.random.key(0))
    np.testing.assert_array_equal(idx, np.arange(7))
    assert bool(np.all(mask))
    with pytest.raises(ValueError):
        window_indices(7, 0.0, key=jax.random.key(0))


def test_envdata_from_dataset_and_stride():
    x = np.arange(2 * 3 * 5 * 2, dtype=np.float64).reshape(2, 3, 5, 2)
    t = np.tile(np.linspace(0, 1, 5), (2, 1))
    ds = xr.Dataset({"x": (("env", "traj", "time", "state"), x), "t": (("env", "time"), t)})
    data = EnvData.from_dataset(ds.transpose("traj", "env", "state", "time"))
    assert data.x.dtype == jnp.float32 and data.num_envs == 2
    np.testing.assert_allclose(data.x, x)
    np.testing.assert_allclose(data.t, t)
    strided = data.strided(2)
    np.testing.assert_allclose(strided.x, x[:, :, ::2])
    np.testing.assert_allclose(strided.t, t[:, ::2])
    np.testing.assert_allclose(data.subset([1]).x, x[1:])
    with pytest.raises(ValueError):
        EnvData.from_arrays(x, t[:, :4])
    with pytest.raises(ValueError):
        EnvData.from_dataset(ds.drop_vars("t"))
