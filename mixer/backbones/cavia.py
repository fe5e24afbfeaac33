"""CAVIA (Zintgraf et al., 2019): concatenation conditioning trained second-order (SPEC §2.2).

The vector field is the root MLP applied to ``[x; ξ]``. During training (``train_predict``) the
stored context is ignored: an inner loop of ``inner_steps`` SGD steps (learning rate
``inner_lr``) on a context starting from zeros minimises the MSE of Eq. (7) on the
environment's data, and the prediction uses the adapted context. The outer gradient flows
through the inner loop (second order). CAVIA is a baseline only (never inside a MixER layer).

Numerics: reverse-over-reverse differentiation cannot go through the default Diffrax adjoint
used by :func:`mixer.solve.solve_many` (a checkpointed while loop). The inner-loop rollouts
therefore use the same solver, tolerances, ``dt0`` and ``max_steps`` with
``diffrax.DirectAdjoint``, which is differentiable any number of times (slower to compile);
the final rollout with the adapted context uses ``solve_many``.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.backbones.base import AbstractBackbone, trajectory_mse
from mixer.backbones.mlp import SwishMLP
from mixer.solve import SolverConfig, VectorField, solve_many

__all__ = ["CAVIA", "solve_many_higher_order"]


def solve_many_higher_order(
    field: VectorField,
    x0s: Float[Array, "traj state"],
    t: Float[Array, " time"],
    cfg: SolverConfig,
) -> Float[Array, "traj time state"]:
    """:func:`mixer.solve.solve_many` differentiable in reverse mode more than once."""
    return solve_many(field, x0s, t, cfg, higher_order=True)


class CAVIA(AbstractBackbone):
    """CAVIA expert. Options: ``width`` (64), ``depth`` (3 hidden layers) of the MLP on
    ``[x; ξ]``; ``inner_steps`` (3) and ``inner_lr`` (0.1) of the inner SGD loop."""

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
        depth: int = 3,
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
    ) -> Float[Array, "traj time D"]:
        """Roll out ``f(·, ctx)`` from ``x[:, 0]`` with the given context."""
        return solve_many(lambda _, y: self.vector_field(y, ctx), x[:, 0], t, solver)

    def _inner_loss(self, ctx, x, t, solver) -> Float[Array, ""]:
        pred = solve_many_higher_order(
            lambda _, y: self.vector_field(y, ctx), x[:, 0], t, solver
        )
        return trajectory_mse(pred, x)

    def adapt_context(
        self, x: Float[Array, "traj time D"], t: Float[Array, " time"], solver: SolverConfig
    ) -> Float[Array, " d"]:
        """The inner loop: ``inner_steps`` SGD steps from a zero context on the MSE of ``x``.

        Differentiable (second order) with respect to the model.
        """
        grad_fn = jax.grad(self._inner_loss)

        def step(ctx, _):
            return ctx - self.inner_lr * grad_fn(ctx, x, t, solver), None

        ctx0 = jnp.zeros((self.context_size,), x.dtype)
        ctx, _ = jax.lax.scan(step, ctx0, None, length=self.inner_steps)
        return ctx

    def train_predict(
        self,
        ctx: Float[Array, " d"],
        pool: Float[Array, "pool d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
    ) -> Float[Array, "1 traj time D"]:
        """Prediction with the inner-loop context (the stored ``ctx`` and ``pool`` are unused)."""
        del ctx, pool
        return self.predict(self.adapt_context(x, t, solver), x, t, solver)[None]
