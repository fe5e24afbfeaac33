"""The gate update's loss matrix ``ℓ[m, e]``: every expert alone on every environment,
forward only (Alg. 1). ``MixER.loss_matrix`` and its relatives call these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from mixer.backbones.base import AbstractBackbone, trajectory_mse
from mixer.backbones.shared_field import AbstractSharedFieldBackbone
from mixer.solve import SolverConfig

if TYPE_CHECKING:
    from mixer.layer.module import MixER

__all__ = ["loss_matrix_and_steps", "reference_loss_matrix", "expert_chunks"]


def loss_matrix_and_steps(
    model: MixER,
    ctxs: Float[Array, "E d"],
    xs: Float[Array, "E traj time state"],
    ts: Float[Array, "E time"],
    solver: SolverConfig,
) -> tuple[Float[Array, "M E"], Int[Array, "M E traj"]]:
    """``MixER.loss_matrix_and_steps``: for an expert-shared field one ``lax.scan`` over the
    stacked experts, each row by the backbone's ``env_losses`` (the forward-only lanes solve);
    otherwise ``model.reference_loss_matrix`` and zero steps."""
    if not isinstance(model.experts, AbstractSharedFieldBackbone):
        losses = model.reference_loss_matrix(ctxs, xs, ts, solver)
        return losses, jnp.zeros((*losses.shape, xs.shape[1]), jnp.int32)
    params, static = eqx.partition(model.experts, eqx.is_array)
    params, shifts, ctxs, xs, ts = jax.lax.stop_gradient((params, model.shifts, ctxs, xs, ts))
    chunks = expert_chunks(model, ctxs) + shifts[:, None, None]

    def row(_, inputs):
        p, c_m = inputs
        return None, eqx.combine(p, static).env_losses(c_m, xs, ts, solver)

    _, (losses, steps) = jax.lax.scan(row, None, (params, chunks))
    return losses, steps


def expert_chunks(model: MixER, ctxs: Float[Array, "E d"]) -> Float[Array, "M E d_m"]:
    """The context chunk every expert receives from every environment (without shifts)."""
    if model.split_contexts:
        size = model.expert_context_size
        return ctxs.reshape(ctxs.shape[0], model.num_experts, size).transpose(1, 0, 2)
    return jnp.broadcast_to(ctxs, (model.num_experts, *ctxs.shape))


def reference_loss_matrix(
    model: MixER,
    ctxs: Float[Array, "E d"],
    xs: Float[Array, "E traj time state"],
    ts: Float[Array, "E time"],
    solver: SolverConfig,
) -> Float[Array, "M E"]:
    """``MixER.reference_loss_matrix``: a vmap over the stacked experts around a vmap over
    environments of ``trajectory_mse`` of ``loss_predict``."""
    params, static = eqx.partition(model.experts, eqx.is_array)
    params, shifts, ctxs, xs, ts = jax.lax.stop_gradient((params, model.shifts, ctxs, xs, ts))
    chunks = expert_chunks(model, ctxs) + shifts[:, None, None]

    def one_expert(p: Any, c_m: Float[Array, "E d_m"]) -> Float[Array, " E"]:
        return _generic_row(eqx.combine(p, static), c_m, xs, ts, solver)

    return jax.vmap(one_expert)(params, chunks)


def _generic_row(
    expert: AbstractBackbone,
    ctxs: Float[Array, "E d_m"],
    xs: Float[Array, "E traj time state"],
    ts: Float[Array, "E time"],
    solver: SolverConfig,
) -> Float[Array, " E"]:
    """``trajectory_mse`` of ``loss_predict`` for every environment (vmapped)."""

    def one_env(c: Array, x: Array, t: Array) -> Float[Array, ""]:
        return trajectory_mse(expert.loss_predict(c, x, t, solver), x)

    return jax.vmap(one_env)(ctxs, xs, ts)
