"""Adaptation to new environments and sparse evaluation (SPEC §2.6).

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
from mixer.layer import MixER
from mixer.solve import SolverConfig
from mixer.train_step import env_loss

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


@eqx.filter_jit
def _infer_all(model: MixER, x, t, solver: SolverConfig, steps: int | None, chunk: int):
    return jax.lax.map(
        lambda a: model.infer_contexts(a[0][None], a[1][None], solver, steps),
        (x, t),
        batch_size=chunk,
    )


def infer_contexts(
    model: MixER,
    data: EnvData,
    solver: SolverConfig,
    steps: int | None,
    *,
    batch_size: int | None = None,
) -> tuple[Float[Array, "E d"], Float[Array, "steps E"]]:
    """Contexts of a model that infers them with its own inner loop (CAVIA) from the support
    ``data``, in ``steps`` steps (``None``: as in training), ``batch_size`` environments at a
    time (``None``: all); and the loss before each step."""
    chunk = min(batch_size or data.num_envs, data.num_envs)
    contexts, losses = _infer_all(model, data.x, data.t, solver, steps, chunk)
    return contexts[:, 0], losses[:, 0].T


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


@eqx.filter_jit
def _evaluate(model: MixER, contexts, x, t, solver: SolverConfig, chunk: int, loss: bool):
    fn = model.loss_predict if loss else model.predict

    def one(env):
        ctx_env, x_env, t_env = env
        return fn(ctx_env, x_env, t_env, solver)

    return jax.lax.map(one, (contexts, x, t), batch_size=chunk)


def evaluate(
    model: MixER,
    contexts: Float[Array, "E d"],
    data: EnvData,
    solver: SolverConfig,
    *,
    chunk_size: int = 64,
    traj_chunk: int | None = None,
    loss_predict: bool = False,
) -> Float[Array, "E traj time state"]:
    """Free-running predictions of every environment from its first states (with
    ``loss_predict``: what the training loss scores, i.e. teacher-forced predictions for
    teacher-forced backbones; the same rollout for the others).

    Sparse: each environment is rolled out by its routed expert only (``MixER.predict``);
    environments are processed ``chunk_size`` at a time (vmapped) inside one compiled call.
    With ``traj_chunk`` dividing the number of trajectories, the trajectories are predicted
    ``traj_chunk`` at a time by one compiled program (each trajectory is independent, so the
    numbers are the same): a split whose trajectory count is a multiple of the validation
    split's reuses the program compiled for validation during training.
    """
    if contexts.shape != (data.num_envs, model.context_size):
        raise ValueError(
            f"contexts have shape {contexts.shape}, expected {(data.num_envs, model.context_size)}"
        )
    chunk = max(1, min(chunk_size, data.num_envs))
    num_traj = data.x.shape[1]
    if traj_chunk is None or traj_chunk >= num_traj or num_traj % traj_chunk:
        return _evaluate(model, contexts, data.x, data.t, solver, chunk, loss_predict)
    parts = [
        _evaluate(
            model, contexts, data.x[:, i : i + traj_chunk], data.t, solver, chunk, loss_predict
        )
        for i in range(0, num_traj, traj_chunk)
    ]
    return jnp.concatenate(parts, axis=1)
