"""The canonical layout builder."""

import json

import numpy as np
import pytest

from mixer.data.layout import trajectory_dataset


def test_layout_dims_coords_and_attrs():
    attrs = {"seed": np.int64(3), "dataset": "d"}
    x, t = np.zeros((2, 3, 4, 1)), np.zeros((2, 4))
    ds = trajectory_dataset(x, t, ["a", "b"], [0, 1], {"k": [1.0, np.nan]}, attrs)
    assert ds.x.dims == ("env", "traj", "time", "state") and ds.t.dims == ("env", "time")
    assert ds.param_k.dims == ("env",) and np.isnan(ds.param_k.values[1])
    assert ds.attrs["seed"] == 3 and type(ds.attrs["seed"]) is int
    for key in ("mixer_version", "numpy_version", "jax_version"):
        assert isinstance(ds.attrs[key], str)
    json.dumps(ds.attrs)


def test_layout_rejects_bad_input():
    with pytest.raises(ValueError, match="shapes"):
        trajectory_dataset(np.zeros((2, 3, 4, 1)), np.zeros((2, 5)), ["a", "b"], [0, 1], {}, {})
    with pytest.raises(ValueError, match="family_id"):
        trajectory_dataset(np.zeros((2, 3, 4, 1)), np.zeros((2, 4)), ["a", "b"], [0], {}, {})
    with pytest.raises(TypeError, match="'grid'"):
        trajectory_dataset(np.zeros((2, 3, 4, 1)), np.zeros((2, 4)), ["a", "b"], [0, 1], {},
                           {"grid": [1, 2]})  # fmt: skip
