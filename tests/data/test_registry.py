"""The registry: names, specs from config mappings, split names, type checks."""

import dataclasses

import pytest

from mixer.data import (
    DATASET_NAMES,
    Epilepsy2Spec,
    GenDynSpec,
    OdeBenchSpec,
    SccTsSpec,
    build_dataset,
    default_spec,
    spec_from_config,
    split_names,
)
from mixer.data.integrate import IntegratorConfig
from mixer.data.registry import INTEGRATOR_KEYS

IVP = ("train", "val", "test", "adapt_train", "adapt_test")


def test_names_and_split_names():
    assert DATASET_NAMES == (
        "odebench2", "odebench10a", "odebench10b", "lv", "go", "sm", "sccts", "epilepsy2"
    )  # fmt: skip
    for name in DATASET_NAMES[:6]:
        assert split_names(name, default_spec(name)) == IVP
    assert split_names("sccts") == ("train",)
    assert split_names("epilepsy2") == ("train", "adapt_train")


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("odebench2", OdeBenchSpec),
        ("lv", GenDynSpec),
        ("sccts", SccTsSpec),
        ("epilepsy2", Epilepsy2Spec),
    ],
)
def test_unknown_key_is_named(name, cls):
    assert isinstance(spec_from_config(name, {}), cls)
    with pytest.raises(ValueError, match="'n_envs'"):
        spec_from_config(name, {"n_envs": 3})


def test_overrides_and_coercion():
    overrides = {"n_ics": {"val": 2}, "families": [39, 24], "rtol": 1e-9}
    spec = spec_from_config("odebench10b", overrides)
    assert spec.train_envs_per_family == 16 and spec.n_ics.val == 2 and spec.n_ics.test == 32
    assert spec.families == (39, 24) and spec.integrator.rtol == 1e-9
    go = spec_from_config("go", {"n_traj": {"val": 3}})
    assert go.counts("go").train == 32 and go.counts("go").val == 3
    with pytest.raises(ValueError, match="'tset'"):
        spec_from_config("go", {"n_traj": {"tset": 3}})
    with pytest.raises(ValueError, match="rtol"):
        spec_from_config("lv", {"rtol": 1e-3})
    with pytest.raises(ValueError):
        spec_from_config("sccts", {"n_per_class": "many"})
    with pytest.raises(ValueError, match="unknown dataset"):
        spec_from_config("mnist", {})


@pytest.mark.parametrize("families", [25, "25", {"25": 1}])
def test_families_must_be_a_list_of_ids(families):
    # A string used to be read character by character ("25" -> families 2 and 5).
    with pytest.raises(ValueError, match="families must be a list"):
        spec_from_config("odebench2", {"families": families})


def test_specs_accept_plain_mappings():
    spec = OdeBenchSpec(n_ics={"test": 3}, families=[25])
    assert spec.n_ics.test == 3 and spec.n_ics.val == 8 and spec.families == (25,)
    hash(spec)
    full = {"train": 1, "val": 2, "test": 3, "adapt_train": 1, "adapt_test": 5}
    assert GenDynSpec(n_traj=full).counts("go").as_dict() == full
    with pytest.raises(ValueError, match="lack"):
        GenDynSpec(n_traj={"train": 1})


def test_family_subset_must_belong_to_the_set():
    with pytest.raises(ValueError, match="24"):
        build_dataset("odebench2", spec_from_config("odebench2", {"families": [24]}), seed=0)


def test_build_checks_spec_type():
    with pytest.raises(TypeError, match="GenDynSpec"):
        build_dataset("lv", OdeBenchSpec(), seed=0)


@pytest.mark.parametrize("name", ["odebench2", "lv"])
def test_flat_solver_keys_set_the_integrator(name):
    """The config keeps the solver settings flat in a dataset's section (``simulation`` merged
    in); they land in the spec's one ``IntegratorConfig`` and every other one keeps its
    default."""
    default = default_spec(name)
    flat = {"solver": "tsit5", "rtol": 1e-9, "atol": 1e-11, "max_steps": 500, "chunk_size": 8}
    assert set(flat) == set(INTEGRATOR_KEYS)
    spec = spec_from_config(name, flat)
    assert spec.integrator == IntegratorConfig(**flat)
    assert dataclasses.replace(spec, integrator=default.integrator) == default
    partial = spec_from_config(name, {"atol": 1e-11}).integrator
    assert partial == dataclasses.replace(default.integrator, atol=1e-11)
    with pytest.raises(ValueError, match="'integrator'"):
        spec_from_config(name, {"integrator": {"rtol": 1e-9}})  # not a config key
    with pytest.raises(ValueError, match="solver"):
        spec_from_config(name, {"solver": "euler"})  # not a simulation solver
