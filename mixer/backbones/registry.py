"""The registry mapping config names to backbone classes, and the parameter count."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
from jaxtyping import PRNGKeyArray

from mixer.backbones.base import AbstractBackbone
from mixer.backbones.cavia import CAVIA
from mixer.backbones.coda import CoDA
from mixer.backbones.geps import GEPS
from mixer.backbones.ncf import NCF
from mixer.backbones.plrnn import PLRNN

__all__ = ["BACKBONES", "backbone_options", "count_params", "make_backbone"]

BACKBONES: dict[str, type[AbstractBackbone]] = {
    "ncf": NCF,
    "coda": CoDA,
    "geps": GEPS,
    "cavia": CAVIA,
    "plrnn": PLRNN,
}


def backbone_options(name: str) -> dict[str, Any]:
    """The option keys a backbone accepts, with their default values."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known backbones: {sorted(BACKBONES)}")
    params = inspect.signature(BACKBONES[name].__init__).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "key"
    }


def make_backbone(
    name: str,
    state_size: int,
    context_size: int,
    options: Mapping[str, Any],
    *,
    key: PRNGKeyArray,
) -> AbstractBackbone:
    """Build the backbone ``name`` for states of size ``state_size`` and contexts of size
    ``context_size``; ``options`` is its config section (missing keys take the defaults).

    Raises ``ValueError`` naming an unknown backbone or an unknown option key.
    """
    allowed = backbone_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for backbone {name!r}; allowed: {sorted(allowed)}"
        )
    cls: Any = BACKBONES[name]  # a concrete backbone; the abstract base declares no __init__
    return cls(state_size, context_size, key=key, **dict(options))


def count_params(module: Any) -> int:
    """Number of scalars in the inexact (floating) array leaves of ``module``: for one expert,
    the paper's "active parameter count"."""
    leaves = jax.tree.leaves(eqx.filter(module, eqx.is_inexact_array))
    return sum(int(leaf.size) for leaf in leaves)
