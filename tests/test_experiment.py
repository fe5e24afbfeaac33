"""Experiment glue: variant names, run specs from the config, tables, run files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mixer.config import validate_config
from mixer.experiment import experiment_runs, parse_variant, run_spec
from mixer.history import History
from mixer.io.runs import read_history, read_json, write_history, write_json
from mixer.tables import summarise, to_markdown, variant_label

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def test_parse_variant():
    assert parse_variant("mixer1") == (1, False)
    assert parse_variant("naive2") == (2, True)
    assert parse_variant("mixer20") == (20, False)
    for bad in ("mixer", "moe2", "mixer0", "naive-2"):
        with pytest.raises(ValueError, match=bad):
            parse_variant(bad)


def test_run_spec_merges_overrides_and_hash_tracks_one_backbone():
    cfg = validate_config(yaml.safe_load((ROOT / "config/test.yaml").read_text()), SCHEMA)
    exp = cfg["experiments"]["odebench2"]
    exp["training"] = {"outer_steps": 7}
    geps = run_spec(cfg["models"], exp, "geps", "mixer2", 0)
    coda = run_spec(cfg["models"], exp, "coda", "mixer2", 0)
    assert geps.train.outer_steps == 7 and geps.num_experts == 2 and not geps.naive
    cfg["models"]["backbones"]["geps"]["width"] += 1
    assert run_spec(cfg["models"], exp, "geps", "mixer2", 0).hash() != geps.hash()
    assert run_spec(cfg["models"], exp, "coda", "mixer2", 0).hash() == coda.hash()
    # A per-backbone training override applies after the experiment's and to that backbone only.
    exp["training_by_backbone"] = {"geps": {"outer_steps": 9, "gate_warmup": 3}}
    cfg = validate_config(cfg, SCHEMA)
    geps9 = run_spec(cfg["models"], cfg["experiments"]["odebench2"], "geps", "mixer2", 0)
    assert (geps9.train.outer_steps, geps9.train.gate_warmup) == (9, 3)
    coda7 = run_spec(cfg["models"], cfg["experiments"]["odebench2"], "coda", "mixer2", 0)
    assert coda7.train.outer_steps == 7 and coda7.hash() == coda.hash()
    exp["training_by_backbone"] = {"geps": {"gate_warmup": -1}}
    with pytest.raises(Exception, match="gate_warmup"):
        validate_config(cfg, SCHEMA)


def test_per_backbone_and_per_variant_overrides_and_run_grid():
    cfg = validate_config(yaml.safe_load((ROOT / "config/test.yaml").read_text()), SCHEMA)
    exp = cfg["experiments"]["lv"]
    exp["seeds"] = [0, 1]
    exp["backbones"] = ["cavia", "ncf", "coda", "geps"]
    exp["context_sizes"] = {"ncf": 12}
    exp["variant_options"] = {"mixer3": {"ncf": {"width": 23}}}
    single, moe = (run_spec(cfg["models"], exp, "ncf", v, 0) for v in ("mixer1", "mixer3"))
    assert single.context_size == 12 and moe.context_size == 12
    assert run_spec(cfg["models"], exp, "coda", "mixer3", 0).context_size == exp["context_size"]
    assert dict(moe.options)["width"] == 23
    assert dict(single.options)["width"] == cfg["models"]["backbones"]["ncf"]["width"]
    runs = experiment_runs(exp)  # default: single CAVIA, no single GEPS
    assert ("cavia", "mixer1", 1) in runs and ("cavia", "mixer3", 0) not in runs
    assert ("geps", "mixer3", 0) in runs and ("geps", "mixer1", 0) not in runs
    assert len(runs) == 2 * (1 + 2 + 2 + 1)


def test_summarise_mean_std_over_seeds_and_markdown():
    runs = pd.DataFrame(
        {
            "backbone": ["geps"] * 3,
            "variant": ["naive2"] * 3,
            "seed": [0, 1, 2],
            "m": [1.0, 2.0, 3.0],
        }
    )
    table = summarise(runs, ["m"])
    assert table.loc[0, "m_mean"] == 2.0 and table.loc[0, "m_std"] == 1.0
    assert table.loc[0, "model"] == variant_label("naive2") == "MixER-2†"
    assert "2 ± 1" in to_markdown(table, {"m": "M"})


def test_json_and_history_round_trip(tmp_path):
    write_json(tmp_path / "a.json", {"x": np.float32(1.5), "nan": float("nan"), "v": np.arange(2)})
    assert read_json(tmp_path / "a.json") == {"x": 1.5, "nan": None, "v": [0, 1]}
    n, k, e, m = 4, 2, 3, 2
    hist = History(
        step=np.arange(n),
        train_loss=np.ones(n),
        loss_weights=np.ones(n),
        loss_contexts=np.ones(n),
        lr_weights=np.ones(n),
        val_rel_mse=np.array([np.nan, 0.5, np.nan, 0.25]),
        gate_empty=np.zeros(n),
        wall_seconds=np.arange(1.0, n + 1),
        gate_step=np.array([0, 3]),
        gate_probs=np.full((k, e, m), 0.5),
        routed=np.zeros((k, e), int),
    )
    write_history(
        tmp_path / "h.zarr", hist, np.zeros((e, 4)), np.array(["a", "b", "a"]), {"seed": 1}
    )
    ds = read_history(tmp_path / "h.zarr")
    assert ds["gate_probs"].shape == (k, e, m)
    assert list(ds["family"].values) == ["a", "b", "a"]
    np.testing.assert_array_equal(ds["val_rel_mse"].values, hist.val_rel_mse)


@pytest.mark.parametrize("backbone", ["ncf", "coda", "geps", "cavia", "plrnn"])
def test_load_trained_from_a_shape_template_restores_every_leaf(tmp_path, backbone):
    import equinox as eqx
    import jax

    from mixer.experiment import build_model, load_trained
    from mixer.io.runs import save_model

    cfg = validate_config(yaml.safe_load((ROOT / "config/test.yaml").read_text()), SCHEMA)
    exp = cfg["experiments"]["sccts" if backbone == "plrnn" else "lv"]
    run = run_spec(cfg["models"], exp, backbone, "mixer1" if backbone == "cavia" else "mixer3", 0)
    params, static = eqx.partition(build_model(run, 2), eqx.is_inexact_array)
    # Trained weights differ from the initial ones: loading must not return the initialiser.
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    params = jax.tree.unflatten(
        treedef,
        [x + jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys, strict=True)],
    )
    model = eqx.combine(params, static)
    contexts = np.arange(5 * run.context_size, dtype=np.float32).reshape(5, -1)
    path = tmp_path / "model.eqx"
    save_model(
        path,
        model,
        contexts,
        {"training_settings": run.training_hash(), "num_envs": 5, "state_size": 2},
    )
    loaded, loaded_contexts = load_trained(run, str(path))
    np.testing.assert_array_equal(loaded_contexts, contexts)
    assert jax.tree.structure(loaded) == jax.tree.structure(model)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(model), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_load_trained_checks_training_settings_not_adaptation(tmp_path):
    """A model stays valid when only the adaptation settings change (no retraining needed);
    other training settings are refused."""
    from mixer.experiment import build_model, load_trained
    from mixer.io.runs import save_model

    cfg = validate_config(yaml.safe_load((ROOT / "config/test.yaml").read_text()), SCHEMA)
    run = run_spec(cfg["models"], cfg["experiments"]["lv"], "geps", "mixer3", 0)
    path = tmp_path / "model.eqx"
    save_model(
        path,
        build_model(run, 2),
        np.zeros((5, run.context_size), np.float32),
        {"training_settings": run.training_hash(), "num_envs": 5, "state_size": 2},
    )
    cfg["models"]["adaptation"]["lr"] *= 10
    adapted = run_spec(cfg["models"], cfg["experiments"]["lv"], "geps", "mixer3", 0)
    assert adapted.hash() != run.hash() and adapted.training_hash() == run.training_hash()
    load_trained(adapted, str(path))
    cfg["models"]["training"]["inner_steps_weights"] += 1
    retrained = run_spec(cfg["models"], cfg["experiments"]["lv"], "geps", "mixer3", 0)
    with pytest.raises(ValueError, match="other training settings"):
        load_trained(retrained, str(path))


def test_score_mse_averages_over_state_dimensions(monkeypatch):
    """SPEC §2.7: the overall and per-environment MSE are means over trajectory, time and
    state; a constant error 0.5 in both dimensions of a 2-D state gives 0.25 (not 0.5)."""
    import mixer.experiment as experiment
    from mixer.envdata import EnvData

    true = np.zeros((3, 2, 4, 2), np.float32)
    true[..., 0] = 1.0
    pred = true + np.array([0.5, 0.5, 1.0])[:, None, None, None]  # env 2: error 1 per dimension
    monkeypatch.setattr(experiment, "evaluate", lambda *args, **kwargs: pred)
    data = EnvData.from_arrays(true, np.tile(np.linspace(0, 1, 4), (3, 1)))
    scores = experiment.score(None, None, data, np.array(["a", "a", "b"]), None)
    assert scores["per_env_mse"] == pytest.approx([0.25, 0.25, 1.0])
    assert scores["mse"] == pytest.approx(1.5 / 3)
    assert scores["per_family_mse"]["a"] == pytest.approx(0.25)


def test_nonfinite_predictions_leave_tprmse_unknown_and_name_the_envs(monkeypatch, tmp_path):
    """Issue 15, item 2: a diverged rollout is not "0 % of environments below 0.1": TPRMSE is
    unknown (NaN, written as null), the environments are listed, and the run's log warns."""
    import logging

    import mixer.experiment as experiment
    from mixer.envdata import EnvData
    from mixer.runlog import warn_nonfinite

    true = np.ones((3, 2, 4, 2), np.float32)
    pred = true.copy()
    pred[1, 0, 2, 1] = np.nan  # env 1 diverged
    monkeypatch.setattr(experiment, "evaluate", lambda *args, **kwargs: pred)
    data = EnvData.from_arrays(true, np.tile(np.linspace(0, 1, 4), (3, 1)))
    scores = experiment.score(None, None, data, np.array(["a", "a", "b"]), None)
    assert scores["finite"] is False and scores["nonfinite_envs"] == [1]
    assert np.isnan(scores["tprmse"]) and np.isnan(scores["rel_mse"])
    write_json(tmp_path / "eval.json", scores)
    written = read_json(tmp_path / "eval.json")
    assert written["tprmse"] is None and written["rel_mse"] is None

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("test_experiment.nonfinite")
    logger.addHandler(handler)
    assert warn_nonfinite(logger, "lv/geps-mixer3-seed0", "test", scores)
    assert [r.levelno for r in records] == [logging.WARNING]
    message = records[0].getMessage()
    assert "lv/geps-mixer3-seed0" in message and "[1]" in message and "test split" in message
    monkeypatch.setattr(experiment, "evaluate", lambda *args, **kwargs: true)
    finite = experiment.score(None, None, data, np.array(["a", "a", "b"]), None)
    assert finite["finite"] and finite["nonfinite_envs"] == [] and finite["tprmse"] == 100.0
    assert not warn_nonfinite(logger, "lv/geps-mixer3-seed0", "test", finite)
    assert len(records) == 1


