"""The linear gate: logits, top-1 routing, probabilities and the initial gate state.

The gate is a ``(d + 1, M)`` matrix ``W`` whose LAST row is the bias: the logits of a context
``ξ`` are ``[ξ, 1] @ W`` (paper Eq. 8 with the bias of its footnote 1).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int


class GateState(NamedTuple):
    """What the gate update carries from one call to the next.

    A NamedTuple, so it is a pytree and unpacks as ``weights, centroids, has_centroids``.
    """

    weights: Float[Array, "d_plus_1 M"]
    centroids: Float[Array, "M d"]
    has_centroids: Bool[Array, ""]


def initial_gate_state(num_experts: int, context_size: int) -> GateState:
    """The state before any update: a zero gate (every environment routed to expert 0, as
    ``argmax`` of equal logits), zero centroids and ``has_centroids`` False, so the first
    K-means run draws fresh centroids."""
    return GateState(
        weights=jnp.zeros((context_size + 1, num_experts)),
        centroids=jnp.zeros((num_experts, context_size)),
        has_centroids=jnp.asarray(False),
    )


def augment(contexts: Float[Array, "E d"]) -> Float[Array, "E d_plus_1"]:
    """Append the constant bias entry: ``[ξ, 1]`` for every row."""
    ones = jnp.ones((*contexts.shape[:-1], 1), dtype=contexts.dtype)
    return jnp.concatenate([contexts, ones], axis=-1)


def gate_logits(
    weights: Float[Array, "d_plus_1 M"], contexts: Float[Array, "*E d"]
) -> Float[Array, "*E M"]:
    """The M logits ``[ξ, 1] @ W`` of every context (a single context ``(d,)`` works too),
    computed as ``ξ @ W[:-1] + W[-1]`` without materialising ``[ξ, 1]``. The MixER layer
    routes with it (``MixER.routed``), so this is the forward pass's gate."""
    return contexts @ weights[:-1] + weights[-1]


def route(weights: Float[Array, "d_plus_1 M"], contexts: Float[Array, "*E d"]) -> Int[Array, "*E"]:
    """Top-1 routing: the expert with the largest logit (ties go to the lowest index)."""
    return jnp.argmax(gate_logits(weights, contexts), axis=-1).astype(jnp.int32)


def gate_probabilities(
    weights: Float[Array, "d_plus_1 M"], contexts: Float[Array, "*E d"]
) -> Float[Array, "*E M"]:
    """Softmax of the logits: the gate probabilities reported per environment."""
    return jax.nn.softmax(gate_logits(weights, contexts), axis=-1)
