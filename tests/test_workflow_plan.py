"""The workflow plan: which datasets, runs, params and targets a config asks for."""

import copy
from pathlib import Path

import pytest
import yaml

from mixer.config import validate_config
from mixer.workflow_plan import (
    CLAIMS_TABLES,
    PlanError,
    WorkflowPlan,
    active_datasets,
    epilepsy2_files,
    run_dir,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
CONFIG = validate_config(yaml.safe_load((ROOT / "config/test.yaml").read_text()), SCHEMA)


def config(**changes):
    cfg = copy.deepcopy(CONFIG)
    cfg.update(changes)
    return cfg


def plan(cfg=None, epilepsy2=True):
    cfg = CONFIG if cfg is None else cfg
    datasets, _ = active_datasets(cfg, available=lambda directory: epilepsy2)
    return WorkflowPlan(cfg, datasets)


def test_absent_epilepsy2_is_left_out_with_a_message_naming_its_directory():
    names, message = active_datasets(CONFIG, available=lambda directory: False)
    assert "epilepsy2" not in names and names == [d for d in CONFIG["datasets"] if d != "epilepsy2"]
    directory = CONFIG["data"]["epilepsy2"]["directory"]
    assert message is not None and "Epilepsy2 skipped" in message and directory in message
    assert active_datasets(CONFIG, available=lambda directory: True) == (CONFIG["datasets"], None)


def test_absent_epilepsy2_removes_its_targets_and_says_why():
    without = plan(epilepsy2=False)
    assert "epilepsy2" not in without.enabled_experiments()
    targets = without.all_experiment_targets() + without.data_targets()
    assert not [t for t in targets if "epilepsy2" in t]
    assert any("epilepsy2" in t for t in plan().all_experiment_targets())
    with pytest.raises(PlanError, match="files of its dataset 'epilepsy2' are missing"):
        without.target_inputs("epilepsy2")


def test_disabled_experiment_yields_no_targets():
    cfg = copy.deepcopy(CONFIG)
    cfg["experiments"]["sccts"]["enabled"] = False
    off = plan(cfg)
    assert "sccts" not in off.enabled_experiments() and "sccts" not in off.claim_inputs()
    assert not [t for t in off.all_experiment_targets() if "sccts" in t]
    with pytest.raises(PlanError, match=r"experiments\.sccts\.enabled is false"):
        off.target_inputs("sccts")


def test_experiment_whose_dataset_is_not_configured_names_the_datasets():
    only = plan(config(datasets=["odebench2"]))
    assert list(only.enabled_experiments()) == ["odebench2"]
    assert only.table4_experiments() == []
    with pytest.raises(PlanError, match=r"its dataset 'lv' is not in `datasets:` \['odebench2'\]"):
        only.target_inputs("lv")
    assert only.target_inputs("odebench2") == only.experiment_targets("odebench2")


def test_all_targets_hold_each_file_once_and_the_claims_tables():
    targets = plan().all_experiment_targets()
    assert len(targets) == len(set(targets))
    assert set(CLAIMS_TABLES) <= set(targets)
    assert targets.count("results/tables/table4_lv_go_sm.csv") == 1  # lv, go and sm share it
    for name in plan().enabled_experiments():
        assert f"results/figures/learning_curves_{name}.png" in targets


def test_data_targets_list_every_split_and_figure_of_the_built_datasets():
    targets = plan(config(datasets=["lv", "sccts"])).data_targets()
    ivp = [
        f"results/data/lv/{s}.zarr" for s in ("train", "val", "test", "adapt_train", "adapt_test")
    ]
    assert targets == [
        *ivp,
        "results/data/sccts/train.zarr",
        "results/figures/data_lv.png",
        "results/figures/data_sccts.png",
    ]


def test_dataset_section_adds_the_simulation_keys_to_simulated_datasets_only():
    p = plan()
    assert p.dataset_section("lv") == {**CONFIG["data"]["lv"], **CONFIG["simulation"]}
    assert p.dataset_section("sccts") == dict(CONFIG["data"]["sccts"])
    section = p.dataset_section("lv")
    section["rtol"] = 0.5
    assert CONFIG["data"]["lv"].get("rtol") != 0.5  # a copy, not the config itself


def test_run_files_cover_the_grid_and_first_seed_picks_one_seed():
    cfg = copy.deepcopy(CONFIG)
    exp = cfg["experiments"]["lv"]
    exp.update(backbones=["geps"], variants=["mixer1", "mixer3"], seeds=[4, 2])
    exp.pop("variants_by_backbone", None)
    p = plan(cfg)
    assert p.run_dirs("lv") == [
        run_dir("lv", "geps", v, s) for v in ("mixer1", "mixer3") for s in (4, 2)
    ]
    assert run_dir("lv", "geps", "mixer3", 4) == "results/runs/lv/geps/mixer3/seed4"
    assert p.run_files("lv", "metrics.json")[0] == "results/runs/lv/geps/mixer1/seed4/metrics.json"
    assert p.first_seed_runs("lv", "routing.json") == [
        "results/runs/lv/geps/mixer1/seed4/routing.json",
        "results/runs/lv/geps/mixer3/seed4/routing.json",
    ]
    assert p.first_seed_file("lv", "geps", "mixer3", "x") == "results/runs/lv/geps/mixer3/seed4/x"
    assert p.fig8_histories("lv") == ["results/runs/lv/geps/mixer3/seed4/history.zarr"]


def test_largest_mixer_prefers_the_asked_m_then_the_largest_and_rejects_single_experts():
    cfg = copy.deepcopy(CONFIG)
    exp = cfg["experiments"]["odebench10b"]
    exp.update(backbones=["geps"], variants=["mixer1", "naive30", "mixer10", "mixer20"])
    exp.pop("variants_by_backbone", None)
    p = plan(cfg)
    assert p.largest_mixer("odebench10b", "geps", 10) == "mixer10"
    assert p.largest_mixer("odebench10b", "geps", 3) == "mixer20"  # naive30 is not MixER
    assert p.largest_mixer("odebench10b", "geps") == "mixer20"
    assert p.fig10_run()["variant"] in {"mixer10", "mixer20"}
    exp["variants"] = ["mixer1", "naive2"]
    with pytest.raises(PlanError, match="no MixER-M .* backbone 'geps'"):
        plan(cfg).largest_mixer("odebench10b", "geps")


def test_run_params_carry_the_run_spec_and_training_params_leave_out_adaptation():
    p = plan()
    params = p.run_params("lv", "geps", "mixer3", "0")
    assert params["experiment"] == "lv"
    run = params["spec"]
    assert (run.dataset, run.backbone, run.num_experts, run.seed) == ("lv", "geps", 3, 0)
    training = p.training_params("lv", "geps", "mixer3", "0")
    assert "adapt" not in training and training == run.training_settings()
    cfg = copy.deepcopy(CONFIG)
    cfg["models"]["adaptation"]["lr"] *= 2
    assert plan(cfg).training_params("lv", "geps", "mixer3", 0) == training
    assert plan(cfg).run_spec("lv", "geps", "mixer3", 0) != run


def test_val_path_uses_the_training_split_of_series_datasets():
    p = plan()
    assert p.val_path("lv") == "results/data/lv/val.zarr"
    assert p.val_path("sccts") == "results/data/sccts/train.zarr"


def test_epilepsy2_files_lists_only_the_files_present(tmp_path):
    assert epilepsy2_files(str(tmp_path)) == []
    (tmp_path / "Epilepsy2_TRAIN.ts").touch()
    assert epilepsy2_files(str(tmp_path)) == [str(tmp_path / "Epilepsy2_TRAIN.ts")]