def test_routing_summary_matches_the_gate_environment_by_environment():
    """The compiled routing of all contexts at once equals each context's own route and gate
    probabilities, and purity / ARI / experts used follow from those routes."""
    import jax
    import jax.numpy as jnp

    from mixer.experiment import build_model, routing_summary

    cfg = validate_config(yaml.safe_load((ROOT / "config/test.yaml").read_text()), SCHEMA)
    run = run_spec(cfg["models"], cfg["experiments"]["lv"], "coda", "mixer3", 0)
    model = build_model(run, 2)
    model = eqx_set_gate(model, jax.random.normal(jax.random.key(3), model.gate.shape))
    contexts = jax.random.normal(jax.random.key(4), (7, run.context_size))
    summary = routing_summary(model, contexts, np.array(list("aabbccc")))
    expected = [int(model.route(c)) for c in contexts]
    assert summary["routes"] == expected
    np.testing.assert_allclose(
        summary["gate_probs"], [np.asarray(model.gate_probs(c)) for c in contexts], rtol=1e-6
    )
    assert summary["experts_used"] == len(set(expected))
    assert 0.0 <= summary["purity"] <= 1.0
    assert jnp.isfinite(jnp.asarray(summary["gate_probs"])).all()


def eqx_set_gate(model, gate):
    """The model with another gate matrix (the initial gate routes everything alike)."""
    import equinox as eqx

    return eqx.tree_at(lambda m: m.gate, model, gate)
