"""GEPS (Koupaï et al., 2024): context-conditioned low-rank adaptation of the root MLP
(SPEC §2.2).

Every weight matrix ``W`` (out × in) of the root MLP becomes ``W + A diag(ξ) B`` with
``A`` (out × d) and ``B`` (d × in), a rank-d update; every bias ``b`` becomes ``b + A_b ξ``
with ``A_b`` (out × d). ``A``, ``B`` and ``A_b`` are initialised Glorot (Xavier) uniform; with
contexts starting at 0 the initial field is the plain root MLP. The Swish slopes are shared.

The field is applied in factored form, ``W h + A (ξ ⊙ (B h)) + b + A_b ξ``: the only
per-environment parts are ξ and the adapted biases (``env_factors``), and ``W``, ``A`` and
``B`` stay shared by every environment of a batch, so each is one matrix product for all of
them (``AbstractSharedFieldBackbone``) instead of one per-environment ``W + A diag(ξ) B``.
"""

from __future__ import annotations

import equinox as eqx
import jax
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.backbones.mlp import Biases, SwishMLP, Weights, swish
from mixer.backbones.shared_field import AbstractSharedFieldBackbone

__all__ = ["GEPS", "low_rank_update"]

_glorot = jax.nn.initializers.glorot_uniform()


def low_rank_update(
    w: Float[Array, "out in"],
    a: Float[Array, "out d"],
    b: Float[Array, "d in"],
    ctx: Float[Array, " d"],
) -> Float[Array, "out in"]:
    """``W + A diag(ctx) B`` without forming the diagonal matrix."""
    return w + (a * ctx) @ b


class GEPS(AbstractSharedFieldBackbone):
    """GEPS expert. Options: ``width`` (64), ``depth`` (2 hidden layers, i.e. three linear
    layers) of the root MLP."""

    root: SwishMLP
    lora_a: tuple[Float[Array, "out d"], ...]
    lora_b: tuple[Float[Array, "d in"], ...]
    bias_a: tuple[Float[Array, "out d"], ...]
    state_size: int = eqx.field(static=True)
    context_size: int = eqx.field(static=True)

    def __init__(
        self,
        state_size: int,
        context_size: int,
        *,
        key: PRNGKeyArray,
        width: int = 64,
        depth: int = 2,
    ):
        k_root, k_a, k_b, k_bias = jax.random.split(key, 4)
        self.root = SwishMLP(state_size, state_size, width, depth, key=k_root)
        n = len(self.root.weights)
        shapes = [w.shape for w in self.root.weights]
        d = context_size
        self.lora_a = tuple(
            _glorot(k, (out, d))
            for k, (out, _) in zip(jax.random.split(k_a, n), shapes, strict=True)
        )
        self.lora_b = tuple(
            _glorot(k, (d, fan_in))
            for k, (_, fan_in) in zip(jax.random.split(k_b, n), shapes, strict=True)
        )
        self.bias_a = tuple(
            _glorot(k, (out, d))
            for k, (out, _) in zip(jax.random.split(k_bias, n), shapes, strict=True)
        )
        self.state_size = state_size
        self.context_size = context_size

    def adapted_weights(self, ctx: Float[Array, " d"]) -> tuple[Weights, Biases]:
        """The root weights and biases adapted to ``ctx``."""
        weights = tuple(
            low_rank_update(w, a, b, ctx)
            for w, a, b in zip(self.root.weights, self.lora_a, self.lora_b, strict=True)
        )
        biases = tuple(b + a @ ctx for b, a in zip(self.root.biases, self.bias_a, strict=True))
        return weights, biases

    def env_factors(self, ctx: Float[Array, " d"]) -> tuple[Float[Array, " d"], Biases]:
        """The per-environment part of the factored field: ξ itself and the adapted biases
        ``b + A_b ξ`` of every layer."""
        biases = tuple(b + a @ ctx for b, a in zip(self.root.biases, self.bias_a, strict=True))
        return ctx, biases

    def shared_field(
        self, factors: tuple[Float[Array, " d"], Biases], y: Float[Array, " D"]
    ) -> Float[Array, " D"]:
        """``h ↦ W h + A (ξ ⊙ (B h)) + b_e`` per layer (Swish between layers): the root MLP
        with the adapted weights ``W + A diag(ξ) B`` (up to rounding)."""
        ctx, biases = factors
        betas = self.root.betas
        h = y
        layers = zip(self.root.weights, self.lora_a, self.lora_b, biases, strict=True)
        for i, (w, a, b, bias) in enumerate(layers):
            h = w @ h + a @ (ctx * (b @ h)) + bias
            if i < betas.shape[0]:
                h = swish(h, betas[i])
        return h
