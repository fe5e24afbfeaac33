"""The registry: config names to classes, option validation, and the active parameter count."""

from __future__ import annotations

import inspect

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

from mixer.backbones.base import AbstractBackbone
from mixer.backbones.mlp import layer_sizes
from mixer.backbones.registry import BACKBONES, backbone_options, count_params, make_backbone

KEY = jax.random.key(0)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_registered_name_builds_its_class(name):
    model = make_backbone(name, 2, 3, {}, key=KEY)
    assert type(model) is BACKBONES[name] and isinstance(model, AbstractBackbone)


def test_unknown_backbone_is_named_with_the_choices():
    for call in (
        lambda: make_backbone("transformer", 2, 2, {}, key=KEY),
        lambda: backbone_options("transformer"),
    ):
        with pytest.raises(ValueError, match="'transformer'") as err:
            call()
        assert all(repr(name) in str(err.value) for name in BACKBONES), str(err.value)


def test_unknown_option_is_named_with_the_allowed_keys():
    with pytest.raises(ValueError, match="'widht'.*'ncf'") as err:
        make_backbone("ncf", 2, 2, {"widht": 8}, key=KEY)
    assert all(repr(key) in str(err.value) for key in backbone_options("ncf"))


def test_options_reach_the_constructor():
    small = make_backbone("geps", 2, 3, {"width": 4, "depth": 1}, key=KEY)
    default = make_backbone("geps", 2, 3, {}, key=KEY)
    assert small.root.weights[0].shape == (4, 2)
    assert default.root.weights[0].shape == (backbone_options("geps")["width"], 2)
    assert len(default.root.weights) == backbone_options("geps")["depth"] + 1


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_the_reported_options_are_the_ones_a_missing_key_takes(name):
    """``backbone_options`` lists every option with the value a config without it gets: the
    model built from them explicitly is the one built from an empty section."""
    options = backbone_options(name)
    assert options and "key" not in options
    assert all(v is not inspect.Parameter.empty for v in options.values())
    explicit = make_backbone(name, 2, 3, options, key=KEY)
    implicit = make_backbone(name, 2, 3, {}, key=KEY)
    assert jax.tree.structure(explicit) == jax.tree.structure(implicit)
    assert all(
        bool(jnp.array_equal(a, b)) if eqx.is_array(a) else a == b
        for a, b in zip(jax.tree.leaves(explicit), jax.tree.leaves(implicit), strict=True)
    )


def _mlp_count(in_size, out_size, width, depth):
    return sum(i * o + o for i, o in layer_sizes(in_size, out_size, width, depth)) + depth


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # root MLP, plus (out*in + out) * d hypernetwork entries per layer
        ("coda", _mlp_count(2, 2, 6, 2) * 1 + (_mlp_count(2, 2, 6, 2) - 2) * 3),
        # root MLP, plus A (out x d), B (d x in), A_b (out x d) per layer
        ("geps", _mlp_count(2, 2, 6, 2) + 3 * ((6 + 2 + 6) + (6 + 6 + 6) + (2 + 6 + 2))),
        ("cavia", _mlp_count(2 + 3, 2, 6, 2)),
    ],
)
def test_count_params_matches_the_architecture(name, expected):
    model = make_backbone(name, 2, 3, {"width": 6, "depth": 2}, key=KEY)
    assert count_params(model) == expected


def test_count_params_plrnn_and_ncf():
    d, big_d, hidden = 3, 2, 5
    plrnn = make_backbone("plrnn", big_d, d, {"hidden": hidden}, key=KEY)
    per_env = big_d + 2 * big_d * hidden + big_d + hidden  # A, W1, W2, h1, h2
    assert count_params(plrnn) == per_env * (1 + d)
    ncf = make_backbone(
        "ncf", big_d, d, {"width": 6, "depth": 2, "ctx_features": 4, "state_features": 5}, key=KEY
    )
    expected = _mlp_count(d, 4, 4, 1) + _mlp_count(big_d, 5, 5, 1) + _mlp_count(9, big_d, 6, 2)
    assert count_params(ncf) == expected


def test_count_params_ignores_non_float_leaves():
    tree = {"w": jnp.ones((3, 4)), "i": jnp.arange(5), "s": 7, "b": jnp.zeros(2)}
    assert count_params(tree) == 14
