"""RunId: one home for what names a run (variant parsing, run folder, what files record)."""

from pathlib import Path

import pytest

from mixer.run_id import RunId, parse_variant


def test_variant_kind_and_expert_count():
    assert parse_variant("mixer10") == (10, False)
    assert parse_variant("naive2") == (2, True)
    run = RunId("odebench10b", "odebench10b", "geps", "naive10", 0)
    assert (run.kind, run.num_experts) == ("naive", 10)
    assert RunId("lv", "lv", "ncf", "mixer3", 1).kind == "mixer"


@pytest.mark.parametrize("variant", ["mixer0", "moe2", "mixer", "naive-1", "Mixer2"])
def test_malformed_variants_are_refused(variant):
    with pytest.raises(ValueError, match="is not 'mixer<M>' or 'naive<M>'"):
        RunId("lv", "lv", "ncf", variant, 0)


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        RunId("lv", "lv", "ncf", "mixer1", seed)


def test_folder_and_path_parsing_are_inverse():
    run = RunId("go", None, "coda", "mixer3", 4)
    folder = run.folder()
    assert folder == Path("results/runs/go/coda/mixer3/seed4")
    assert RunId.from_path(folder / "metrics.json") == run
    assert RunId.from_path(run.folder("/elsewhere") / "eval.json") == run


@pytest.mark.parametrize(
    "bad", ["results/runs/lv/geps/mixer3/metrics.json", "metrics.json", "a/b/c/seedX/m.json"]
)
def test_a_path_outside_a_run_folder_is_an_error(bad):
    with pytest.raises(ValueError, match="not inside a run folder"):
        RunId.from_path(bad)


def test_dict_and_json_round_trips_and_checks_derived_keys():
    run = RunId("odebench2", "odebench2", "ncf", "naive2", 2)
    record = run.as_dict()
    assert record["kind"] == "naive" and record["num_experts"] == 2
    assert RunId.from_dict(record) == run == RunId.from_json(run.to_json())
    with pytest.raises(ValueError, match="num_experts does not match"):
        RunId.from_dict({**record, "num_experts": 3})
    with pytest.raises(ValueError, match="lacks"):
        RunId.from_dict({k: v for k, v in record.items() if k != "seed"})


def test_the_config_schema_spells_the_same_variant_pattern():
    import yaml

    from mixer.run_id import VARIANT_PATTERN

    schema = (
        Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"
    ).read_text()
    assert f'pattern: "^{VARIANT_PATTERN}$"' in schema
    assert yaml.safe_load(schema)  # still a valid schema file
