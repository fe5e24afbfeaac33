"""hier-shPLRNN (Brenner et al., 2024): a shallow piecewise-linear RNN whose weights come from a
linear hypernetwork of the context (SPEC §2.2). Used for the sequence datasets.

One step, with latent ``z`` of the data dimension D (no encoder) and hidden width L::

    z_t = A ⊙ z̃ + W1 relu(W2 z̃ + h2) + h1,     A diagonal (stored as a vector)

* training (``loss_predict``, which ``train_predict`` returns), generalized teacher forcing
  with fixed ``alpha``: ``z̃ = alpha z_{t-1} + (1 - alpha) x_{t-1}``; the output at time t
  only sees data up to t - 1 (the training loss compares z_t with x_t, a lagged target);
* free running (``predict``): ``z̃ = z_{t-1}``.

DECISION (the paper says z_0 = 0, SPEC lets us choose): ``z_0 = x_0``, the observed first state,
so output index 0 equals ``x[:, 0]`` exactly and the first prediction is ``z_1 = step(x_0)``.

All of ``(A, W1, W2, h1, h2)`` are ``base + hyper @ ξ`` (each ``hyper`` has a trailing context
axis), formed once per call. Initialisation: ``A`` base 0.9; ``W1``, ``W2``, ``h2`` base uniform
in ``±1/sqrt(fan_in)``; ``h1`` base 0; every hypernetwork entry normal with standard deviation
``hyper_init_std`` (not zero: contexts start at 0, and a zero hypernetwork would never receive
a gradient). The time grid ``t`` and the ``solver`` are unused (discrete-time model).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.backbones.base import AbstractBackbone
from mixer.solve import SolverConfig

__all__ = ["PLRNN", "PLRNNWeights"]


class PLRNNWeights(eqx.Module):
    """Weights of one shPLRNN step (or, with a trailing context axis, their hypernetwork)."""

    # jaxtyping shapes; ruff reads "D *d" as an expression (hence the noqa)
    a: Float[Array, "D *d"]  # noqa: F821, UP037
    w1: Float[Array, "D L *d"]
    w2: Float[Array, "L D *d"]
    h1: Float[Array, "D *d"]  # noqa: F821, UP037
    h2: Float[Array, "L *d"]  # noqa: F821, UP037

    def step(self, z: Float[Array, " D"]) -> Float[Array, " D"]:
        """``A ⊙ z + W1 relu(W2 z + h2) + h1``."""
        return self.a * z + self.w1 @ jax.nn.relu(self.w2 @ z + self.h2) + self.h1


def _base_weights(state_size: int, hidden: int, key: PRNGKeyArray) -> PLRNNWeights:
    k1, k2, k3 = jax.random.split(key, 3)
    lim1, lim2 = 1.0 / hidden**0.5, 1.0 / state_size**0.5
    return PLRNNWeights(
        a=jnp.full((state_size,), 0.9),
        w1=jax.random.uniform(k1, (state_size, hidden), minval=-lim1, maxval=lim1),
        w2=jax.random.uniform(k2, (hidden, state_size), minval=-lim2, maxval=lim2),
        h1=jnp.zeros((state_size,)),
        h2=jax.random.uniform(k3, (hidden,), minval=-lim2, maxval=lim2),
    )


class PLRNN(AbstractBackbone):
    """hier-shPLRNN expert. Options: ``hidden`` (L = 16), ``alpha`` (0.5, teacher-forcing
    mixing), ``hyper_init_std`` (1e-2)."""

    base: PLRNNWeights
    hyper: PLRNNWeights
    state_size: int = eqx.field(static=True)
    context_size: int = eqx.field(static=True)
    alpha: float = eqx.field(static=True)

    def __init__(
        self,
        state_size: int,
        context_size: int,
        *,
        key: PRNGKeyArray,
        hidden: int = 16,
        alpha: float = 0.5,
        hyper_init_std: float = 1e-2,
    ):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        k_base, k_hyper = jax.random.split(key)
        self.base = _base_weights(state_size, hidden, k_base)
        leaves, treedef = jax.tree.flatten(self.base)
        keys = jax.random.split(k_hyper, len(leaves))
        self.hyper = jax.tree.unflatten(
            treedef,
            [
                hyper_init_std * jax.random.normal(k, (*leaf.shape, context_size))
                for k, leaf in zip(keys, leaves, strict=True)
            ],
        )
        self.state_size = state_size
        self.context_size = context_size
        self.alpha = float(alpha)

    teacher_forced: ClassVar[bool] = True

    def weights(self, ctx: Float[Array, " d"]) -> PLRNNWeights:
        """The environment's step weights ``base + hyper @ ctx``."""
        return jax.tree.map(lambda b, h: b + h @ ctx, self.base, self.hyper)

    def predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time D"]:
        """Free-running rollout from ``z_0 = x[:, 0]`` (only ``x[:, 0]`` is read)."""
        del t, solver
        step_fn = _scaled_step(self.weights(ctx), scale)
        n_steps = x.shape[1] - 1

        def one(x0):
            def step(z, _):
                z_next = step_fn(z)
                return z_next, z_next

            _, zs = jax.lax.scan(step, x0, None, length=n_steps)
            return jnp.concatenate([x0[None], zs])

        return jax.vmap(one)(x[:, 0])

    def loss_predict(
        self,
        ctx: Float[Array, " d"],
        x: Float[Array, "traj time D"],
        t: Float[Array, " time"],
        solver: SolverConfig,
        scale: Float[Array, ""] | None = None,
    ) -> Float[Array, "traj time D"]:
        """Teacher-forced rollout: the output at time t is computed from ``x[:, :t]`` only."""
        del t, solver
        step_fn = _scaled_step(self.weights(ctx), scale)
        alpha = self.alpha

        def one(series):
            def step(z, x_prev):
                z_next = step_fn(alpha * z + (1.0 - alpha) * x_prev)
                return z_next, z_next

            _, zs = jax.lax.scan(step, series[0], series[:-1])
            return jnp.concatenate([series[:1], zs])

        return jax.vmap(one)(x)


def _scaled_step(weights: PLRNNWeights, scale: Float[Array, ""] | None):
    """One step ``z ↦ F(z)``, or with ``scale`` ``z ↦ z + scale (F(z) − z)`` (the naive
    mixture scales the step increment, SPEC §2.3)."""
    if scale is None:
        return weights.step
    return lambda z: z + scale * (weights.step(z) - z)
