"""The training loss (Eq. 7) and the objectives of proximal alternating minimisation
(SPEC §2.5): one environment, a mini-batch with context pools, and the proximal terms."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from mixer.batching import context_pool, take_window, window_indices
from mixer.envdata import EnvData
from mixer.layer import MixER
from mixer.solve import SolverConfig
from mixer.train_config import TrainConfig

__all__ = [
    "env_loss",
    "batch_loss",
    "proximal_term",
    "weights_objective",
    "contexts_objective",
    "joint_objective",
]


def env_loss(
    model: MixER,
    ctx: Float[Array, " d"],
    pool: Float[Array, "P d"],
    x: Float[Array, "traj time state"],
    t: Float[Array, " time"],
    solver: SolverConfig,
    *,
    min_window: float,
    key: PRNGKeyArray,
) -> Float[Array, ""]:
    """Eq. (7) for one environment: the mean over predictions, trajectories and (in-window)
    times of the squared error norm of ``model.train_predict``. With ``min_window < 1``
    the loss uses a random contiguous window of the time grid drawn with ``key``."""
    mask = None
    if min_window < 1.0:
        idx, mask = window_indices(t.shape[0], min_window, key=key)
        x, t = take_window(x, t, idx)
    pred = model.train_predict(ctx, pool, x, t, solver)  # (npred, traj, time, state)
    err = jnp.sum((pred - x[None]) ** 2, axis=-1)  # (npred, traj, time)
    if mask is None:
        return jnp.mean(err)
    count = jnp.sum(mask) * err.shape[0] * err.shape[1]
    return jnp.sum(jnp.where(mask, err, 0.0)) / count


def batch_loss(
    model: MixER,
    contexts: Float[Array, "E d"],
    data: EnvData,
    batch: Int[Array, " B"],
    cfg: TrainConfig,
    *,
    key: PRNGKeyArray,
) -> tuple[Float[Array, ""], Float[Array, " B"]]:
    """Eq. (7) on a mini-batch: the mean of ``env_loss`` over the batch environments, each
    with its context pool (``cfg.pool_size``). Returns the batch loss and the per-environment
    losses."""
    key_pool, key_win = jr.split(key)
    pools = context_pool(contexts, batch, cfg.pool_size, key=key_pool)
    keys = jr.split(key_win, batch.shape[0])

    def one(c, p, xe, te, k):
        return env_loss(model, c, p, xe, te, cfg.solver, min_window=cfg.min_window, key=k)

    per_env = jax.vmap(one)(contexts[batch], pools, data.x[batch], data.t[batch], keys)
    return jnp.mean(per_env), per_env


def proximal_term(params: Any, old: Any, beta: float) -> Float[Array, ""]:
    """(β/2)‖params − old‖² summed over all array leaves of two like-structured pytrees."""
    leaves = jax.tree.leaves(jax.tree.map(lambda u, v: jnp.sum((u - v) ** 2), params, old))
    return 0.5 * beta * sum(leaves, jnp.zeros(()))


def weights_objective(
    theta, static, theta_old, contexts, data: EnvData, batch, cfg: TrainConfig, *, key: PRNGKeyArray
):
    """Objective of a weight step: L(Θ) on the batch + (β/2)‖Θ − Θ_old‖², the model being
    ``eqx.combine(theta, static)``. Returns ``(objective, (L, per-env losses))``."""
    loss, per_env = batch_loss(eqx.combine(theta, static), contexts, data, batch, cfg, key=key)
    return loss + proximal_term(theta, theta_old, cfg.prox_beta), (loss, per_env)


def contexts_objective(
    contexts,
    model: MixER,
    contexts_old,
    data: EnvData,
    batch,
    cfg: TrainConfig,
    *,
    key: PRNGKeyArray,
):
    """Objective of a context step: L(Ξ) on the batch + (β/2)‖Ξ − Ξ_old‖² (all of Ξ).
    Returns ``(objective, (L, per-env losses))``."""
    loss, per_env = batch_loss(model, contexts, data, batch, cfg, key=key)
    return loss + proximal_term(contexts, contexts_old, cfg.prox_beta), (loss, per_env)


def joint_objective(
    theta,
    contexts,
    static,
    theta_old,
    contexts_old,
    data: EnvData,
    batch,
    cfg: TrainConfig,
    *,
    key: PRNGKeyArray,
):
    """L on the batch + (β/2)‖Θ − Θ_old‖² + (β/2)‖Ξ − Ξ_old‖². Its gradient with respect to Θ
    is that of ``weights_objective`` and with respect to Ξ that of ``contexts_objective`` (each
    proximal term depends on one block only). Returns ``(objective, (L, per-env losses))``."""
    loss, per_env = batch_loss(eqx.combine(theta, static), contexts, data, batch, cfg, key=key)
    prox = proximal_term(theta, theta_old, cfg.prox_beta)
    prox = prox + proximal_term(contexts, contexts_old, cfg.prox_beta)
    return loss + prox, (loss, per_env)
