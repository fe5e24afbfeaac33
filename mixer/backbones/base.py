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
    # False for backbones that infer their context inside ``train_predict`` and ignore the
    # stored one (CAVIA): training then skips the context phase, whose gradient is zero.
    uses_stored_context: ClassVar[bool] = True

    @abc.abstractmethod
    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "traj time state"]:
        """Evaluation prediction: a free-running rollout from the first state of each trajectory."""

    def train_predict(
        self,
        ctx: Float[Array, " d"],
        pool: Float[Array, "pool d"],
        x: Float[Array, "traj time state"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "npred traj time state"]:
        """Predictions that enter the training loss (Eq. 7), stacked on a leading axis.

        ``pool`` holds the contexts of the environment's nearest neighbours (the first row is
        ``ctx`` itself); only backbones with contextual self-modulation use it. The default is
        the evaluation rollout.
        """
        del pool
        return self.predict(ctx, x, t, solver)[None]


def trajectory_mse(
    pred: Float[Array, "... traj time state"], x: Float[Array, "traj time state"]
) -> Float[Array, ""]:
    """Eq. (7) for one environment: mean over leading axes, trajectories and times of the
    squared L2 norm of the error over the state."""
    return jnp.mean(jnp.sum((pred - x) ** 2, axis=-1))
