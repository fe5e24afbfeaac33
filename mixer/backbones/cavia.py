"""CAVIA (Zintgraf et al., 2019): concatenation conditioning trained second-order (SPEC §2.2).

The vector field is the root MLP applied to ``[x; ξ]``. During training (``train_predict``) the
stored context is ignored: an inner loop of ``inner_steps`` SGD steps (learning rate
``inner_lr``) on a context starting from zeros minimises the MSE of Eq. (7) on the
environment's data, and the prediction uses the adapted context. The outer gradient flows
through the inner loop (second order). CAVIA is a baseline only (never inside a MixER layer).

CAVIA stores no trained context. Every evaluation (validation, test, adaptation) takes its
context from ``infer_context``: the same inner loop, first order, on the environment's support
data (its training trajectories in-domain, ``adapt_train`` out of domain, with the adaptation
step count), never a stored zero (SPEC §2.2).

Numerics: reverse-over-reverse differentiation cannot go through the default Diffrax adjoint
used by :func:`mixer.solve.solve_many` (a checkpointed while loop). The inner-loop rollouts
therefore use the same solver, tolerances, ``dt0`` and ``max_steps`` with
``diffrax.DirectAdjoint`` (``solve_many(..., higher_order=True)``), which is differentiable any
number of times (slower to compile); the final rollout with the adapted context does not.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.backbones.base import AbstractBackbone, trajectory_mse
from mixer.backbones.mlp import SwishMLP
from mixer.solve import SolverConfig, solve_many

__all__ = ["CAVIA"]


class CAVIA(AbstractBackbone):
    """CAVIA expert. Options: ``width`` (64), ``depth`` (2 hidden layers: three linear layers)
    of the MLP on ``[x; ξ]``; ``inner_steps`` (3) and ``inner_lr`` (0.1) of the inner SGD loop."""

    net: SwishMLP
    state_size: int = eqx.field(static=True)
    context_size: int = eqx.field(static=True)
    inner_steps: int = eqx.field(static=True)
    inner_lr: float = eqx.field(static=True)
    uses_stored_context: ClassVar[bool] = False

    def __init__(
        self,
        state_size: int,
        context_size: int,
        *,
        key: PRNGKeyArray,
        width: int = 64,
        depth: int = 2,
        inner_steps: int = 3,
        inner_lr: float = 0.1,
    ):
        if inner_steps < 0:
            raise ValueError(f"inner_steps must be >= 0, got {inner_steps}")
        self.net = SwishMLP(state_size + context_size, state_size, width, depth, key=key)
        self.state_size = state_size
        self.context_size = context_size
        self.inner_steps = inner_steps
        self.inner_lr = float(inner_lr)

    def vector_field(self, x: Float[Array, " D"], ctx: Float[Array, " d"]) -> Float[Array, " D"]:
        """``f(x, ξ) = MLP([x; ξ])``."""
        return self.net(jnp.concatenate([x, ctx]))

    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time D"]:
        """Roll out ``f(·, ctx)`` from ``x[:, 0]`` with the given context."""
        return solve_many(lambda _, y: self.vector_field(y, ctx), x[:, 0], t, solver, scale=scale)

    def _inner_loss(self, ctx, x, t, solver, higher_order: bool) -> Float[Array, ""]:
        pred = solve_many(
            lambda _, y: self.vector_field(y, ctx), x[:, 0], t, solver, higher_order=higher_order
        )
        return trajectory_mse(pred, x)

    def inner_loop(
        self,
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        steps: int,
        *,
        higher_order: bool,
    ) -> tuple[Float[Array, " d"], Float[Array, " steps"]]:
        """``steps`` SGD steps (``inner_lr``) from a zero context on the MSE of ``x``; returns
        the context and the loss before each step. With ``higher_order`` the rollouts can be
        differentiated again (training differentiates through this loop)."""
        value_and_grad = jax.value_and_grad(self._inner_loss)

        def step(ctx, _):
            loss, grad = value_and_grad(ctx, x, t, solver, higher_order)
            return ctx - self.inner_lr * grad, loss

        ctx0 = jnp.zeros((self.context_size,), x.dtype)
        return jax.lax.scan(step, ctx0, None, length=steps)

    def adapt_context(
        self, x: Float[Array, "traj time D"], t: Float[Array, " time"], solver: SolverConfig
    ) -> Float[Array, " d"]:
        """The training inner loop (``inner_steps`` steps), differentiable (second order) with
        respect to the model."""
        return self.inner_loop(x, t, solver, self.inner_steps, higher_order=True)[0]

    def infer_context(
        self,
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        steps: int | None,
    ) -> tuple[Float[Array, " d"], Float[Array, " steps"]]:
        """The context of every evaluation (SPEC §2.2): the inner loop on the support data
        ``x`` (the environment's training trajectories in-domain, ``adapt_train`` out of
        domain) for ``steps`` steps (``None``: ``inner_steps``, as in training); first order
        (nothing differentiates through it)."""
        steps = self.inner_steps if steps is None else steps
        ctx, losses = self.inner_loop(x, t, solver, steps, higher_order=False)
        return jax.lax.stop_gradient(ctx), losses

    def train_predict(
        self,
        ctx: Float[Array, " d"],
        pool: Float[Array, "pool d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "1 traj time D"]:
        """Prediction with the inner-loop context (the stored ``ctx`` and ``pool`` are unused)."""
        del ctx, pool
        return self.predict(self.adapt_context(x, t, solver), x, t, solver, scale)[None]
