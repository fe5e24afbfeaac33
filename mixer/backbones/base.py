"""The interface every expert (backbone meta-learner) implements."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from mixer.solve import SolverConfig


class AbstractBackbone(eqx.Module):
    """One expert: a meta-learner whose behaviour on an environment is set by a context vector.

    Shapes: ``ctx`` is ``(d,)`` (the part of the context this expert receives), ``x`` is the
    environment's data ``(traj, time, state)``, ``t`` its time grid ``(time,)``.
    Context-modulated weights are formed once per call (once per environment per solve), never
    inside the vector field.
    """

    context_size: eqx.AbstractVar[int]
    state_size: eqx.AbstractVar[int]
    # False for backbones that infer their context with their own inner loop (CAVIA) and
    # ignore the stored one: training skips the context phase (its gradient is zero) and
    # every evaluation takes the context from ``infer_context`` on the support data.
    uses_stored_context: ClassVar[bool] = True
    # True for sequence backbones trained by teacher forcing (hier-shPLRNN): their training
    # loss, the gate's loss matrix and model selection score ``loss_predict`` (teacher-forced),
    # never a free-running rollout.
    teacher_forced: ClassVar[bool] = False

    @abc.abstractmethod
    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time state"]:
        """Evaluation prediction: a free-running rollout from the first state of each trajectory.

        ``scale`` multiplies the vector field (for a discrete-time model: the step increment);
        only the naive mixture (MixER-M†) passes it, with the routed expert's gate probability.
        """

    def train_predict(
        self,
        ctx: Float[Array, " d"],
        pool: Float[Array, "pool d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "npred traj time state"]:
        """Predictions that enter the training loss (Eq. 7), stacked on a leading axis.

        ``pool`` holds the contexts of the environment's nearest neighbours (the first row is
        ``ctx`` itself); only backbones with contextual self-modulation use it. The default is
        ``loss_predict`` (the pool is unused).
        """
        del pool
        return self.loss_predict(ctx, x, t, solver, scale)[None]

    def loss_predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time state"]:
        """The prediction the training loss compares with ``x`` for one environment with its own
        context and no pool: the evaluation rollout for initial-value backbones (the default),
        the teacher-forced rollout for teacher-forced ones. The gate's loss matrix and model
        selection score it."""
        return self.predict(ctx, x, t, solver, scale)

    def infer_context(
        self,
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        steps: int | None,
    ) -> tuple[Float[Array, " d"], Float[Array, " steps"]]:
        """The context this backbone's own inner loop infers from support data ``x`` in
        ``steps`` steps (``None``: as many as in training), and the loss before each step.
        Only backbones with ``uses_stored_context = False`` have one."""
        raise TypeError(f"{type(self).__name__} uses stored contexts; it has no inner loop")


def trajectory_mse(
    pred: Float[Array, "... traj time state"], x: Float[Array, "traj time state"]
) -> Float[Array, ""]:
    """Eq. (7) for one environment: mean over leading axes, trajectories and times of the
    squared L2 norm of the error over the state."""
    return jnp.mean(jnp.sum((pred - x) ** 2, axis=-1))
