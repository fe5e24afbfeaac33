"""The gate update (SPEC §2.4, paper Algorithm 1 with Algorithm 2): K-means on the contexts,
cluster-expert pairing by median loss, least-squares fit of the gate.

``gate_update`` is pure and jit-compatible with the config static::

    update = jax.jit(gate_update, static_argnames="cfg")
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from mixer.gating.assignment import PAIRINGS, cluster_median_losses, get_pairing
from mixer.gating.gate import GateState
from mixer.gating.kmeans import ON_EMPTY, kmeans
from mixer.gating.lstsq import fit_gate, proxy_targets


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """Settings of the gate update (defaults: paper App. C.3).

    Attributes:
        max_iter: the most K-means iterations.
        tol: K-means tolerance on the centroid movement (largest coordinate change).
        noise_std: σ of the Gaussian noise added to the contexts before least squares.
        init_scale: fresh centroids are drawn from U(-init_scale, init_scale).
        pairing: ``"greedy"`` (paper, Alg. 1) or ``"optimal"`` (Hungarian).
        on_empty: what K-means does when a cluster loses all its points: ``"stop"`` (Alg. 2:
            the update is abandoned, the gate kept and the centroids forgotten) or
            ``"reseed"`` (the empty cluster's centroid moves onto the point farthest from the
            mean of its own cluster and K-means goes on; the update is abandoned only if a cluster is
            still empty at the end, e.g. when all contexts are equal).
    """

    max_iter: int = 20
    tol: float = 1e-3
    noise_std: float = 1e-4
    init_scale: float = 1e-3
    pairing: str = "greedy"
    on_empty: str = "stop"

    def __post_init__(self):
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter}")
        if self.tol < 0 or self.noise_std < 0 or self.init_scale < 0:
            raise ValueError("tol, noise_std and init_scale must be non-negative")
        if self.pairing not in PAIRINGS:
            raise ValueError(f"unknown pairing {self.pairing!r}; choose one of {sorted(PAIRINGS)}")
        if self.on_empty not in ON_EMPTY:
            raise ValueError(f"unknown on_empty {self.on_empty!r}; choose one of {ON_EMPTY}")


class GateUpdateResult(eqx.Module):
    """Everything one gate update produces.

    When ``empty_cluster`` is True, ``weights`` are the input weights unchanged,
    ``has_centroids`` is False and ``centroids`` are meaningless (the next update starts from
    fresh random centroids); ``labels`` and ``assignment`` are still reported for diagnosis.
    """

    weights: Float[Array, "d_plus_1 M"]
    centroids: Float[Array, "M d"]
    has_centroids: Bool[Array, ""]
    labels: Int[Array, " E"]
    assignment: Int[Array, " M"]
    converged: Bool[Array, ""]
    iterations: Int[Array, ""]
    empty_cluster: Bool[Array, ""]

    @property
    def state(self) -> GateState:
        """The part of the result the next update needs."""
        return GateState(self.weights, self.centroids, self.has_centroids)


def _check_shapes(contexts, loss_matrix, weights, centroids) -> None:
    num_envs, context_size = contexts.shape
    num_experts = weights.shape[1]
    expected = {
        "loss_matrix": (loss_matrix.shape, (num_experts, num_envs)),
        "weights": (weights.shape, (context_size + 1, num_experts)),
        "centroids": (centroids.shape, (num_experts, context_size)),
    }
    for name, (got, want) in expected.items():
        if tuple(got) != want:
            raise ValueError(f"{name} has shape {tuple(got)}, expected {want}")


def gate_update(
    contexts: Float[Array, "E d"],
    loss_matrix: Float[Array, "M E"],
    weights: Float[Array, "d_plus_1 M"],
    centroids: Float[Array, "M d"],
    has_centroids: Bool[Array, ""],
    *,
    key: PRNGKeyArray,
    cfg: GateConfig,
) -> GateUpdateResult:
    """One gate update (Alg. 1).

    1. K-means (L1, Alg. 2) on ``contexts`` with M clusters, warm-started from ``centroids``
       when ``has_centroids`` else from U(-init_scale, init_scale) drawn with ``key``.
    2. Per cluster, the median of every expert's loss over the cluster (``loss_matrix[m, e]``
       is expert ``m`` alone on environment ``e``).
    3. Pairing of clusters with experts (``cfg.pairing``).
    4. Least-squares fit of the gate to the one-hot targets of the paired experts, with
       N(0, noise_std²) noise (drawn with ``key``) added to the contexts.

    If a cluster is empty at the end of K-means (see ``GateConfig.on_empty``) the gate is left
    unchanged and the centroids are forgotten.

    Args:
        contexts: the contexts of all training environments, ``(E, d)``.
        loss_matrix: ``(M, E)`` loss of every expert on every environment.
        weights: the current gate, ``(d + 1, M)``, bias row last.
        centroids: the previous centroids ``(M, d)`` (ignored when ``has_centroids`` is False).
        has_centroids: whether ``centroids`` hold a previous K-means solution.
        key: PRNG key for the fresh centroids and the least-squares noise.
        cfg: the update settings (static under jit).

    Returns:
        A ``GateUpdateResult``.
    """
    _check_shapes(contexts, loss_matrix, weights, centroids)
    num_experts = weights.shape[1]
    key_init, key_noise = jr.split(key)
    fresh = jr.uniform(
        key_init, centroids.shape, dtype=contexts.dtype,
        minval=-cfg.init_scale, maxval=cfg.init_scale,
    )
    start = jnp.where(has_centroids, centroids.astype(contexts.dtype), fresh)
    clusters = kmeans(contexts, start, max_iter=cfg.max_iter, tol=cfg.tol, on_empty=cfg.on_empty)

    medians = cluster_median_losses(loss_matrix, clusters.labels, num_experts)
    assignment = get_pairing(cfg.pairing)(medians)
    targets = proxy_targets(clusters.labels, assignment, num_experts)
    fitted = fit_gate(contexts, targets, key=key_noise, noise_std=cfg.noise_std)

    return GateUpdateResult(
        weights=jnp.where(clusters.empty, weights, fitted.astype(weights.dtype)),
        centroids=clusters.centroids,
        has_centroids=~clusters.empty,
        labels=clusters.labels,
        assignment=assignment,
        converged=clusters.converged,
        iterations=clusters.iterations,
        empty_cluster=clusters.empty,
    )
