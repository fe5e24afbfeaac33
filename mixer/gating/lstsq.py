"""The least-squares gate fit (paper Algorithm 1, lines 19-24)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from mixer.gating.gate import augment


def proxy_targets(
    labels: Int[Array, " E"], assignment: Int[Array, " C"], num_experts: int
) -> Float[Array, "E M"]:
    """Least-squares targets Y (Alg. 1 lines 19-22): each environment gets the one-hot vector
    of the expert paired with its cluster."""
    return jax.nn.one_hot(assignment[labels], num_experts)


def fit_gate(
    contexts: Float[Array, "E d"],
    targets: Float[Array, "E M"],
    *,
    key: PRNGKeyArray,
    noise_std: float,
) -> Float[Array, "d_plus_1 M"]:
    """Least-squares gate: ``W`` minimising ``||[ξ + N(0, σ²), 1] W - Y||²`` (Alg. 1 lines
    23-24, bias row last). The noise keeps the problem well posed when the contexts are
    (nearly) identical, e.g. at their zero initialisation.

    Uses ``jnp.linalg.lstsq`` (minimum-norm solution when the system is rank deficient).
    """
    noise = noise_std * jr.normal(key, contexts.shape, dtype=contexts.dtype)
    design = augment(contexts + noise)
    solution, _, _, _ = jnp.linalg.lstsq(design, targets.astype(design.dtype))
    return solution
