"""One outer step of proximal alternating minimisation as a single jitted function (SPEC §2.5).

``make_outer_step`` builds (once) a function ``state -> (state, OuterInfo)`` that runs the
weight phase and then the context phase (or the reverse, config ``order``) as one ``lax.scan``
over all inner steps. Each inner step draws a mini-batch of closely related environments,
takes one AdaBelief step on the current phase's block (Θ or Ξ) for the loss of Eq. (7) plus
that block's proximal term (differentiating that block only), and (MixER with M > 1) updates
the gate on schedule: K-means first, and the loss matrix only when K-means keeps every cluster.
All randomness is split from the state's key inside the function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from mixer.batching import context_pool, neighbour_batch, take_window, window_indices
from mixer.envdata import EnvData
from mixer.gating import (
    GateUpdateResult,
    gate_abandoned,
    gate_fit,
    gate_kmeans,
    gate_update_keys,
    initial_gate_state,
)
from mixer.layer import MixER
from mixer.schedules import make_optimisers, weights_schedule
from mixer.solve import SolverConfig
from mixer.train_config import TrainConfig

__all__ = [
    "TrainState",
    "PhaseInfo",
    "OuterInfo",
    "init_train_state",
    "make_outer_step",
    "trainable_filter",
    "batch_loss",
    "env_loss",
    "proximal_term",
    "weights_objective",
    "contexts_objective",
    "joint_objective",
]


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
    spec = jax.tree.map(eqx.is_inexact_array, model)
    if not model.naive:
        spec = eqx.tree_at(lambda m: m.gate, spec, False)
    return spec


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


def _all_finite(tree: Any) -> Bool[Array, ""]:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def _filter_cond(pred, true_fn, false_fn, operand):
    """``lax.cond`` over a pytree that may hold non-array leaves (kept static)."""
    dyn, static = eqx.partition(operand, eqx.is_array)

    def wrap(fn):
        def inner(d):
            new, out = fn(eqx.combine(d, static))
            return eqx.filter(new, eqx.is_array), out

        return inner

    new_dyn, out = jax.lax.cond(pred, wrap(true_fn), wrap(false_fn), dyn)
    return eqx.combine(new_dyn, static), out


def _filter_scan(body, carry, xs):
    """``lax.scan`` over a carry that may hold non-array leaves (kept static)."""
    dyn, static = eqx.partition(carry, eqx.is_array)

    def inner(d, x):
        new, out = body(eqx.combine(d, static), x)
        return eqx.filter(new, eqx.is_array), out

    new_dyn, outs = jax.lax.scan(inner, dyn, xs)
    return eqx.combine(new_dyn, static), outs


class _GateOut(NamedTuple):
    """What one inner step reports about its gate update (see ``PhaseInfo``)."""

    updated: Bool[Array, ""]
    empty: Bool[Array, ""]
    loss_finite: Bool[Array, ""]
    matrix: Bool[Array, ""]
    steps_mean: Float[Array, ""]
    steps_max: Int[Array, ""]

    @classmethod
    def without_matrix(cls, updated: bool, empty: bool) -> _GateOut:
        """An inner step without a gate update, or with one abandoned by K-means."""
        return cls(
            jnp.asarray(updated),
            jnp.asarray(empty),
            jnp.asarray(True),
            jnp.asarray(False),
            jnp.zeros((), jnp.float32),
            jnp.zeros((), jnp.int32),
        )

    @classmethod
    def with_matrix(cls, losses: Array, steps: Array) -> _GateOut:
        """An update that computed the loss matrix ``losses`` (solver steps ``steps``)."""
        return cls(
            jnp.asarray(True),
            jnp.asarray(False),
            jnp.all(jnp.isfinite(losses)),
            jnp.asarray(True),
            jnp.mean(steps).astype(jnp.float32),
            jnp.max(steps).astype(jnp.int32),
        )


def _with_gate(state: TrainState, res: GateUpdateResult) -> TrainState:
    """``state`` with the gate, centroids and centroid flag of a gate update's result."""
    model = eqx.tree_at(lambda m: m.gate, state.model, res.weights.astype(state.model.gate.dtype))
    return eqx.tree_at(
        lambda z: (z.model, z.centroids, z.has_centroids),
        state,
        (model, res.centroids.astype(state.centroids.dtype), res.has_centroids),
    )


