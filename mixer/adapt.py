"""Adaptation to new environments (SPEC §2.6).

Adaptation freezes Θ and the gate and fits one context per environment from 0 with AdaBelief.
Each environment's loss depends on its own context only, so all environments run in ONE
vmapped, once-compiled call with independent optimiser states (``lax.map`` over chunks of
``batch_size`` environments, a ``lax.scan`` over the steps inside): the same computation as
adapting them one by one.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.envdata import EnvData
from mixer.evaluate import evaluate as evaluate  # re-exported for library users of mixer.adapt
from mixer.evaluate import infer_contexts
from mixer.layer import MixER
from mixer.solve import SolverConfig
from mixer.train_loss import env_loss

__all__ = ["AdaptConfig", "adapt", "evaluate", "infer_contexts"]


@dataclasses.dataclass(frozen=True)
class AdaptConfig:
    """Settings of context adaptation (hashable: a static jit argument).

    Attributes:
        steps: AdaBelief steps per environment (1500 on ODEBench).
        lr: constant learning rate.
        batch_size: environments adapted together in one vmapped chunk (the chunks run one
            after another inside the same compiled call); ``None`` = all at once.
        min_window: random time window fraction, as in training (1.0: whole grid).
        time_stride: keep every k-th saved time point.
        solver: numerics of the rollouts.
    """

    steps: int = 1500
    lr: float = 1e-3
    batch_size: int | None = None
    min_window: float = 1.0
    time_stride: int = 1
    solver: SolverConfig = SolverConfig()

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"AdaptConfig.steps must be >= 1, got {self.steps}")
        if self.lr <= 0:
            raise ValueError(f"AdaptConfig.lr must be > 0, got {self.lr}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"AdaptConfig.batch_size must be >= 1 or None, got {self.batch_size}")
        if not 0.0 < self.min_window <= 1.0:
            raise ValueError(f"AdaptConfig.min_window must be in (0, 1], got {self.min_window}")


def _adapt_one(model: MixER, x, t, key, cfg: AdaptConfig):
    """Fit one environment's context from 0; returns the context and the loss per step."""
    opt = optax.adabelief(cfg.lr)
    ctx0 = jnp.zeros((model.context_size,), x.dtype)

    def objective(ctx, k):
        return env_loss(model, ctx, ctx[None], x, t, cfg.solver, min_window=cfg.min_window, key=k)

    def step(carry, k):
        ctx, opt_state = carry
        loss, grad = jax.value_and_grad(objective)(ctx, k)
        updates, opt_state = opt.update(grad, opt_state, ctx)
        return (optax.apply_updates(ctx, updates), opt_state), loss

    (ctx, _), losses = jax.lax.scan(step, (ctx0, opt.init(ctx0)), jr.split(key, cfg.steps))
    return ctx, losses


@eqx.filter_jit
def _adapt_all(model: MixER, x, t, keys, cfg: AdaptConfig):
    chunk = cfg.batch_size or x.shape[0]

    def one(env):
        x_env, t_env, key_env = env
        return _adapt_one(model, x_env, t_env, key_env, cfg)

    return jax.lax.map(one, (x, t, keys), batch_size=min(chunk, x.shape[0]))


def adapt(
    model: MixER, data: EnvData, cfg: AdaptConfig, *, key: PRNGKeyArray
) -> tuple[Float[Array, "E d"], Float[Array, "steps E"]]:
    """Adapt a context to every environment of ``data`` with the model frozen.

    Contexts start at 0; routing follows the frozen gate. The loss is the training loss of
    Eq. (7) (``train_predict`` with a context pool holding only the environment itself).
    Environment ``e`` uses the key ``fold_in(key, e)`` (only consumed by random windows), so
    its result does not depend on which other environments are adapted alongside. A model that
    infers its contexts itself (CAVIA) runs its own inner loop for ``cfg.steps`` steps instead.

    Returns:
        The adapted contexts ``(E, d)`` and the loss before every step ``(steps, E)``.
    """
    data = data.strided(cfg.time_stride)
    if not model.experts.uses_stored_context:
        return infer_contexts(model, data, cfg.solver, cfg.steps, batch_size=cfg.batch_size)
    keys = jax.vmap(lambda e: jr.fold_in(key, e))(jnp.arange(data.num_envs))
    contexts, losses = _adapt_all(model, data.x, data.t, keys, cfg)
    return contexts, losses.T
