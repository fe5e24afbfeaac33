"""Mini-batches of closely related environments and random time windows (SPEC §2.5).

All functions are pure and jit-compatible; sizes are static Python integers.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

__all__ = ["nearest_envs", "neighbour_batch", "context_pool", "window_indices", "take_window"]


def nearest_envs(
    contexts: Float[Array, "E d"], anchor: Int[Array, ""], count: int, *, key: PRNGKeyArray
) -> Int[Array, " count"]:
    """The ``count`` environments nearest to ``anchor`` in L1 context distance, anchor first.

    Ties are broken at random: the environments are shuffled with ``key`` before a stable
    sort by distance, so equal distances never fall back to index order (Known pitfall 5).
    """
    num_envs = contexts.shape[0]
    if not 1 <= count <= num_envs:
        raise ValueError(f"count must be in [1, {num_envs}], got {count}")
    ctx = jax.lax.stop_gradient(contexts)
    dist = jnp.sum(jnp.abs(ctx - ctx[anchor]), axis=-1)
    dist = jnp.where(jnp.arange(num_envs) == anchor, -jnp.inf, dist)
    perm = jr.permutation(key, num_envs)
    order = jnp.argsort(dist[perm], stable=True)
    return perm[order[:count]]


def neighbour_batch(
    contexts: Float[Array, "E d"], batch_size: int, *, key: PRNGKeyArray
) -> Int[Array, " B"]:
    """A random anchor environment followed by its ``batch_size - 1`` nearest neighbours."""
    key_anchor, key_ties = jr.split(key)
    anchor = jr.randint(key_anchor, (), 0, contexts.shape[0])
    return nearest_envs(contexts, anchor, batch_size, key=key_ties)


def context_pool(
    contexts: Float[Array, "E d"],
    batch: Int[Array, " B"],
    pool_size: int,
    *,
    key: PRNGKeyArray,
) -> Float[Array, "B P d"]:
    """The context pool of every batch environment: itself (row 0) and its ``pool_size - 1``
    nearest neighbours among all environments.

    Row 0 carries the gradient of its own context; the neighbours' rows are wrapped in
    ``stop_gradient``.
    """
    own = contexts[batch][:, None, :]
    if pool_size == 1:
        return own
    keys = jr.split(key, batch.shape[0])
    idx = jax.vmap(lambda e, k: nearest_envs(contexts, e, pool_size, key=k))(batch, keys)
    neighbours = jax.lax.stop_gradient(contexts[idx[:, 1:]])
    return jnp.concatenate([own, neighbours], axis=1)


def window_indices(
    num_times: int, min_window: float, *, key: PRNGKeyArray
) -> tuple[Int[Array, " time"], Bool[Array, " time"]]:
    """A random contiguous window of a time grid, of at least ``min_window`` of its length.

    The shapes stay static: the returned ``(num_times,)`` indices run through the window and
    then repeat its last point; ``mask`` is True inside the window. A rollout on the gathered
    grid therefore integrates exactly over the window, and a loss weighted by ``mask`` only
    sees it. Windows hold at least two points.
    """
    if not 0.0 < min_window <= 1.0:
        raise ValueError(f"min_window must be in (0, 1], got {min_window}")
    shortest = min(num_times, max(2, math.ceil(min_window * num_times)))
    key_len, key_start = jr.split(key)
    length = jr.randint(key_len, (), shortest, num_times + 1)
    start = jr.randint(key_start, (), 0, num_times - length + 1)
    steps = jnp.arange(num_times)
    return start + jnp.minimum(steps, length - 1), steps < length


def take_window(
    x: Float[Array, "traj time state"], t: Float[Array, " time"], idx: Int[Array, " time"]
) -> tuple[Float[Array, "traj time state"], Float[Array, " time"]]:
    """Gather one environment's data along time at ``idx`` (see ``window_indices``)."""
    return x[:, idx], t[idx]
