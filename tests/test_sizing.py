"""Tests of the width search that matches active parameter counts (paper App. C.3, Table 4)."""

from __future__ import annotations

import jax
import pytest

from mixer.layer import active_param_count, make_mixer
from mixer.sizing import (
    SizingRequest,
    active_count,
    relative_difference,
    size_all,
    width_for_active_params,
)

# (backbone, state size, context size, width option) covering every registered backbone.
BACKBONES = [
    ("ncf", 2, 8, "width"),
    ("coda", 2, 2, "width"),
    ("geps", 7, 2, "width"),
    ("cavia", 2, 2, "width"),
    ("plrnn", 1, 10, "hidden"),
]


@pytest.mark.parametrize(("backbone", "state", "ctx", "option"), BACKBONES)
def test_active_count_is_the_layers_count(backbone, state, ctx, option):
    """The traced count equals ``active_param_count`` of a concretely built MixER-2 (split
    contexts), and a MixER-M counts as one expert whatever M."""
    options = {option: 5}
    model = make_mixer(
        backbone,
        state,
        ctx,
        2,
        split_contexts=True,
        naive=False,
        options=options,
        key=jax.random.key(7),
    )
    assert active_count(
        backbone, state, ctx, 2, split_contexts=True, options=options
    ) == active_param_count(model)
    assert (
        len(
            {
                active_count(backbone, state, ctx, m, split_contexts=False, options=options)
                for m in (1, 2, 3)
            }
        )
        == 1
    )


@pytest.mark.parametrize(("backbone", "state", "ctx", "option"), BACKBONES)
def test_count_is_strictly_increasing_in_width(backbone, state, ctx, option):
    counts = [
        active_count(backbone, state, ctx, 1, split_contexts=False, options={option: w})
        for w in range(1, 12)
    ]
    assert all(a < b for a, b in zip(counts, counts[1:], strict=False))


@pytest.mark.parametrize(("backbone", "state", "ctx", "option"), BACKBONES)
@pytest.mark.parametrize("target", [20_000, 60_000])
def test_returned_width_is_the_closest_within_tolerance(backbone, state, ctx, option, target):
    width, count = width_for_active_params(
        backbone, state, ctx, 3, target, split_contexts=False, options={}, width_option=option
    )
    assert abs(relative_difference(count, target)) <= 0.02
    assert count == active_count(
        backbone, state, ctx, 3, split_contexts=False, options={option: width}
    )
    for other in (width - 1, width + 1):
        if other >= 1:
            other_count = active_count(
                backbone, state, ctx, 3, split_contexts=False, options={option: other}
            )
            assert abs(other_count - target) >= abs(count - target)


def test_other_options_are_kept_and_the_width_option_replaced():
    deep = width_for_active_params(
        "coda", 2, 2, 1, 50_000, split_contexts=False, options={"depth": 4, "width": 3}
    )
    shallow = width_for_active_params(
        "coda", 2, 2, 1, 50_000, split_contexts=False, options={"depth": 2}
    )
    assert deep[0] < shallow[0]


def test_split_contexts_changes_what_one_expert_sees():
    whole = active_count("ncf", 2, 12, 3, split_contexts=False, options={})
    split = active_count("ncf", 2, 12, 3, split_contexts=True, options={})
    assert whole - split == 32 * (12 - 4)  # the context sub-network's first layer, d -> 32


