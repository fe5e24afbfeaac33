"""Sparse evaluation of a trained model (each environment rolled out by its routed expert
only), and the contexts of a model that infers them itself (CAVIA). Training validates with
it, the workflow scores test and adaptation splits with it."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mixer.envdata import EnvData
from mixer.layer import MixER
from mixer.solve import SolverConfig

__all__ = ["evaluate", "infer_contexts"]


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
    env_chunk: int | None = None,
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
    split's reuses the program compiled for validation during training. With ``env_chunk``,
    the environments are predicted ``env_chunk`` at a time, the last group filled up with
    copies of its last environment (their predictions are dropped): splits with other
    environment counts (the adaptation splits) then reuse the program of a split with
    ``env_chunk`` environments instead of compiling their own.
    """
    if contexts.shape != (data.num_envs, model.context_size):
        raise ValueError(
            f"contexts have shape {contexts.shape}, expected {(data.num_envs, model.context_size)}"
        )
    if env_chunk is not None and env_chunk < 1:
        raise ValueError(f"env_chunk must be >= 1, got {env_chunk}")
    if env_chunk is not None and env_chunk != data.num_envs:
        return _in_env_groups(
            model, contexts, data, solver, env_chunk, chunk_size, traj_chunk, loss_predict
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


def _in_env_groups(
    model, contexts, data: EnvData, solver, size: int, chunk_size, traj_chunk, loss_predict
):
    """``evaluate`` over groups of ``size`` environments, the last one padded by repetition
    (host-side indexing: no per-shape gather programs)."""
    x, t, ctx = np.asarray(data.x), np.asarray(data.t), np.asarray(contexts)
    parts = []
    for start in range(0, data.num_envs, size):
        index = np.minimum(np.arange(start, start + size), data.num_envs - 1)
        pred = evaluate(
            model,
            jnp.asarray(ctx[index]),
            EnvData(x=jnp.asarray(x[index]), t=jnp.asarray(t[index])),
            solver,
            chunk_size=chunk_size,
            traj_chunk=traj_chunk,
            loss_predict=loss_predict,
        )
        parts.append(np.asarray(pred)[: min(size, data.num_envs - start)])
    return jnp.asarray(np.concatenate(parts, axis=0))
