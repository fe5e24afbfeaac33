"""The MixER module: M stacked experts, a linear context gate and truly sparse top-1 routing.

The experts are stored as ONE backbone whose every array leaf has a leading axis of size M
(``experts``). Routing an environment to expert ``m`` indexes every stacked leaf with ``m``
(a gather when ``m`` is traced inside a ``vmap`` over environments), so each environment costs
exactly one expert (SPEC §2.3, Known pitfall 1). The gate is a ``(d + 1, M)`` matrix whose last
row is the bias; its logits, routing and probabilities are those of ``mixer.gating.gate``.

Variants (static fields):
- ``split_contexts``: expert ``m`` only ever receives chunk ``m`` of the context (App. C.1).
- ``naive`` (MixER-M†): the routed expert's vector field (for a discrete-time model, its step
  increment) is multiplied by its softmax probability, so the gate gets a gradient (Known
  pitfall 2). One forward pass (``routed``) serves training, validation, evaluation,
  adaptation and figures, so what training fits is what the tables score. In the MixER
  variant the gate is wrapped in ``stop_gradient`` and is set by the gate update instead.

Choice where the specification is silent: the loss matrix scores each expert's
``loss_predict`` (the gate update has no context pools).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from mixer.backbones.base import AbstractBackbone
from mixer.gating.gate import gate_logits, gate_probabilities, route
from mixer.layer.loss_matrix import loss_matrix_and_steps as _matrix_and_steps
from mixer.layer.loss_matrix import reference_loss_matrix as _reference_matrix
from mixer.solve import SolverConfig

__all__ = ["MixER"]


def _take(leaf: Array, m: Int[Array, ""]) -> Array:
    """Leaf ``m`` along the leading (expert) axis, without copying the other experts."""
    return jax.lax.dynamic_index_in_dim(leaf, m, axis=0, keepdims=False)


class MixER(eqx.Module):
    """A sparse top-1 mixture of M experts routed by a linear gate on the context.

    Contexts are not stored here: callers pass the context ``ctx`` (size ``d``) of each
    environment. Every method works on ONE environment; ``jax.vmap`` over environments.
    """

    experts: AbstractBackbone
    shifts: Float[Array, " M"]
    gate: Float[Array, "d_plus_1 M"]
    num_experts: int = eqx.field(static=True)
    context_size: int = eqx.field(static=True)
    split_contexts: bool = eqx.field(static=True)
    naive: bool = eqx.field(static=True)

    def __check_init__(self) -> None:
        if self.split_contexts and self.context_size % self.num_experts:
            raise ValueError(
                f"split_contexts needs context_size ({self.context_size}) "
                f"divisible by num_experts ({self.num_experts})"
            )
        want = {"gate": (self.context_size + 1, self.num_experts), "shifts": (self.num_experts,)}
        for name, shape in want.items():
            got = getattr(self, name).shape
            if tuple(got) != shape:
                raise ValueError(f"MixER.{name} has shape {tuple(got)}, expected {shape}")

    @property
    def expert_context_size(self) -> int:
        """Size ``d_m`` of the context one expert receives."""
        if self.split_contexts:
            return self.context_size // self.num_experts
        return self.context_size

    # ----------------------------------------------------------------------------- gate
    def gate_logits(self, ctx: Float[Array, " d"]) -> Float[Array, " M"]:
        """Logits ``[ctx, 1] @ gate`` (the bias is the gate's last row; ``gating.gate_logits``)."""
        return gate_logits(self.gate, ctx)

    def gate_probs(self, ctx: Float[Array, " d"]) -> Float[Array, " M"]:
        """Softmax of the gate logits (``gating.gate_probabilities``)."""
        return gate_probabilities(self.gate, ctx)

    def route(self, ctx: Float[Array, " d"]) -> Int[Array, ""]:
        """The routed expert: argmax of the logits (top-1; ties go to the lowest index;
        ``gating.route``)."""
        return route(self.gate, ctx)

    # -------------------------------------------------------------------------- experts
    def expert_context(
        self, ctx: Float[Array, "... d"], m: Int[Array, ""] | int
    ) -> Float[Array, "... d_m"]:
        """The context expert ``m`` receives: chunk ``m`` of ``ctx`` (when split) + ``shifts[m]``.

        Works on a single context ``(d,)`` or a stack ``(..., d)`` (e.g. a context pool).
        """
        shift = _take(self.shifts, jnp.asarray(m, jnp.int32))
        if self.split_contexts:
            size = self.expert_context_size
            ctx = jax.lax.dynamic_slice_in_dim(ctx, m * size, size, axis=-1)
        return ctx + shift

    def expert(self, m: Int[Array, ""] | int) -> AbstractBackbone:
        """The ``m``-th expert as a stand-alone backbone (``m`` may be a traced integer)."""
        params, static = eqx.partition(self.experts, eqx.is_array)
        m = jnp.asarray(m, jnp.int32)
        return eqx.combine(jax.tree.map(lambda leaf: _take(leaf, m), params), static)

    # ----------------------------------------------------------------------- prediction
    def routed(self, ctx: Float[Array, " d"]) -> tuple[Int[Array, ""], Float[Array, ""] | None]:
        """The routed expert ``m`` and the field scale of the forward pass.

        MixER: no scale (the expert works alone); the gate is behind ``stop_gradient`` (the
        gate update sets it). Naive (†): the routed expert's softmax probability ``p_m``, which
        carries the gradient to the gate and, through it, to the context (SPEC §2.3).
        """
        gate = self.gate if self.naive else jax.lax.stop_gradient(self.gate)
        m = route(gate, jax.lax.stop_gradient(ctx))
        if not self.naive:
            return m, None
        return m, gate_probabilities(gate, ctx)[m]

    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "traj time state"]:
        """Evaluation rollout by the routed expert only (for † with its field scaled by
        ``p_m``, exactly the model training fits)."""
        m, scale = self.routed(ctx)
        return self.expert(m).predict(self.expert_context(ctx, m), x, t, solver, scale)

    def loss_predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "traj time state"]:
        """What the training loss compares with ``x`` for one environment with its own context
        (no pool): ``predict`` for initial-value backbones, the teacher-forced rollout for
        teacher-forced ones. Model selection scores it."""
        m, scale = self.routed(ctx)
        return self.expert(m).loss_predict(self.expert_context(ctx, m), x, t, solver, scale)

    def train_predict(
        self,
        ctx: Float[Array, " d"],
        pool: Float[Array, "pool d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "npred traj time state"]:
        """Training predictions (Eq. 7) of the routed expert: the same forward pass as
        ``predict`` (same routing and field scale), with the backbone's context pool."""
        m, scale = self.routed(ctx)
        return self.expert(m).train_predict(
            self.expert_context(ctx, m), self.expert_context(pool, m), x, t, solver, scale
        )

    def infer_contexts(
        self,
        xs: Float[Array, "E traj time state"],
        ts: Float[Array, "E time"],
        solver: SolverConfig,
        steps: int | None,
    ) -> tuple[Float[Array, "E d"], Float[Array, "E steps"]]:
        """Contexts of a single expert that infers them itself (CAVIA, ``uses_stored_context``
        False) from each environment's support data in ``steps`` inner steps (``None``: as in
        training), and the loss before each step."""
        if self.num_experts != 1 or self.experts.uses_stored_context:
            raise ValueError(
                "infer_contexts needs a single expert without stored contexts "
                f"(got {self.num_experts} x {type(self.experts).__name__})"
            )
        expert = self.expert(0)
        ctxs, losses = jax.vmap(lambda x, t: expert.infer_context(x, t, solver, steps))(xs, ts)
        return ctxs - self.shifts[0], losses

    def predict_dense(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "traj time state"]:
        """Benchmarks and tests only: evaluate ALL M experts, then keep the routed one.

        This is the compute pattern of the paper's public code (Known pitfall 1); its output
        equals ``predict`` but it costs M experts per environment.
        """
        preds = self._all_experts(lambda e, c: e.predict(c, x, t, solver), ctx)
        return preds[self.route(jax.lax.stop_gradient(ctx))]

    def train_predict_dense(
        self,
        ctx: Float[Array, " d"],
        pool: Float[Array, "pool d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "npred traj time state"]:
        """Benchmarks only: ``train_predict`` of the MixER variant computed the dense way
        (all M experts evaluated, the routed one kept)."""

        def one(expert: AbstractBackbone, m: Int[Array, ""]) -> Array:
            c, p = self.expert_context(ctx, m), self.expert_context(pool, m)
            return expert.train_predict(c, p, x, t, solver)

        preds = self._all_experts_indexed(one)
        return preds[self.route(jax.lax.stop_gradient(ctx))]

    def _all_experts(self, fn: Any, ctx: Float[Array, " d"]) -> Array:
        """``fn(expert_m, expert_context(ctx, m))`` for every m, stacked on a leading axis."""
        return self._all_experts_indexed(lambda e, m: fn(e, self.expert_context(ctx, m)))

    def _all_experts_indexed(self, fn: Any) -> Array:
        """``fn(expert_m, m)`` for every m, vmapped over the stacked parameters directly."""
        params, static = eqx.partition(self.experts, eqx.is_array)

        def one(p: Any, m: Int[Array, ""]) -> Array:
            return fn(eqx.combine(p, static), m)

        return jax.vmap(one)(params, jnp.arange(self.num_experts, dtype=jnp.int32))

    # ---------------------------------------------------------------------- gate update
    def loss_matrix(
        self,
        ctxs: Float[Array, "E d"],
        xs: Float[Array, "E traj time state"],
        ts: Float[Array, "E time"],
        solver: SolverConfig,
    ) -> Float[Array, "M E"]:
        """Forward-only loss ``ℓ[m, e]`` of every expert alone on every environment (Alg. 1).

        ``ℓ[m, e]`` is ``trajectory_mse`` of expert ``m``'s ``loss_predict`` (the evaluation
        rollout, or teacher-forced for teacher-forced backbones: the training loss, as Alg. 1
        uses) with the context it would receive for environment ``e``. No gradient flows
        through it. See ``loss_matrix_and_steps`` for how it is computed.
        """
        return self.loss_matrix_and_steps(ctxs, xs, ts, solver)[0]

    def loss_matrix_and_steps(
        self,
        ctxs: Float[Array, "E d"],
        xs: Float[Array, "E traj time state"],
        ts: Float[Array, "E time"],
        solver: SolverConfig,
    ) -> tuple[Float[Array, "M E"], Int[Array, "M E traj"]]:
        """``loss_matrix`` and the solver steps of every (expert, environment, trajectory)
        (0 for backbones that do not count them).

        For backbones with an expert-shared field (``AbstractSharedFieldBackbone``: GEPS,
        CoDA) the rows are computed one expert at a time (a ``lax.scan`` over the stacked
        experts), so each expert's lanes (environments × trajectories) wait only for that
        expert's slowest lane; each weight product is one matrix product over all of the
        expert's lanes, integrated by the forward-only ``mixer.solve.lanes_sq_error`` (which
        also compacts the lanes still running). Other backbones evaluate ``loss_predict`` in a
        vmap over the stacked experts around a vmap over environments (``reference_loss_matrix``)
        and report no steps. See ``mixer.layer.loss_matrix``.
        """
        return _matrix_and_steps(self, ctxs, xs, ts, solver)

    def reference_loss_matrix(
        self,
        ctxs: Float[Array, "E d"],
        xs: Float[Array, "E traj time state"],
        ts: Float[Array, "E time"],
        solver: SolverConfig,
    ) -> Float[Array, "M E"]:
        """``loss_matrix`` computed the plain way, a vmap over the stacked experts around a vmap
        over environments of ``loss_predict`` (for IVP backbones Diffrax with save-at, all lanes
        in one loop): how backbones without an expert-shared field get theirs, and the
        reference of the tests and benchmarks."""
        return _reference_matrix(self, ctxs, xs, ts, solver)
