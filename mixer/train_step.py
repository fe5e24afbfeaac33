"""One outer step of proximal alternating minimisation as a single jitted function (SPEC §2.5).

``make_outer_step`` builds (once) a function ``state -> (state, OuterInfo)`` that runs the
weight phase and then the context phase (or the reverse, config ``order``) as one ``lax.scan``
over all inner steps. Each inner step draws a mini-batch of closely related environments,
takes one AdaBelief step on the current phase's block (Θ or Ξ) for the loss of Eq. (7) plus
that block's proximal term (differentiating that block only), and (MixER with M > 1) updates
the gate on schedule: K-means first, and the loss matrix only when K-means keeps every cluster.
All randomness is split from the state's key inside the function.

The state and diagnostics types live in ``mixer.train_state``, the loss and objectives in
``mixer.train_loss``; both are re-exported here.
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
from jaxtyping import Array, Bool, Float, Int

from mixer.batching import neighbour_batch
from mixer.envdata import EnvData
from mixer.gating import (
    GateUpdateResult,
    gate_abandoned,
    gate_fit,
    gate_kmeans,
    gate_update_keys,
)
from mixer.layer import MixER
from mixer.schedules import make_optimisers, weights_schedule
from mixer.train_config import TrainConfig
from mixer.train_loss import (
    batch_loss,
    contexts_objective,
    env_loss,
    joint_objective,
    proximal_term,
    weights_objective,
)
from mixer.train_state import (
    OuterInfo,
    PhaseInfo,
    TrainState,
    init_train_state,
    trainable_filter,
)
from mixer.tree_flow import all_finite, filter_cond, filter_scan

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
    trainable: Any = eqx.field(static=True)  # the leaves trained by gradient (trainable_filter)
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

            return filter_cond(clusters.empty, abandon, fit, s)

        first, stop = cfg.gate_update_steps()
        due = ((index + 1) % cfg.gate_update_every == 0) & (index >= first) & (index < stop)
        return filter_cond(due, update, lambda s: (s, _GateOut.without_matrix(False, False)), state)

    def apply_weights(self, state: TrainState, grads) -> tuple[TrainState, Bool[Array, ""]]:
        """One AdaBelief step on Θ (and on the gate for the naive variant)."""
        diff, static = eqx.partition(state.model, self.trainable)
        updates, opt_state = self.opt_w.update(grads, state.opt_weights, diff)
        diff = optax.apply_updates(diff, updates)
        state = eqx.tree_at(
            lambda s: (s.model, s.opt_weights), state, (eqx.combine(diff, static), opt_state)
        )
        return state, all_finite(diff)

    def apply_contexts(self, state: TrainState, grads) -> tuple[TrainState, Bool[Array, ""]]:
        """One AdaBelief step on Ξ."""
        updates, opt_state = self.opt_c.update(grads, state.opt_contexts, state.contexts)
        contexts = optax.apply_updates(state.contexts, updates)
        state = eqx.tree_at(lambda s: (s.contexts, s.opt_contexts), state, (contexts, opt_state))
        return state, all_finite(contexts)

    def phase_step(self, state: TrainState, data: EnvData, olds, batch, is_weights, key):
        """The optimiser step of the current phase, differentiating only that phase's block
        (a ``lax.cond`` on the phase; the context phase computes no weight gradient and the
        weight phase no context gradient). Returns ``(state, (L, per-env losses, finite))``."""

        def weights(s: TrainState):
            theta, static = eqx.partition(s.model, self.trainable)
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
        return filter_cond(is_weights, weights, contexts, state)

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
        olds = (eqx.filter(state.model, self.trainable), state.contexts)
        first_w = cfg.order == "weights_first"
        is_weights = jnp.asarray(
            [first_w] * (n_w if first_w else n_c) + [not first_w] * (n_c if first_w else n_w)
        )
        n = n_w + n_c
        indices = state.step * n + jnp.arange(n, dtype=jnp.int32)
        body = lambda s, xs: self.inner(s, data, olds, xs)  # noqa: E731
        state, outs = filter_scan(body, state, (jr.split(key_steps, n), indices, is_weights))
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
        trainable=trainable_filter(model),
        batch_size=cfg.resolved_batch_size(data.num_envs, model.num_experts),
        gate_on=model.num_experts > 1 and not model.naive and cfg.gate_update_every > 0,
    )
    jitted = eqx.filter_jit(step)
    return lambda state: jitted(state, data)
