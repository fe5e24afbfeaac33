"""Initial-value backbones whose vector field splits into shared weights and a small
per-environment part (GEPS, CoDA).

Such a backbone's field is ``shared_field(env_factors(ctx), y)``: ``env_factors`` forms what
depends on the context once per environment (a few vectors, never a weight matrix per
environment), and ``shared_field`` applies the weights, which are the same for every
environment. Batched over many environments and trajectories (``jax.vmap``), every weight
product of ``shared_field`` is then ONE matrix product for all of them, which is what the gate
update's loss matrix needs (every expert on every environment: ``env_losses``).
"""

from __future__ import annotations

import abc
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from mixer.backbones.base import AbstractBackbone
from mixer.solve import SolverConfig, lanes_sq_error, solve_many

__all__ = ["AbstractSharedFieldBackbone"]


class AbstractSharedFieldBackbone(AbstractBackbone):
    """An initial-value backbone with the field ``shared_field(env_factors(ctx), y)``.

    ``predict`` rolls out that field (``loss_predict`` is ``predict``); ``env_losses`` scores
    the same rollout on many environments at once, forward only.
    """

    @abc.abstractmethod
    def env_factors(self, ctx: Float[Array, " d"]) -> Any:
        """The context-dependent part of the field for one environment (a pytree of small
        arrays), formed once per environment and solve."""

    @abc.abstractmethod
    def shared_field(self, factors: Any, y: Float[Array, " D"]) -> Float[Array, " D"]:
        """The vector field at ``y`` given ``env_factors(ctx)``; every weight is shared by all
        environments."""

    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time D"]:
        """Form the environment's factors once, then roll out the field from ``x[:, 0]``."""
        factors = self.env_factors(ctx)
        return solve_many(
            lambda _, y: self.shared_field(factors, y), x[:, 0], t, solver, scale=scale
        )

    def env_losses(
        self,
        ctxs: Float[Array, "E d"],
        xs: Float[Array, "E traj time D"],
        ts: Float[Array, "E time"],
        solver: SolverConfig,
    ) -> tuple[Float[Array, " E"], Int[Array, "E traj"]]:
        """``trajectory_mse(loss_predict(ctx_e, x_e, t_e), x_e)`` of every environment, forward
        only, and the solver steps of every trajectory.

        Every trajectory of every environment is one lane of ``mixer.solve.lanes_sq_error``
        (lanes on the last axis), which scores the grid points on the fly; the weights are
        shared, so each weight product of ``shared_field`` is one matrix product over all
        lanes.
        """
        num_envs, num_traj, num_times, state = xs.shape
        factors = jax.vmap(self.env_factors)(ctxs)
        per_lane = jax.tree.map(
            lambda a: jnp.moveaxis(jnp.repeat(a, num_traj, axis=0), 0, -1), factors
        )
        field = jax.vmap(lambda f, y: self.shared_field(f, y), in_axes=(-1, -1), out_axes=-1)
        lanes = num_envs * num_traj
        x = xs.reshape(lanes, num_times, state).transpose(1, 2, 0)  # (time, state, lanes)
        t = jnp.repeat(ts, num_traj, axis=0).T  # (time, lanes)
        sq_errors, steps = lanes_sq_error(lambda f, _, y: field(f, y), per_lane, x[0], t, x, solver)
        losses = jnp.sum(sq_errors.reshape(num_envs, num_traj), axis=1) / (num_traj * num_times)
        return losses, steps.reshape(num_envs, num_traj)
