"""The config schema: defaults filled, bad keys and types rejected with the key named."""

import copy
import dataclasses
import inspect
import math
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


def _schema_defaults(schema, path=()):
    """(key path, default) of every value the filling sets: the defaults of keys inside
    objects, and a section of overrides (``x-overrides``) as a whole (its own default only)."""
    for key, sub in schema.get("properties", {}).items():
        filled_inside = sub.get("type") == "object" and not sub.get("x-overrides", False)
        if filled_inside:
            yield from _schema_defaults(sub, (*path, key))
        elif "default" in sub:
            yield (*path, key), sub["default"]


def _get(cfg, path):
    for key in path:
        cfg = cfg[key]
    return cfg


def test_every_schema_default_is_filled_into_an_empty_config():
    cfg = validate_config({}, SCHEMA)
    defaults = list(_schema_defaults(SCHEMA))
    assert len(defaults) > 100  # the walk reaches the nested sections
    missing = {".".join(path): value for path, value in defaults if _get(cfg, path) != value}
    assert not missing


def test_given_values_win_and_their_missing_siblings_are_filled():
    given = {"seed": 7, "data": {"go": {"n_traj": {"train": 3}}}}
    cfg = validate_config(copy.deepcopy(given), SCHEMA)
    assert cfg["seed"] == 7 and cfg["data"]["go"]["n_traj"]["train"] == 3
    n_traj = _section("data", "go", "n_traj")
    for split in set(n_traj) - {"train"}:
        assert cfg["data"]["go"]["n_traj"][split] == n_traj[split]["default"], split
    assert cfg["data"]["lv"] == validate_config({}, SCHEMA)["data"]["lv"]


def test_override_sections_get_no_defaults_of_their_own():
    """An experiment's `training` holds only the keys given: a filled-in default would
    override models.training for every run of it."""
    cfg = validate_config({"experiments": {"lv": {"training": {"outer_steps": 3}}}}, SCHEMA)
    assert cfg["experiments"]["lv"]["training"] == {"outer_steps": 3}
    assert cfg["experiments"]["go"]["training_by_backbone"] == {}


def test_filled_defaults_are_copies_of_the_schema_s():
    cfg = validate_config({}, SCHEMA)
    cfg["datasets"].remove("lv")
    assert "lv" in SCHEMA["properties"]["datasets"]["default"]
    assert "lv" in validate_config({}, SCHEMA)["datasets"]


def test_a_backbone_option_in_the_config_changes_the_built_model():
    from mixer.experiment import build_model, run_spec

    def root_width(cfg):
        run = run_spec(cfg["models"], cfg["experiments"]["lv"], "geps", "mixer3", 0)
        return build_model(run, 2).experts.root.weights[0].shape[1]

    cfg = validate_config({}, SCHEMA)
    default = root_width(cfg)
    cfg["models"]["backbones"]["geps"]["width"] = default + 3
    assert root_width(cfg) == default + 3
    override = {"backbone_options": {"geps": {"width": default + 1}}}
    cfg = validate_config({"experiments": {"lv": override}}, SCHEMA)
    assert root_width(cfg) == default + 1


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


@pytest.mark.parametrize(
    ("name", "outer_steps", "gate_every", "gate_warmup"),
    [("test.yaml", 4, 1, 1), ("paper.yaml", 500, 1, 0)],
)
def test_scale_configs_replace_every_default_run_override(
    name, outer_steps, gate_every, gate_warmup
):
    """`--configfile X` is merged on top of config.yaml (Snakemake's update_config): no
    default-run override of an experiment may leak into the test or paper scale."""
    from snakemake.utils import update_config

    from mixer.experiment import experiment_runs, run_spec

    merged = load("config.yaml")
    update_config(merged, load(name))
    cfg = validate_config(merged, SCHEMA)
    for exp_name, exp in cfg["experiments"].items():
        for backbone, variant, seed in experiment_runs(exp):
            run = run_spec(cfg["models"], exp, backbone, variant, seed)
            where = f"{name}: {exp_name}/{backbone}/{variant}"
            assert run.train.outer_steps == outer_steps, where
            assert run.train.gate_update_every == gate_every, where
            assert run.train.gate_warmup == gate_warmup, where
            assert run.train.batch_size is None, where


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


# ------------------------------------------------------------------------ one home for defaults
# The schema fills its defaults into every config, while a library user gets the dataclasses'.
# Each schema section below holds the fields of one library dataclass: the two must agree.


def _section(*path):
    node = SCHEMA
    for key in path:
        node = node["properties"][key]
    return node["properties"]


def _same(schema_value, library_value):
    """Equal, with YAML lists read as tuples and floats compared to 1e-9 (YAML cannot write
    1/3; the schedule rounds its boundaries to whole steps)."""
    if isinstance(schema_value, list):
        library = tuple(library_value) if isinstance(library_value, tuple | list) else None
        return (
            library is not None
            and len(library) == len(schema_value)
            and all(_same(a, b) for a, b in zip(schema_value, library, strict=True))
        )
    if isinstance(schema_value, float) and isinstance(library_value, float | int):
        return math.isclose(schema_value, library_value, rel_tol=1e-9)
    return type(schema_value) is type(library_value) and schema_value == library_value


def _library_homes():
    from mixer.adapt import AdaptConfig
    from mixer.data.integrate import IntegratorConfig
    from mixer.gating import GateConfig
    from mixer.solve import SolverConfig
    from mixer.train_config import TrainConfig

    return {
        "models.solver": SolverConfig,
        "models.gate": GateConfig,
        "models.training": TrainConfig,
        "models.adaptation": AdaptConfig,
        "simulation": IntegratorConfig,
    }


