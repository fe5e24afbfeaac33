"""Building a MixER layer: ``make_mixer`` (experts from one key, the initial gate),
``stack_experts`` and the active parameter count.

Choices where the specification is silent: the naive gate starts at N(0, 1e-2²) so that equal
logits do not pin every environment to expert 0, and the active parameter count is that of
one backbone (the expert's scalar shift is not counted, so a MixER-1 counts exactly as its
single backbone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from mixer.backbones.base import AbstractBackbone
from mixer.layer.module import MixER

__all__ = ["make_mixer", "active_param_count", "stack_experts"]

# Scale of the naive gate's random initialisation: small enough that the initial routing is
# close to uniform, large enough to break the tie that would send every environment to expert 0.
_NAIVE_GATE_SCALE = 1e-2


def stack_experts(expert: AbstractBackbone, num_experts: int) -> AbstractBackbone:
    """``num_experts`` identical copies of ``expert`` stacked on a new leading axis of every
    array leaf (what ``eqx.filter_vmap`` of the constructor over one shared key produces)."""

    def stack(leaf: Any) -> Any:
        if eqx.is_array(leaf):
            return jnp.broadcast_to(leaf, (num_experts, *leaf.shape)).copy()
        return leaf

    return jax.tree.map(stack, expert)


def make_mixer(
    backbone: str,
    state_size: int,
    context_size: int,
    num_experts: int,
    *,
    split_contexts: bool,
    naive: bool,
    options: Mapping[str, Any],
    key: PRNGKeyArray,
) -> MixER:
    """Build a MixER layer of ``num_experts`` experts of the registered ``backbone``.

    All experts are initialised from the SAME ``key`` (App. C.3), so the experts start equal
    and a MixER-1 is exactly ``make_backbone(backbone, ..., key=key)``. Shifts start at 0. The
    gate starts at 0 (MixER; the first gate update sets it) or, for the naive variant, at small
    random values drawn from a split of ``key`` so that gradient descent can break symmetry.
    With ``split_contexts`` each expert receives ``context_size // num_experts`` entries.
    """
    from mixer.backbones.registry import make_backbone  # lazy: the registry imports backbones

    if num_experts < 1:
        raise ValueError(f"num_experts must be >= 1, got {num_experts}")
    if context_size < 1:
        raise ValueError(f"context_size must be >= 1, got {context_size}")
    if split_contexts and context_size % num_experts != 0:
        raise ValueError(
            f"split_contexts needs context_size divisible by num_experts, got context_size="
            f"{context_size} and num_experts={num_experts} (remainder "
            f"{context_size % num_experts}); choose d as a multiple of M or disable splitting"
        )
    expert_size = context_size // num_experts if split_contexts else context_size
    single = make_backbone(backbone, state_size, expert_size, options, key=key)
    gate_shape = (context_size + 1, num_experts)
    if naive:
        _, gate_key = jax.random.split(key)
        gate = _NAIVE_GATE_SCALE * jax.random.normal(gate_key, gate_shape)
    else:
        gate = jnp.zeros(gate_shape)
    return MixER(
        experts=stack_experts(single, num_experts),
        shifts=jnp.zeros((num_experts,)),
        gate=gate,
        num_experts=num_experts,
        context_size=context_size,
        split_contexts=split_contexts,
        naive=naive,
    )


def active_param_count(model: MixER) -> int:
    """Parameters of ONE expert (App. C.3): the floating-point entries of one backbone, so that
    a MixER-1 counts exactly as its single backbone (the expert's scalar shift is not counted)."""
    leaves = jax.tree.leaves(eqx.filter(model.expert(0), eqx.is_inexact_array))
    return int(sum(leaf.size for leaf in leaves))
