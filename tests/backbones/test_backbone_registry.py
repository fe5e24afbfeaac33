"""The registry: names, option validation, and the active parameter count."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import pytest

from mixer.backbones.mlp import layer_sizes
from mixer.backbones.registry import BACKBONES, backbone_options, count_params, make_backbone

KEY = jax.random.key(0)


def test_registered_names():
    assert sorted(BACKBONES) == ["cavia", "coda", "geps", "ncf", "plrnn"]


def test_unknown_backbone_is_named():
    with pytest.raises(ValueError, match="'transformer'"):
        make_backbone("transformer", 2, 2, {}, key=KEY)


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match="'widht'.*'ncf'"):
        make_backbone("ncf", 2, 2, {"widht": 8}, key=KEY)


def test_options_reach_the_constructor():
    small = make_backbone("geps", 2, 3, {"width": 4, "depth": 1}, key=KEY)
    default = make_backbone("geps", 2, 3, {}, key=KEY)
    assert small.root.weights[0].shape == (4, 2)
    assert default.root.weights[0].shape == (backbone_options("geps")["width"], 2)
    assert len(default.root.weights) == backbone_options("geps")["depth"] + 1


def test_every_option_has_a_default():
    for name in BACKBONES:
        options = backbone_options(name)
        assert options and "key" not in options, name
        assert all(v is not inspect.Parameter.empty for v in options.values()), name
    assert backbone_options("ncf")["taylor_order"] == 2
    assert backbone_options("plrnn")["hidden"] == 16 and backbone_options("plrnn")["alpha"] == 0.5


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
