"""Files of one run: model, JSON results, the training history, and run folders read back."""

import dataclasses
import json
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mixer.history import History
from mixer.io.runs import (
    load_model,
    read_history,
    read_json,
    run_identity,
    run_ids,
    runs_frame,
    save_model,
    tracking_reference,
    write_history,
    write_json,
)
from mixer.run_id import RunId


def test_json_round_trip_converts_numpy_and_writes_non_finite_as_null(tmp_path):
    path = tmp_path / "deep" / "er" / "r.json"  # missing folders are made
    payload = {
        "f32": np.float32(1.5),
        "i64": np.int64(3),
        "array": np.arange(3),
        "pairs": ((1, 2), [np.float64(0.25)]),
        "bad": [float("nan"), float("inf"), -np.inf],
        "nested": {2: {"x": np.float64(2.0)}},  # keys become strings
        "text": "geps",
        "flag": True,
    }
    write_json(path, payload)
    assert read_json(path) == {
        "f32": 1.5,
        "i64": 3,
        "array": [0, 1, 2],
        "pairs": [[1, 2], [0.25]],
        "bad": [None, None, None],
        "nested": {"2": {"x": 2.0}},
        "text": "geps",
        "flag": True,
    }
    assert json.loads(path.read_text()) == read_json(path)  # plain JSON, no NaN literals
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()


def test_json_overwrite_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"a": 1, "b": 2})
    write_json(path, {"a": 3})
    assert read_json(path) == {"a": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def _history(n=5, gates=2, envs=3, experts=2):
    rng = np.random.default_rng(0)
    gate = {
        "gate_step": np.array([0, n - 1][:gates]),
        "gate_probs": rng.dirichlet(np.ones(experts), size=(gates, envs)),
        "routed": rng.integers(0, experts, size=(gates, envs)),
    }
    scalars = {
        f.name: rng.normal(size=n) for f in dataclasses.fields(History) if f.name not in gate
    }
    scalars["step"] = np.arange(n)
    scalars["val_rel_mse"][[0, 2]] = np.nan  # not computed at those steps
    return History(**scalars, **gate)


def test_history_round_trip_keeps_every_field_and_the_families(tmp_path):
    hist = _history()
    contexts = np.arange(6.0).reshape(3, 2)
    attrs = {"seed": 1, "backbone": "geps", "lr": 0.5, "done": True, "dropped": {"a": 1}}
    write_history(tmp_path / "h.zarr", hist, contexts, np.array([25, 35, 25]), attrs)
    ds = read_history(tmp_path / "h.zarr")
    for name, value in hist.to_arrays().items():
        stored = ds[name].values
        np.testing.assert_array_equal(stored, value, err_msg=name)  # NaN where NaN
    assert ds["routed"].dtype == np.int64 and ds["step"].dtype == np.int64
    assert ds["gate_probs"].dims == ("gate_step", "env", "expert")
    np.testing.assert_array_equal(ds["contexts"].values, contexts)
    assert ds["family"].values.tolist() == ["25", "35", "25"]  # stored as text
    assert ds.attrs == {"seed": 1, "backbone": "geps", "lr": 0.5, "done": True}


class _Tiny(eqx.Module):
    weight: jax.Array
    bias: jax.Array


def test_model_round_trip_and_tracking_reference(tmp_path):
    model = _Tiny(jnp.arange(6.0).reshape(2, 3), jnp.array([1.0, -1.0]))
    contexts = jnp.full((4, 2), 0.25)
    template = _Tiny(jnp.zeros((2, 3)), jnp.zeros(2))
    save_model(tmp_path / "m.eqx", model, contexts, {"state_size": 3, "num_envs": 4})
    loaded, loaded_contexts, meta = load_model(tmp_path / "m.eqx", template, jnp.zeros((4, 2)))
    np.testing.assert_array_equal(loaded.weight, model.weight)
    np.testing.assert_array_equal(loaded.bias, model.bias)
    np.testing.assert_array_equal(loaded_contexts, contexts)
    assert meta["state_size"] == 3 and meta["num_envs"] == 4
    assert tracking_reference(tmp_path / "m.eqx") == {}  # not tracked
    where = {"store": "sqlite:///results/mlflow.db", "run_id": "abc"}
    save_model(tmp_path / "t.eqx", model, contexts, {"tracking": where})
    assert tracking_reference(tmp_path / "t.eqx") == where


def test_run_identity_is_read_from_the_file_and_else_from_the_run_folder(tmp_path):
    recorded = RunId("lv", "lv", "geps", "mixer3", 12)
    folder = tmp_path / "results" / "runs" / "elsewhere" / "x" / "naive2" / "seed0"
    write_json(folder / "metrics.json", {"run": recorded.as_dict(), "rel_mse": 1.0})
    assert run_identity(folder / "metrics.json") == recorded  # the file's record wins
    assert run_ids(folder / "metrics.json") == {"backbone": "geps", "variant": "mixer3", "seed": 12}
    write_json(folder / "old.json", {"rel_mse": 1.0})  # written before files recorded their run
    assert run_identity(folder / "old.json") == RunId("elsewhere", None, "x", "naive2", 0)
    write_json(tmp_path / "metrics.json", {"rel_mse": 1.0})
    with pytest.raises(ValueError, match="not inside a run folder"):
        run_identity(tmp_path / "metrics.json")


def test_run_identity_of_a_history(tmp_path):
    recorded = RunId("odebench2", "odebench2", "ncf", "naive2", 1)
    hist = _history()
    e = hist.gate_probs.shape[1]
    path = tmp_path / "h.zarr"
    write_history(path, hist, np.zeros((e, 4)), np.array(["a"] * e), {"run": recorded.to_json()})
    assert run_identity(path) == recorded


def test_runs_frame_has_one_row_per_file_and_names_a_missing_metric(tmp_path):
    paths = []
    for backbone, variant, seed, value in [("geps", "mixer3", 0, 0.5), ("ncf", "naive2", 1, None)]:
        path = tmp_path / backbone / variant / f"seed{seed}" / "metrics.json"
        write_json(path, {"rel_mse": value if value is not None else math.nan, "other": 1})
        paths.append(str(path))
    frame = runs_frame(paths, ["rel_mse"])
    assert list(frame.columns) == ["backbone", "variant", "seed", "rel_mse"]
    assert frame.to_dict("records")[0] == {
        "backbone": "geps",
        "variant": "mixer3",
        "seed": 0,
        "rel_mse": 0.5,
    }
    assert frame["rel_mse"].isna().tolist() == [False, True]  # null read back as missing
    with pytest.raises(KeyError, match=r"lacks the metric\(s\) \['tprmse'\]") as err:
        runs_frame(paths, ["rel_mse", "tprmse"])
    assert paths[0] in str(err.value)
