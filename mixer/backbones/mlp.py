"""The root network shared by the IVP backbones: an MLP with learnable Swish activations.

The weights are kept as explicit tuples of arrays (one matrix and one bias per linear layer) so
that context-adapted copies (CoDA, GEPS) can be formed once per environment and then applied
with :func:`apply_mlp`, without rebuilding a module inside the vector field.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.solve import SolverConfig, solve_many

__all__ = ["SwishMLP", "apply_mlp", "init_linear_stack", "layer_sizes", "rollout_mlp", "swish"]

Weights = tuple[Float[Array, "out in"], ...]
Biases = tuple[Float[Array, " out"], ...]


def swish(x: Float[Array, "*shape"], beta: Float[Array, ""]) -> Float[Array, "*shape"]:
    """Swish activation ``x * sigmoid(beta * x)`` (Ramachandran et al., 2017)."""
    return x * jax.nn.sigmoid(beta * x)


def layer_sizes(in_size: int, out_size: int, width: int, depth: int) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` of every linear layer of an MLP with ``depth`` hidden layers."""
    if depth < 0 or width < 1:
        raise ValueError(f"need depth >= 0 and width >= 1, got depth={depth}, width={width}")
    dims = [in_size] + [width] * depth + [out_size]
    return list(zip(dims[:-1], dims[1:], strict=True))


def init_linear_stack(
    in_size: int, out_size: int, width: int, depth: int, *, key: PRNGKeyArray
) -> tuple[Weights, Biases]:
    """Weights ``(out, in)`` and biases ``(out,)`` of each layer, uniform in ``±1/sqrt(fan_in)``
    (the default initialisation of ``equinox.nn.Linear``)."""
    sizes = layer_sizes(in_size, out_size, width, depth)
    keys = jax.random.split(key, 2 * len(sizes))
    weights, biases = [], []
    for i, (fan_in, fan_out) in enumerate(sizes):
        lim = 1.0 / fan_in**0.5
        weights.append(jax.random.uniform(keys[2 * i], (fan_out, fan_in), minval=-lim, maxval=lim))
        biases.append(jax.random.uniform(keys[2 * i + 1], (fan_out,), minval=-lim, maxval=lim))
    return tuple(weights), tuple(biases)


def apply_mlp(
    weights: Weights, biases: Biases, betas: Float[Array, " depth"], x: Float[Array, " in"]
) -> Float[Array, " out"]:
    """Apply an MLP given explicit (possibly context-adapted) weights.

    Every hidden layer is followed by Swish with its own slope ``betas[i]``; the output layer is
    linear. ``len(weights) == len(biases) == betas.shape[0] + 1``.
    """
    if not len(weights) == len(biases) == betas.shape[0] + 1:
        raise ValueError(
            f"inconsistent MLP: {len(weights)} weights, {len(biases)} biases, "
            f"{betas.shape[0]} activation slopes"
        )
    h = x
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = w @ h + b
        if i < betas.shape[0]:
            h = swish(h, betas[i])
    return h


class SwishMLP(eqx.Module):
    """MLP ``in -> width (x depth hidden layers) -> out`` with learnable Swish slopes.

    ``depth`` counts hidden layers (``depth=0`` is a single linear map). One learnable slope
    ``beta`` per hidden layer, initialised at 1.
    """

    weights: Weights
    biases: Biases
    betas: Float[Array, " depth"]

    def __init__(self, in_size: int, out_size: int, width: int, depth: int, *, key: PRNGKeyArray):
        self.weights, self.biases = init_linear_stack(in_size, out_size, width, depth, key=key)
        self.betas = jnp.ones((depth,))

    @property
    def in_size(self) -> int:
        """Size of the input vector."""
        return self.weights[0].shape[-1]

    @property
    def out_size(self) -> int:
        """Size of the output vector."""
        return self.weights[-1].shape[-2]

    def __call__(self, x: Float[Array, " in"]) -> Float[Array, " out"]:
        """Apply the network to one input vector."""
        return apply_mlp(self.weights, self.biases, self.betas, x)


def rollout_mlp(
    weights: Weights,
    biases: Biases,
    betas: Float[Array, " depth"],
    x0s: Float[Array, "traj state"],
    t: Float[Array, " time"],
    solver: SolverConfig,
    scale: Float[Array, ""] | None = None,
) -> Float[Array, "traj time state"]:
    """Roll out the vector field ``apply_mlp(weights, biases, betas, ·)`` (times ``scale``)
    from ``x0s``.

    The weights are given already adapted (formed once per environment per solve).
    """
    return solve_many(
        lambda _, y: apply_mlp(weights, biases, betas, y), x0s, t, solver, scale=scale
    )
