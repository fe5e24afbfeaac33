"""Pairing K-means clusters with experts (paper Algorithm 1, lines 8-18).

The cost of pairing cluster ``c`` with expert ``m`` is the median, over the environments of
cluster ``c``, of expert ``m``'s loss (line 8). Two pairing strategies share one signature
(``PairingFn``: a ``(clusters, experts)`` cost matrix to the expert index of every cluster)
and are looked up by config name with ``get_pairing``:

- ``"greedy"``: the paper's rule (lines 9-18): clusters in index order each take their
  lowest-cost expert that no earlier cluster has taken (ties go to the lowest expert index).
- ``"optimal"``: the assignment of minimal total cost (Hungarian algorithm from
  ``optax.assignment``).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Protocol

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int


class PairingFn(Protocol):
    """Maps a ``(C, M)`` cost matrix (C == M) to the expert index paired with each cluster."""

    def __call__(self, cost: Float[Array, "C M"]) -> Int[Array, " C"]: ...


def cluster_median_losses(
    loss_matrix: Float[Array, "M E"], labels: Int[Array, " E"], num_clusters: int
) -> Float[Array, "C M"]:
    """Median of each expert's loss over the environments of each cluster (Alg. 1 line 8).

    Works under jit for clusters of any (traced) size: the losses of environments outside the
    cluster are masked with +inf, sorted to the end, and the median is read at the middle
    position(s) of the cluster's own entries (the mean of the two middle values for an even
    size, as ``numpy.median``). Non-finite losses (a diverged expert) count as +inf, i.e. as
    the worst possible loss. An empty cluster has median +inf for every expert.

    Args:
        loss_matrix: ``loss_matrix[m, e]`` is expert ``m``'s loss on environment ``e``.
        labels: the cluster of every environment.
        num_clusters: the number of clusters C.

    Returns:
        ``medians[c, m]``, the median loss of expert ``m`` on cluster ``c``.
    """
    losses = jnp.where(jnp.isfinite(loss_matrix), loss_matrix, jnp.inf)
    in_cluster = labels[None, :] == jnp.arange(num_clusters)[:, None]  # (C, E)
    sizes = jnp.sum(in_cluster, axis=1)  # (C,)
    masked = jnp.where(in_cluster[:, None, :], losses[None, :, :], jnp.inf)  # (C, M, E)
    ordered = jnp.sort(masked, axis=-1)
    low = jnp.maximum((sizes - 1) // 2, 0)
    high = sizes // 2

    def pick(idx):
        return jnp.take_along_axis(ordered, idx[:, None, None], axis=-1)[..., 0]

    low_vals, high_vals = pick(low), pick(jnp.minimum(high, losses.shape[1] - 1))
    # Halving each value before adding avoids overflow to inf for huge finite losses.
    medians = 0.5 * low_vals + 0.5 * high_vals
    return jnp.where((sizes > 0)[:, None], medians, jnp.inf)


def greedy_pairing(cost: Float[Array, "C M"]) -> Int[Array, " C"]:
    """Alg. 1 lines 9-18: cluster ``c = 0, 1, ...`` takes the first expert of
    ``argsort(cost[c])`` (stable) that is not yet taken. Always a permutation of ``range(M)``
    when C == M, whatever the costs (inf and NaN included)."""
    num_clusters, num_experts = cost.shape
    if num_clusters > num_experts:
        raise ValueError(f"cannot pair {num_clusters} clusters with {num_experts} experts")

    def take(c, carry):
        taken, pairs = carry
        order = jnp.argsort(cost[c], stable=True)
        expert = order[jnp.argmax(~taken[order])]
        return taken.at[expert].set(True), pairs.at[c].set(expert)

    init = (jnp.zeros(num_experts, dtype=bool), jnp.zeros(num_clusters, dtype=jnp.int32))
    _, pairs = jax.lax.fori_loop(0, num_clusters, take, init)
    return pairs


def optimal_pairing(cost: Float[Array, "C M"]) -> Int[Array, " C"]:
    """The pairing of minimal total cost (Hungarian algorithm, ``optax.assignment``).

    Non-finite costs are replaced by a finite value above every finite cost, so the solver
    sees a well-defined problem and such pairings are avoided whenever possible.
    """
    num_clusters, num_experts = cost.shape
    if num_clusters > num_experts:
        raise ValueError(f"cannot pair {num_clusters} clusters with {num_experts} experts")
    cost = jnp.asarray(cost)
    cost = cost.astype(jnp.promote_types(cost.dtype, jnp.float32))
    finite = jnp.isfinite(cost)
    largest = jnp.max(jnp.where(finite, jnp.abs(cost), 0.0))
    penalty = jnp.minimum(2.0 * largest + 1.0, jnp.finfo(cost.dtype).max)
    clean = jnp.where(finite, cost, penalty)
    rows, cols = optax.assignment.hungarian_algorithm(clean)
    return jnp.zeros(num_clusters, dtype=jnp.int32).at[rows].set(cols.astype(jnp.int32))


PAIRINGS: Mapping[str, PairingFn] = types.MappingProxyType(
    {"greedy": greedy_pairing, "optimal": optimal_pairing}
)


def get_pairing(name: str) -> PairingFn:
    """The pairing strategy registered under ``name`` (``"greedy"`` or ``"optimal"``)."""
    try:
        return PAIRINGS[name]
    except KeyError:
        raise ValueError(f"unknown pairing {name!r}; choose one of {sorted(PAIRINGS)}") from None