# Schema keys of those sections that are not a field of the section's dataclass, and the
# function whose parameter of that name takes them instead.
PARAMETER_HOMES = {"models.training": {"history_every": "mixer.train.fit"}}
# Fields that are not keys of the section: nested sections, the integrator's numerics that the
# config leaves at the library's values, and fields without a default (always given).
NOT_IN_SECTION = {
    "models.training": {"solver", "gate"},
    "models.adaptation": {"solver"},
    "simulation": {"solver", "max_steps", "chunk_size"},
}
REQUIRED = {"models.training": {"outer_steps", "prox_beta"}}


def _parameter_default(function, name):
    import importlib

    module, _, attribute = function.rpartition(".")
    parameters = inspect.signature(getattr(importlib.import_module(module), attribute)).parameters
    return parameters[name].default


@pytest.mark.parametrize(
    "section",
    ["models.solver", "models.gate", "models.training", "models.adaptation", "simulation"],
)
def test_schema_defaults_equal_the_library_defaults(section):
    """Every default of the section is the default of its dataclass field (or of the function
    parameter that takes it), and every field with a default is a key of the section."""
    cls = _library_homes()[section]
    schema = {key: node["default"] for key, node in _section(*section.split(".")).items()}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    required = {name for name, f in fields.items() if f.default is dataclasses.MISSING}
    assert required == REQUIRED.get(section, set())
    elsewhere = PARAMETER_HOMES.get(section, {})
    assert set(schema) == set(fields) - NOT_IN_SECTION.get(section, set()) | set(elsewhere)
    drift = {}
    for key, value in schema.items():
        if key in elsewhere:
            library = _parameter_default(elsewhere[key], key)
        elif key in required:
            continue
        else:
            library = fields[key].default
        if not _same(value, library):
            drift[key] = (value, library)
    assert not drift, f"{section}: schema default != library default: {drift}"


def test_drift_is_detected():
    """The comparison itself: a drifted default, a missing key and a changed type fail."""
    assert _same([0.3333333333, 0.6666666667], (1 / 3, 2 / 3))
    assert not _same([0.3333333333], (1 / 3, 2 / 3))
    assert not _same(10, 1) and not _same("reseed", "stop") and not _same(None, 0)
    assert not _same(1, True) and _same(1.0e-3, 1e-3) and _same(1.0, 1)


def test_schema_choices_are_the_library_choices():
    """The names a config may choose are the library's registries, not a second list."""
    from mixer.gating.assignment import PAIRINGS
    from mixer.gating.kmeans import ON_EMPTY
    from mixer.solve.registry import GRID_SOLVERS, MODEL_SOLVERS
    from mixer.train_config import ORDERS

    enums = {
        "solver": (_section("models", "solver")["solver"], (*MODEL_SOLVERS, *GRID_SOLVERS)),
        "pairing": (_section("models", "gate")["pairing"], PAIRINGS),
        "on_empty": (_section("models", "gate")["on_empty"], ON_EMPTY),
        "order": (_section("models", "training")["order"], ORDERS),
    }
    for name, (node, library) in enums.items():
        assert set(node["enum"]) == set(library), name


def test_simulation_range_is_the_integrators():
    """A tolerance the schema accepts is one the simulator accepts, and the schema refuses
    the first value the simulator refuses."""
    from mixer.data.integrate import IntegratorConfig

    for key in ("rtol", "atol"):
        limit = _section("simulation")[key]["maximum"]
        IntegratorConfig(**{key: limit})
        with pytest.raises(ValueError, match=key):
            IntegratorConfig(**{key: 10 * limit})
        cfg = load("test.yaml")
        cfg["simulation"][key] = 10 * limit
        with pytest.raises(ConfigError, match=f"simulation.{key}"):
            validate_config(cfg, SCHEMA)


@pytest.mark.parametrize("backbone", ["ncf", "coda", "geps", "cavia", "plrnn"])
def test_backbone_defaults_equal_the_constructors(backbone):
    from mixer.backbones.registry import backbone_options

    schema = {k: v["default"] for k, v in _section("models", "backbones", backbone).items()}
    library = backbone_options(backbone)
    assert set(schema) == set(library)
    drift = {k: (v, library[k]) for k, v in schema.items() if not _same(v, library[k])}
    assert not drift, f"{backbone}: {drift}"


@pytest.mark.parametrize(
    "name", ["odebench2", "odebench10a", "odebench10b", "lv", "go", "sm", "sccts", "epilepsy2"]
)
def test_data_defaults_equal_the_dataset_specs(name):
    """A dataset built from the schema's defaults is the dataset spec's default one."""
    from mixer.data.gendyn import GenDynSpec
    from mixer.data.registry import default_spec, spec_from_config

    cfg = validate_config({}, SCHEMA)
    default = default_spec(name)
    section = dict(cfg["data"][name])
    if hasattr(default, "integrator"):
        section.update(cfg["simulation"])  # as the workflow gives it (WorkflowPlan.dataset_section)
    spec = spec_from_config(name, section)
    if isinstance(spec, GenDynSpec) and isinstance(default, GenDynSpec):
        assert spec.counts(name) == default.counts(name)  # explicit counts vs the table's
        spec = dataclasses.replace(spec, n_traj=None)
    assert spec == default
