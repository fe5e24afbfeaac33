"""What training carries and reports: the state of the outer loop (a pytree, checkpointed as a
whole), the per-step diagnostics, which leaves are trained by gradient, and the initial
state (SPEC §2.5)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from mixer.gating import initial_gate_state
from mixer.layer import MixER
from mixer.schedules import make_optimisers
from mixer.train_config import TrainConfig

__all__ = ["TrainState", "PhaseInfo", "OuterInfo", "trainable_filter", "init_train_state"]


class TrainState(eqx.Module):
    """Everything that evolves during training (a pytree; checkpointed as a whole)."""

    model: MixER
    contexts: Float[Array, "E d"]
    opt_weights: optax.OptState
    opt_contexts: optax.OptState
    centroids: Float[Array, "M d"]
    has_centroids: Bool[Array, ""]
    key: PRNGKeyArray
    step: Int[Array, ""]  # number of completed outer steps


class PhaseInfo(eqx.Module):
    """Per-inner-step diagnostics of one phase (leading axis: inner step)."""

    loss: Float[Array, " n"]  # mini-batch loss L (without the proximal term)
    batch: Int[Array, "n B"]  # environments of each mini-batch
    env_finite: Bool[Array, "n B"]  # whether each batch environment's loss was finite
    params_finite: Bool[Array, " n"]  # whether the updated parameters are all finite
    gate_updated: Bool[Array, " n"]
    gate_empty: Bool[Array, " n"]  # the update found an empty cluster (gate left unchanged)
    gate_loss_finite: Bool[Array, " n"]  # the loss matrix of the update was finite
    gate_matrix: Bool[Array, " n"]  # a loss matrix was computed (False: no update, abandoned)
    gate_steps_mean: Float[Array, " n"]  # mean solver steps per trajectory of that matrix
    gate_steps_max: Int[Array, " n"]  # most solver steps of one of its trajectories


class OuterInfo(eqx.Module):
    """Diagnostics of one outer step."""

    weights: PhaseInfo
    contexts: PhaseInfo
    gate_probs: Float[Array, "E M"]  # gate probabilities after the step
    routed: Int[Array, " E"]  # routed expert of every environment after the step
    lr_weights: Float[Array, ""]  # weights' learning rate at the first weight step


def trainable_filter(model: MixER) -> Any:
    """Boolean pytree of the model leaves trained by gradient (Θ): every floating array,
    except the gate of the MixER variant (set by the gate update only)."""
    trainable = jax.tree.map(eqx.is_inexact_array, model)
    if not model.naive:
        trainable = eqx.tree_at(lambda m: m.gate, trainable, False)
    return trainable


def init_train_state(
    model: MixER, contexts: Float[Array, "E d"], cfg: TrainConfig, *, key: PRNGKeyArray
) -> TrainState:
    """The state before the first outer step (fresh optimisers, no gate centroids)."""
    if contexts.ndim != 2 or contexts.shape[1] != model.context_size:
        raise ValueError(
            f"contexts must have shape (E, {model.context_size}), got {contexts.shape}"
        )
    opt_w, opt_c = make_optimisers(cfg)
    contexts = jnp.asarray(contexts, jnp.float32)
    gate = initial_gate_state(model.num_experts, model.context_size)
    return TrainState(
        model=model,
        contexts=contexts,
        opt_weights=opt_w.init(eqx.filter(model, trainable_filter(model))),
        opt_contexts=opt_c.init(contexts),
        centroids=gate.centroids.astype(contexts.dtype),
        has_centroids=gate.has_centroids,
        key=key,
        step=jnp.asarray(0, jnp.int32),
    )
