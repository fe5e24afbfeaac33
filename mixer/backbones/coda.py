"""CoDA (Kirchmeyer et al., 2022): hypernetwork conditioning of the root MLP (SPEC §2.2).

The environment's root weights are ``θ_e = θ + W_h ξ`` with ``W_h`` a bias-free linear map from
the context (size d) to every weight and bias of the root MLP. ``W_h`` is stored in blocks, one
array ``(*shape_of_parameter, d)`` per root parameter; stacked row-wise these blocks are the
``(n_root_params, d)`` matrix. The Swish slopes are shared across environments (not adapted).
``θ_e`` is formed once per ``predict`` call and the vector field only applies it.

For the gate's loss matrix (every expert on every environment) the same field is applied
without forming ``θ_e``: ``W_e h = W h + Σ_k ξ_k H_k h = [W, H] [h; ξ ⊗ h]`` with ``H`` the
weight blocks of ``W_h`` laid out as an ``(out, in · d)`` matrix, so every weight is shared by
all environments and each layer is one matrix product over them (``shared_field``).

Initialisation of ``W_h``: i.i.d. normal with standard deviation ``hyper_init_std`` (default
1e-2). Not zeros: contexts start at 0, and with ``W_h = 0`` neither ``W_h`` nor the contexts
would ever receive a gradient (``∂L/∂ξ = W_hᵀ ∂L/∂θ_e`` and ``∂L/∂W_h = ∂L/∂θ_e ξᵀ``).
"""

from __future__ import annotations

import equinox as eqx
import jax
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.backbones.mlp import Biases, SwishMLP, Weights, rollout_mlp, swish
from mixer.backbones.shared_field import AbstractSharedFieldBackbone
from mixer.solve import SolverConfig

__all__ = ["CoDA"]


class CoDA(AbstractSharedFieldBackbone):
    """CoDA expert. Options: ``width`` (64), ``depth`` (2 hidden layers, i.e. three linear
    layers), ``hyper_init_std``
    (1e-2, standard deviation of the hypernetwork's initial entries)."""

    root: SwishMLP
    hyper_weights: tuple[Float[Array, "out fan_in d"], ...]
    hyper_biases: tuple[Float[Array, "out d"], ...]
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
        hyper_init_std: float = 1e-2,
    ):
        k_root, k_hyper = jax.random.split(key)
        self.root = SwishMLP(state_size, state_size, width, depth, key=k_root)
        keys = jax.random.split(k_hyper, 2 * len(self.root.weights))
        self.hyper_weights = tuple(
            hyper_init_std * jax.random.normal(k, (*w.shape, context_size))
            for k, w in zip(keys[::2], self.root.weights, strict=True)
        )
        self.hyper_biases = tuple(
            hyper_init_std * jax.random.normal(k, (*b.shape, context_size))
            for k, b in zip(keys[1::2], self.root.biases, strict=True)
        )
        self.state_size = state_size
        self.context_size = context_size

    def adapted_weights(self, ctx: Float[Array, " d"]) -> tuple[Weights, Biases]:
        """``θ + W_h ctx`` for every weight matrix and bias of the root MLP."""
        weights = tuple(
            w + h @ ctx for w, h in zip(self.root.weights, self.hyper_weights, strict=True)
        )
        biases = tuple(
            b + h @ ctx for b, h in zip(self.root.biases, self.hyper_biases, strict=True)
        )
        return weights, biases

    def env_factors(self, ctx: Float[Array, " d"]) -> tuple[Float[Array, " d"], Biases]:
        """The per-environment part of the shared field: ξ and the adapted biases."""
        biases = tuple(
            b + h @ ctx for b, h in zip(self.root.biases, self.hyper_biases, strict=True)
        )
        return ctx, biases

    def shared_field(
        self, factors: tuple[Float[Array, " d"], Biases], y: Float[Array, " D"]
    ) -> Float[Array, " D"]:
        """``h ↦ W h + H (h ⊗ ξ) + b_e`` per layer (Swish between layers): the root MLP with
        ``θ_e`` (up to rounding), no per-environment weight matrix formed."""
        ctx, biases = factors
        betas = self.root.betas
        h = y
        layers = zip(self.root.weights, self.hyper_weights, biases, strict=True)
        for i, (w, hyper, bias) in enumerate(layers):
            out, fan_in, d = hyper.shape
            kron = (h[:, None] * ctx[None, :]).reshape(fan_in * d)
            h = w @ h + hyper.reshape(out, fan_in * d) @ kron + bias
            if i < betas.shape[0]:
                h = swish(h, betas[i])
        return h

    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time D"]:
        """Form ``θ_e`` once, then roll out the root MLP with it from ``x[:, 0]`` (one
        per-environment matrix per layer: cheaper than ``shared_field`` when each environment
        has its own expert anyway, as in the routed forward pass)."""
        weights, biases = self.adapted_weights(ctx)
        return rollout_mlp(weights, biases, self.root.betas, x[:, 0], t, solver, scale)
