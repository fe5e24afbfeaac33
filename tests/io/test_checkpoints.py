"""Atomic checkpoints: exact round trips, metadata, templates and crash safety."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import mixer.io.checkpoints as ckpt_module
from mixer.io.checkpoints import load_checkpoint, read_metadata, save_checkpoint


class _Net(eqx.Module):
    weight: jax.Array
    bias: jax.Array
    activation: object = jax.nn.tanh  # a non-array leaf: left as in the template
    width: int = eqx.field(static=True, default=3)


def _tree(seed: int):
    key = jax.random.key(seed)
    k1, k2 = jax.random.split(key)
    net = _Net(jax.random.normal(k1, (3, 2)), jax.random.normal(k2, (3,)))
    opt = optax.adabelief(1e-3)
    return {
        "net": net,
        "opt": opt.init(eqx.filter(net, eqx.is_inexact_array)),
        "typed_key": jax.random.fold_in(key, 7),
        "raw_key": jax.random.PRNGKey(seed + 1),
        "step": jnp.asarray(seed, jnp.int32),
        "flag": jnp.asarray(seed % 2 == 0),
    }


def _assert_same(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        if isinstance(x, (jax.Array, np.ndarray)):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        else:
            assert x is y


def test_round_trip_is_exact(tmp_path):
    tree = _tree(1)
    path = tmp_path / "sub" / "state.ckpt"
    arrays = {"loss": np.array([0.5, np.nan, 0.25]), "routed": np.zeros((0, 4), np.int32)}
    save_checkpoint(
        path, tree, metadata={"step": 3, "best": float("inf"), "name": "x"}, arrays=arrays
    )
    loaded = load_checkpoint(path, _tree(2))  # a template with other values
    _assert_same(loaded.tree, tree)
    assert jnp.issubdtype(loaded.tree["typed_key"].dtype, jax.dtypes.prng_key)
    # the restored key draws the same numbers as the original
    np.testing.assert_array_equal(
        jax.random.normal(loaded.tree["typed_key"], (3,)),
        jax.random.normal(tree["typed_key"], (3,)),
    )
    assert loaded.metadata == {"step": 3, "best": float("inf"), "name": "x"}
    assert read_metadata(path) == loaded.metadata
    np.testing.assert_array_equal(loaded.arrays["loss"], arrays["loss"])
    assert loaded.arrays["routed"].shape == (0, 4) and loaded.arrays["routed"].dtype == np.int32


def test_overwrite_replaces_content(tmp_path):
    path = tmp_path / "state.ckpt"
    save_checkpoint(path, _tree(1), metadata={"step": 1})
    save_checkpoint(path, _tree(5), metadata={"step": 5})
    loaded = load_checkpoint(path, _tree(0))
    _assert_same(loaded.tree, _tree(5))
    assert loaded.metadata["step"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.ckpt"]  # no temp files


def test_crash_during_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "state.ckpt"
    save_checkpoint(path, _tree(1), metadata={"step": 1})
    before = path.read_bytes()

    def broken(f, tree):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_module.eqx, "tree_serialise_leaves", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, _tree(2), metadata={"step": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.ckpt"]
    _assert_same(load_checkpoint(path, _tree(0)).tree, _tree(1))


def test_template_mismatch_and_bad_files_raise(tmp_path):
    path = tmp_path / "state.ckpt"
    save_checkpoint(path, {"a": jnp.ones(3), "b": jnp.ones(2)}, metadata={})
    with pytest.raises(RuntimeError, match="shape"):
        load_checkpoint(path, {"a": jnp.ones(4), "b": jnp.ones(2)})
    with pytest.raises(ValueError, match="trailing"):
        load_checkpoint(path, {"a": jnp.ones(3)})  # a template with fewer leaves
    other = tmp_path / "other.ckpt"
    other.write_bytes(b"not a checkpoint\n{}\n")
    with pytest.raises(ValueError, match="not a mixer checkpoint"):
        load_checkpoint(other, {"a": jnp.ones(3)})