class _Step(eqx.Module):
    """Static ingredients of the outer step (closed over by the jitted function).

    Both phases run as one ``lax.scan`` over all inner steps: every inner step takes the
    current phase's gradient step (a ``lax.cond`` on the phase, so each phase differentiates
    only its own block) and then the gate update, which is traced and compiled once for both
    phases.
    """

    cfg: TrainConfig = eqx.field(static=True)
    spec: Any = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    gate_on: bool = eqx.field(static=True)

    # The optimisers are rebuilt from ``cfg`` when traced (pure functions of it), so that two
    # equal ``_Step`` objects compare equal and share one compiled function.
    @property
    def opt_w(self) -> optax.GradientTransformation:
        return make_optimisers(self.cfg)[0]

    @property
    def opt_c(self) -> optax.GradientTransformation:
        return make_optimisers(self.cfg)[1]

    def gate(self, state: TrainState, data: EnvData, index, key) -> tuple[TrainState, _GateOut]:
        """Gate update after inner step ``index`` (global count) when it is due.

        K-means runs first; the loss matrix is computed only when K-means did not abandon the
        update (a ``lax.cond``). The result is that of ``gate_update`` with the full loss
        matrix.
        """
        if not self.gate_on:
            return state, _GateOut.without_matrix(False, False)
        cfg = self.cfg

        def update(s: TrainState):
            key_init, key_noise = gate_update_keys(key)
            clusters = gate_kmeans(
                s.contexts, s.centroids, s.has_centroids, key=key_init, cfg=cfg.gate
            )

            def fit(s: TrainState):
                losses, steps = s.model.loss_matrix_and_steps(
                    s.contexts, data.x, data.t, cfg.solver
                )
                res = gate_fit(
                    s.contexts, losses, clusters, s.model.gate, key=key_noise, cfg=cfg.gate
                )
                return _with_gate(s, res), _GateOut.with_matrix(losses, steps)

            def abandon(s: TrainState):
                res = gate_abandoned(clusters, s.model.gate)
                return _with_gate(s, res), _GateOut.without_matrix(True, True)

            return _filter_cond(clusters.empty, abandon, fit, s)

        n = cfg.inner_steps_weights + cfg.inner_steps_contexts
        due = ((index + 1) % cfg.gate_update_every == 0) & (index >= cfg.gate_warmup * n)
        return _filter_cond(
            due, update, lambda s: (s, _GateOut.without_matrix(False, False)), state
        )

    def apply_weights(self, state: TrainState, grads) -> tuple[TrainState, Bool[Array, ""]]:
        """One AdaBelief step on Θ (and on the gate for the naive variant)."""
        diff, static = eqx.partition(state.model, self.spec)
        updates, opt_state = self.opt_w.update(grads, state.opt_weights, diff)
        diff = optax.apply_updates(diff, updates)
        state = eqx.tree_at(
            lambda s: (s.model, s.opt_weights), state, (eqx.combine(diff, static), opt_state)
        )
        return state, _all_finite(diff)

    def apply_contexts(self, state: TrainState, grads) -> tuple[TrainState, Bool[Array, ""]]:
        """One AdaBelief step on Ξ."""
        updates, opt_state = self.opt_c.update(grads, state.opt_contexts, state.contexts)
        contexts = optax.apply_updates(state.contexts, updates)
        state = eqx.tree_at(lambda s: (s.contexts, s.opt_contexts), state, (contexts, opt_state))
        return state, _all_finite(contexts)

    def phase_step(self, state: TrainState, data: EnvData, olds, batch, is_weights, key):
        """The optimiser step of the current phase, differentiating only that phase's block
        (a ``lax.cond`` on the phase; the context phase computes no weight gradient and the
        weight phase no context gradient). Returns ``(state, (L, per-env losses, finite))``."""

        def weights(s: TrainState):
            theta, static = eqx.partition(s.model, self.spec)
            grads, (loss, per_env) = jax.grad(weights_objective, has_aux=True)(
                theta, static, olds[0], s.contexts, data, batch, self.cfg, key=key
            )
            s, finite = self.apply_weights(s, grads)
            return s, (loss, per_env, finite)

        def contexts(s: TrainState):
            grads, (loss, per_env) = jax.grad(contexts_objective, has_aux=True)(
                s.contexts, s.model, olds[1], data, batch, self.cfg, key=key
            )
            s, finite = self.apply_contexts(s, grads)
            return s, (loss, per_env, finite)

        if self.cfg.inner_steps_contexts == 0:
            return weights(state)
        if self.cfg.inner_steps_weights == 0:
            return contexts(state)
        return _filter_cond(is_weights, weights, contexts, state)

    def inner(self, state: TrainState, data: EnvData, olds, xs):
        """One inner step of either phase (``is_weights`` selects which update applies)."""
        key, index, is_weights = xs
        k_batch, k_loss, k_gate = jr.split(key, 3)
        batch = neighbour_batch(state.contexts, self.batch_size, key=k_batch)
        state, (loss, per_env, finite) = self.phase_step(
            state, data, olds, batch, is_weights, k_loss
        )
        state, gate_out = self.gate(state, data, index, k_gate)
        return state, (loss, batch, jnp.isfinite(per_env), finite, *gate_out)

    def __call__(self, state: TrainState, data: EnvData) -> tuple[TrainState, OuterInfo]:
        cfg = self.cfg
        n_w, n_c = cfg.inner_steps_weights, cfg.inner_steps_contexts
        key_next, key_steps = jr.split(state.key)
        lr = weights_schedule(cfg)(state.step * n_w)
        olds = (eqx.filter(state.model, self.spec), state.contexts)
        first_w = cfg.order == "weights_first"
        is_weights = jnp.asarray(
            [first_w] * (n_w if first_w else n_c) + [not first_w] * (n_c if first_w else n_w)
        )
        n = n_w + n_c
        indices = state.step * n + jnp.arange(n, dtype=jnp.int32)
        body = lambda s, xs: self.inner(s, data, olds, xs)  # noqa: E731
        state, outs = _filter_scan(body, state, (jr.split(key_steps, n), indices, is_weights))
        split = n_w if first_w else n_c
        first = PhaseInfo(*(o[:split] for o in outs))
        second = PhaseInfo(*(o[split:] for o in outs))
        weights, contexts = (first, second) if first_w else (second, first)
        model = state.model
        info = OuterInfo(
            weights=weights,
            contexts=contexts,
            gate_probs=jax.vmap(model.gate_probs)(state.contexts),
            routed=jax.vmap(model.route)(state.contexts),
            lr_weights=jnp.asarray(lr, jnp.float32),
        )
        state = eqx.tree_at(lambda s: (s.key, s.step), state, (key_next, state.step + 1))
        return state, info


def make_outer_step(
    model: MixER, cfg: TrainConfig, data: EnvData
) -> Callable[[TrainState], tuple[TrainState, OuterInfo]]:
    """Build the jitted outer step for ``model``'s structure, ``cfg`` and the training ``data``.

    The returned function maps a ``TrainState`` (see ``init_train_state``) to the next state
    and its ``OuterInfo``; it compiles on its first call and never again for states of the
    same structure. ``data`` is passed as a jit argument (not baked in as a constant).

    A backbone that ignores its stored contexts (``uses_stored_context`` False, e.g. CAVIA)
    gets no context phase: those steps would compute a zero gradient at full cost.
    """
    if not model.experts.uses_stored_context and cfg.inner_steps_weights > 0:
        cfg = dataclasses.replace(cfg, inner_steps_contexts=0)
    step = _Step(
        cfg=cfg,
        spec=trainable_filter(model),
        batch_size=cfg.resolved_batch_size(data.num_envs, model.num_experts),
        gate_on=model.num_experts > 1 and not model.naive and cfg.gate_update_every > 0,
    )
    jitted = eqx.filter_jit(step)
    return lambda state: jitted(state, data)
