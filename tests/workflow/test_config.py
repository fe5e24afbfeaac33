"""The config schema: defaults filled, bad keys and types rejected with the key named."""

import copy
from pathlib import Path

import pytest
import yaml

from mixer.config import ConfigError, config_hash, validate_config

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def load(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "test.yaml", "paper.yaml"])
def test_shipped_configs_are_valid(name):
    cfg = validate_config(load(name), SCHEMA)
    assert cfg["scale"] in {"test", "default", "paper"}


def test_defaults_are_filled_from_the_schema():
    cfg = validate_config({}, SCHEMA)
    assert cfg["seed"] == 2026
    assert cfg["data"]["odebench10b"]["train_envs_per_family"] == 16
    assert cfg["data"]["odebench2"]["n_ics"]["test"] == 32
    assert cfg["data"]["go"]["n_traj"]["train"] == 32
    assert cfg["simulation"]["rtol"] == 1e-10


def test_unknown_key_is_named_with_a_suggestion():
    cfg = load("test.yaml")
    cfg["data"]["odebench2"]["train_env_per_family"] = 3
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA)
    msg = str(err.value)
    assert "data.odebench2.train_env_per_family" in msg
    assert "train_envs_per_family" in msg


def test_wrong_type_is_named_with_expectation():
    cfg = load("test.yaml")
    cfg["data"]["lv"]["n_traj"]["test"] = "many"
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA)
    assert "data.lv.n_traj.test" in str(err.value)
    assert "integer" in str(err.value)


def test_out_of_range_and_enum_are_rejected():
    cfg = load("test.yaml")
    cfg["seed"] = -1
    cfg["datasets"] = ["odebench2", "odebench3"]
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA)
    msg = str(err.value)
    assert "'seed'" in msg and ">= 0" in msg
    assert "datasets.1" in msg and "odebench3" in msg


def test_config_hash_is_stable_and_sensitive():
    a = load("test.yaml")
    b = copy.deepcopy(a)
    assert config_hash(a) == config_hash(b)
    b["seed"] += 1
    assert config_hash(a) != config_hash(b)


@pytest.mark.parametrize(("name", "outer_steps", "gate_every", "gate_warmup"),
                         [("test.yaml", 4, 1, 1), ("paper.yaml", 500, 1, 0)])
def test_scale_configs_replace_every_default_run_override(name, outer_steps, gate_every,
                                                          gate_warmup):
    """`--configfile X` is merged on top of config.yaml (Snakemake's update_config): no
    default-run override of an experiment may leak into the test or paper scale."""
    from snakemake.utils import update_config

    from mixer.experiment import experiment_runs, run_spec

    merged = load("config.yaml")
    update_config(merged, load(name))
    cfg = validate_config(merged, SCHEMA)
    for exp_name, exp in cfg["experiments"].items():
        for backbone, variant, seed in experiment_runs(exp):
            spec = run_spec(cfg["models"], exp, backbone, variant, seed)
            where = f"{name}: {exp_name}/{backbone}/{variant}"
            assert spec.train.outer_steps == outer_steps, where
            assert spec.train.gate_update_every == gate_every, where
            assert spec.train.gate_warmup == gate_warmup, where
            assert spec.train.batch_size is None, where


def test_sccts_from_a_file_needs_its_path():
    """Issue 15, item 2: `source: file` without `path` is a schema error naming the key (it
    used to fail later, inside an input function)."""
    cfg = load("test.yaml")
    cfg["data"]["sccts"]["source"] = "file"
    for path in (None, ""):
        cfg["data"]["sccts"]["path"] = path
        with pytest.raises(ConfigError, match=r"data\.sccts\.path"):
            validate_config(copy.deepcopy(cfg), SCHEMA)
    del cfg["data"]["sccts"]["path"]
    with pytest.raises(ConfigError, match=r"data\.sccts\.path"):
        validate_config(copy.deepcopy(cfg), SCHEMA)
    cfg["data"]["sccts"]["path"] = "synthetic_control.data"
    validate_config(cfg, SCHEMA)
