"""GEPS (Koupaï et al., 2024): context-conditioned low-rank adaptation of the root MLP
(SPEC §2.2).

Every weight matrix ``W`` (out × in) of the root MLP becomes ``W + A diag(ξ) B`` with
``A`` (out × d) and ``B`` (d × in), a rank-d update; every bias ``b`` becomes ``b + A_b ξ``
with ``A_b`` (out × d). ``A``, ``B`` and ``A_b`` are initialised Glorot (Xavier) uniform; with
contexts starting at 0 the initial field is the plain root MLP. The Swish slopes are shared.

``predict`` applies the update in factored form, ``W h + (A diag(ξ)) (B h)``: the
context-dependent factors ``A diag(ξ)`` and the adapted biases are formed once per call, and
the shared ``W`` and ``B`` stay shared across every environment of a batch (one dense matrix
product for all of them instead of one per-environment ``W + A diag(ξ) B``).
"""

from __future__ import annotations

import equinox as eqx
import jax
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.backbones.base import AbstractBackbone
from mixer.backbones.mlp import Biases, SwishMLP, Weights, swish
from mixer.solve import SolverConfig, solve_many

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


class GEPS(AbstractBackbone):
    """GEPS expert. Options: ``width`` (64), ``depth`` (3 hidden layers) of the root MLP."""

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
        depth: int = 3,
    ):
        k_root, k_a, k_b, k_bias = jax.random.split(key, 4)
        self.root = SwishMLP(state_size, state_size, width, depth, key=k_root)
        n = len(self.root.weights)
        shapes = [w.shape for w in self.root.weights]
        d = context_size
        self.lora_a = tuple(
            _glorot(k, (out, d)) for k, (out, _) in zip(jax.random.split(k_a, n), shapes)
        )
        self.lora_b = tuple(
            _glorot(k, (d, fan_in)) for k, (_, fan_in) in zip(jax.random.split(k_b, n), shapes)
        )
        self.bias_a = tuple(
            _glorot(k, (out, d)) for k, (out, _) in zip(jax.random.split(k_bias, n), shapes)
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

    def adapted_factors(
        self, ctx: Float[Array, " d"]
    ) -> tuple[tuple[Float[Array, "out d"], ...], Biases]:
        """The context-dependent parts of the factored field: ``A diag(ctx)`` of every layer
        and the adapted biases ``b + A_b ctx``."""
        scaled = tuple(a * ctx for a in self.lora_a)
        biases = tuple(b + a @ ctx for b, a in zip(self.root.biases, self.bias_a, strict=True))
        return scaled, biases

    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time D"]:
        """Form the context factors once, then roll out the factored field from ``x[:, 0]``;
        equal (up to rounding) to the root MLP with ``adapted_weights(ctx)``."""
        scaled, biases = self.adapted_factors(ctx)
        weights, lora_b, betas = self.root.weights, self.lora_b, self.root.betas

        def field(_, y: Float[Array, " D"]) -> Float[Array, " D"]:
            h = y
            for i, (w, a, b, bias) in enumerate(zip(weights, scaled, lora_b, biases,
                                                    strict=True)):
                h = w @ h + a @ (b @ h) + bias
                if i < betas.shape[0]:
                    h = swish(h, betas[i])
            return h

        return solve_many(field, x[:, 0], t, solver, scale=scale)
