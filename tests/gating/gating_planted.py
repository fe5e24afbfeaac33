"""Planted-cluster problems and a hypothesis strategy shared by the gating tests."""

from __future__ import annotations

import dataclasses
import itertools

import hypothesis.strategies as st
import numpy as np


@dataclasses.dataclass(frozen=True)
class Planted:
    """Well-separated clusters with a known partition and a known best expert per cluster."""

    contexts: np.ndarray  # (E, d) float32
    labels: np.ndarray  # (E,) planted cluster of each env
    centers: np.ndarray  # (M, d)
    loss_matrix: np.ndarray  # (M, E): the planted expert of a cluster has the lowest loss
    best_expert: np.ndarray  # (M,) planted expert of each cluster (a permutation)


def make_planted(seed: int, num_clusters: int, dim: int, per_cluster: int) -> Planted:
    """Cluster centres at distance >= 10 (L1) with spread 0.05, shuffled environment order."""
    rng = np.random.default_rng(seed)
    base = 10.0 * np.eye(max(num_clusters, dim))[:num_clusters, :dim]
    if dim < num_clusters:  # fewer axes than clusters: place centres on a line instead
        base = np.zeros((num_clusters, dim))
        base[:, 0] = 10.0 * np.arange(num_clusters)
    centers = base + rng.uniform(-1.0, 1.0, size=(1, dim))
    labels = rng.permutation(np.repeat(np.arange(num_clusters), per_cluster))
    contexts = centers[labels] + rng.uniform(-0.05, 0.05, size=(labels.size, dim))
    best_expert = rng.permutation(num_clusters)
    loss = rng.uniform(1.0, 2.0, size=(num_clusters, labels.size))
    loss[best_expert[labels], np.arange(labels.size)] = rng.uniform(0.0, 0.5, size=labels.size)
    return Planted(
        contexts.astype(np.float32),
        labels,
        centers.astype(np.float32),
        loss.astype(np.float32),
        best_expert,
    )


planted_problems = st.builds(
    make_planted,
    seed=st.integers(0, 2**31 - 1),
    num_clusters=st.sampled_from([2, 3, 5]),
    dim=st.sampled_from([1, 3]),
    per_cluster=st.sampled_from([1, 4]),
)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two labelings describe the same partition (equal up to relabelling)."""
    a, b = np.asarray(a), np.asarray(b)
    return all(len(set(b[a == v])) == 1 for v in np.unique(a)) and len(np.unique(a)) == len(
        np.unique(b)
    )


def brute_force_min_cost(cost: np.ndarray) -> float:
    """The minimal total cost over all permutations (small M only)."""
    m = cost.shape[0]
    return min(sum(cost[c, p[c]] for c in range(m)) for p in itertools.permutations(range(m)))
