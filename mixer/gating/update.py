"""The gate update (SPEC §2.4, paper Algorithm 1 with Algorithm 2): K-means on the contexts,
cluster-expert pairing by median loss, least-squares fit of the gate.

``gate_update`` is pure and jit-compatible with the config static; it composes
``gate_kmeans`` (step 1) and ``gate_fit`` (steps 2-4), which training calls separately so that
no loss matrix is computed for an update that K-means abandons::

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
from mixer.gating.kmeans import ON_EMPTY, KMeansResult, kmeans
from mixer.gating.lstsq import fit_gate, proxy_targets


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """Settings of the gate update (defaults: paper App. C.3, except ``on_empty``: SPEC §2.4;
    they equal ``models.gate`` of the workflow's config schema, a test checks it).

    Attributes:
        max_iter: the most K-means iterations.
        tol: K-means tolerance on the centroid movement (largest coordinate change).
        noise_std: σ of the Gaussian noise added to the contexts before least squares.
        init_scale: fresh centroids are drawn from U(-init_scale, init_scale).
        pairing: ``"greedy"`` (paper, Alg. 1) or ``"optimal"`` (Hungarian).
        on_empty: what K-means does when a cluster loses all its points: ``"reseed"`` (the
            project's default: the empty cluster's centroid moves onto the point farthest from
            the mean of its own cluster and K-means goes on; the update is abandoned only if a
            cluster is still empty at the end, e.g. when all contexts are equal) or ``"stop"``
            (the paper's Alg. 2: the update is abandoned, the gate kept and the centroids
            forgotten).
    """

    max_iter: int = 20
    tol: float = 1e-3
    noise_std: float = 1e-4
    init_scale: float = 1e-3
    pairing: str = "greedy"
    on_empty: str = "reseed"

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


def gate_kmeans(
    contexts: Float[Array, "E d"],
    centroids: Float[Array, "M d"],
    has_centroids: Bool[Array, ""],
    *,
    key: PRNGKeyArray,
    cfg: GateConfig,
) -> KMeansResult:
    """Step 1 of the gate update: K-means (L1, Alg. 2) on ``contexts`` with M clusters,
    warm-started from ``centroids`` when ``has_centroids`` else from U(-init_scale,
    init_scale) drawn with ``key``. When the result is ``empty`` the update is abandoned
    (``gate_abandoned``) and needs no loss matrix."""
    fresh = jr.uniform(
        key,
        centroids.shape,
        dtype=contexts.dtype,
        minval=-cfg.init_scale,
        maxval=cfg.init_scale,
    )
    start = jnp.where(has_centroids, centroids.astype(contexts.dtype), fresh)
    return kmeans(contexts, start, max_iter=cfg.max_iter, tol=cfg.tol, on_empty=cfg.on_empty)


def gate_fit(
    contexts: Float[Array, "E d"],
    loss_matrix: Float[Array, "M E"],
    clusters: KMeansResult,
    weights: Float[Array, "d_plus_1 M"],
    *,
    key: PRNGKeyArray,
    cfg: GateConfig,
) -> GateUpdateResult:
    """Steps 2-4 of the gate update after K-means (``clusters``): per-cluster median losses,
    pairing (``cfg.pairing``) and the least-squares gate with N(0, noise_std²) noise drawn with
    ``key``. When ``clusters.empty`` the gate is left unchanged (``weights``) and the
    centroids are forgotten; ``gate_abandoned`` gives that result without a loss matrix."""
    num_experts = weights.shape[1]
    medians = cluster_median_losses(loss_matrix, clusters.labels, num_experts)
    assignment = get_pairing(cfg.pairing)(medians)
    targets = proxy_targets(clusters.labels, assignment, num_experts)
    fitted = fit_gate(contexts, targets, key=key, noise_std=cfg.noise_std)
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


def gate_abandoned(clusters: KMeansResult, weights: Float[Array, "d_plus_1 M"]) -> GateUpdateResult:
    """The result of an update whose K-means left a cluster empty: the gate unchanged, the
    centroids forgotten (the fields ``gate_fit`` gives in that case), and ``assignment`` -1
    (no loss matrix was computed, so no pairing was made)."""
    return GateUpdateResult(
        weights=weights,
        centroids=clusters.centroids,
        has_centroids=~clusters.empty,
        labels=clusters.labels,
        assignment=jnp.full((weights.shape[1],), -1, jnp.int32),
        converged=clusters.converged,
        iterations=clusters.iterations,
        empty_cluster=clusters.empty,
    )


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
    """One gate update (Alg. 1): ``gate_kmeans`` then ``gate_fit``.

    1. K-means (L1, Alg. 2) on ``contexts`` with M clusters, warm-started from ``centroids``
       when ``has_centroids`` else from U(-init_scale, init_scale) drawn with ``key``.
    2. Per cluster, the median of every expert's loss over the cluster (``loss_matrix[m, e]``
       is expert ``m`` alone on environment ``e``).
    3. Pairing of clusters with experts (``cfg.pairing``).
    4. Least-squares fit of the gate to the one-hot targets of the paired experts, with
       N(0, noise_std²) noise (drawn with ``key``) added to the contexts.

    If a cluster is empty at the end of K-means (see ``GateConfig.on_empty``) the gate is left
    unchanged and the centroids are forgotten. Training calls the two halves itself, so that
    the loss matrix is only computed when K-means did not abandon the update
    (``gate_update_keys`` gives the keys of each half).

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
    key_init, key_noise = gate_update_keys(key)
    clusters = gate_kmeans(contexts, centroids, has_centroids, key=key_init, cfg=cfg)
    return gate_fit(contexts, loss_matrix, clusters, weights, key=key_noise, cfg=cfg)


def gate_update_keys(key: PRNGKeyArray) -> tuple[PRNGKeyArray, PRNGKeyArray]:
    """The keys ``gate_update`` gives ``gate_kmeans`` and ``gate_fit``."""
    key_init, key_noise = jr.split(key)
    return key_init, key_noise