def test_impossible_target_raises():
    # NCF with d = 512 has > 16k parameters in its context sub-network whatever the width.
    with pytest.raises(ValueError, match=r"no width of ncf .* within 2\.0%"):
        width_for_active_params("ncf", 2, 512, 1, 1_000, split_contexts=False, options={})
    # Counts of a tiny PLRNN jump by 2 + 2d = 22 per hidden unit: 30 is not reachable at 1 %.
    with pytest.raises(ValueError, match="nearest is hidden="):
        width_for_active_params(
            "plrnn",
            1,
            10,
            1,
            60,
            split_contexts=False,
            options={},
            width_option="hidden",
            tolerance=0.01,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width_option": "hidden"}, "not an option of backbone 'coda'"),
        ({"target": 0}, "positive parameter count"),
        ({"tolerance": 0.0}, "tolerance must be > 0"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    args = {"target": 10_000, **kwargs}
    target = args.pop("target")
    with pytest.raises(ValueError, match=message):
        width_for_active_params("coda", 2, 2, 1, target, split_contexts=False, options={}, **args)


# Table 4 #PARAMS (paper §4.2) and the widths of config/paper.yaml, root MLP of depth 2 (three
# linear layers, SPEC §2.2): (dataset state size, backbone, context size, experts, target,
# width). Single CAVIA / CoDA /
# NCF match the CAVIA / CoDA* / NCF* rows, MixER-3 the MixER-{NCF,CoDA,GEPS} rows; no context
# splitting (d = 2 and d = 512 do not divide into 3 equal chunks).
TABLE4 = {
    "lv/cavia": (2, "cavia", 2, 1, 305246, 549),
    "lv/coda": (2, "coda", 2, 1, 305793, 316),
    "lv/ncf": (2, "ncf", 512, 1, 308240, 505),
    "lv/mixer3-ncf": (2, "ncf", 512, 3, 307245, 504),
    "lv/mixer3-coda": (2, "coda", 2, 3, 307995, 317),
    "lv/mixer3-geps": (2, "geps", 2, 3, 305112, 543),
    "go/cavia": (7, "cavia", 2, 1, 130711, 353),
    "go/coda": (7, "coda", 2, 1, 135390, 205),
    "go/ncf": (7, "ncf", 512, 1, 131149, 301),
    "go/mixer3-ncf": (7, "ncf", 512, 3, 130535, 300),
    "go/mixer3-coda": (7, "coda", 2, 3, 132137, 202),
    "go/mixer3-geps": (7, "geps", 2, 3, 131747, 349),
    "sm/cavia": (2, "cavia", 2, 1, 50486, 221),
    "sm/coda": (2, "coda", 2, 1, 50547, 127),
    "sm/ncf": (2, "ncf", 512, 1, 50000, 146),
    "sm/mixer3-ncf": (2, "ncf", 512, 3, 50387, 147),
    "sm/mixer3-coda": (2, "coda", 2, 3, 51995, 129),
    "sm/mixer3-geps": (2, "geps", 2, 3, 51312, 218),
}


@pytest.mark.parametrize("name", sorted(TABLE4))
def test_table4_widths_match_the_paper_counts(name):
    state, backbone, ctx, experts, target, width = TABLE4[name]
    counts = {
        w: active_count(
            backbone, state, ctx, experts, split_contexts=False, options={"width": w, "depth": 2}
        )
        for w in (width - 1, width, width + 1)
    }
    assert abs(relative_difference(counts[width], target)) <= 0.02
    assert min(counts, key=lambda w: (abs(counts[w] - target), w)) == width


def test_size_all_returns_rows_without_printing(capsys):
    rows = size_all(
        [
            SizingRequest("a", "coda", 2, 2, 1, 305793),
            SizingRequest("b", "plrnn", 1, 10, 3, 2_000, width_option="hidden"),
        ]
    )
    assert [r.label for r in rows] == ["a", "b"]
    assert rows[0].width == 316  # CoDA default depth 2
    assert all(abs(r.rel_diff) <= 0.02 for r in rows)
    assert capsys.readouterr() == ("", "")


def test_paper_yaml_widths_are_the_table4_widths():
    """config/paper.yaml sizes LV, GO and SM with the widths checked above, at depth 2."""
    import pathlib

    import yaml

    config = yaml.safe_load(
        (pathlib.Path(__file__).parents[1] / "config" / "paper.yaml").read_text()
    )
    assert {b: o["depth"] for b, o in config["models"]["backbones"].items()} == {
        "ncf": 2,
        "coda": 2,
        "geps": 2,
        "cavia": 2,
    }
    for name, (_, backbone, _, experts, _, width) in TABLE4.items():
        dataset = name.split("/")[0]
        variant = f"mixer{experts}"
        assert config["experiments"][dataset]["variant_options"][variant][backbone] == {
            "width": width
        }, name


def test_geps_expert_of_the_authors_size():
    """The ODEBench-10B GEPS expert (2-D states, d_m = 4, root 2 -> 64 -> 64 -> 2): 4,482 root
    weights and biases, 2 Swish slopes and 3 x 520 entries of A, B and A_b."""
    count = active_count("geps", 2, 40, 10, split_contexts=True, options={"width": 64, "depth": 2})
    assert count == 4482 + 2 + 3 * 520 == 6044
