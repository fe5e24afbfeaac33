"""The training loop of MixER (SPEC §2.5): proximal alternating minimisation with gate updates,
validation-based model selection, checkpoints and exact resumption.

Every outer step is one call of the jitted function built by ``make_outer_step``; the Python
loop here only checks it for divergence, records the history, validates, logs and checkpoints.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from mixer.adapt import evaluate, infer_contexts
from mixer.envdata import EnvData
from mixer.history import History, HistoryRecorder
from mixer.io.checkpoints import load_checkpoint, save_checkpoint
from mixer.layer import MixER
from mixer.metrics import relative_mse
from mixer.train_config import TrainConfig
from mixer.train_step import OuterInfo, TrainState, init_train_state, make_outer_step

__all__ = [
    "EnvData",
    "TrainConfig",
    "TrainingDivergedError",
    "FitResult",
    "History",
    "fit",
    "make_outer_step",
    "init_train_state",
    "CHECKPOINT_NAME",
    "validation_metric",
]

CHECKPOINT_NAME = "train_state.ckpt"


class TrainingDivergedError(RuntimeError):
    """A non-finite loss, prediction or parameter stopped training.

    Attributes:
        outer_step: the outer step (0-based) that failed; its result was discarded.
        phase: ``"weights"`` or ``"contexts"``.
        inner_step: the inner step (0-based, within the phase) where it first happened.
        envs: the environments whose loss was non-finite (empty when only the update was).
        checkpoint: path of the last good checkpoint, or None.
    """

    def __init__(
        self, outer_step: int, phase: str, inner_step: int, envs: list[int], checkpoint: str | None
    ):
        self.outer_step, self.phase, self.inner_step = outer_step, phase, inner_step
        self.envs, self.checkpoint = envs, checkpoint
        what = (
            f"non-finite loss (solver failure or overflow) for environment(s) {envs}"
            if envs
            else "the updated parameters became non-finite (finite loss, non-finite gradient)"
        )
        where = checkpoint if checkpoint else "none written"
        super().__init__(
            f"training diverged at outer step {outer_step}, {phase} phase, inner "
            f"step {inner_step}: {what}; last good checkpoint: {where}"
        )


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Outcome of ``fit``.

    Attributes:
        model, contexts: the state with the lowest validation relative MSE, with the contexts
            its evaluations use (``evaluation_contexts``).
        best_step: the outer step (0-based) of that state.
        best_val_rel_mse: its validation relative MSE.
        final_model, final_contexts: the state after the last outer step.
        history: per-step records (see ``History``).
        train_seconds: wall-clock seconds of training over every attempt (an interrupted
            attempt counts up to its last checkpoint).
    """

    model: MixER
    contexts: Float[Array, "E d"]
    best_step: int
    best_val_rel_mse: float
    final_model: MixER
    final_contexts: Float[Array, "E d"]
    history: History
    train_seconds: float


@dataclasses.dataclass
class _Clock:
    """Training time over attempts: ``before`` (from the checkpoint) plus this attempt's."""

    before: float = 0.0
    start: float = dataclasses.field(default_factory=time.perf_counter)

    def total(self) -> float:
        return self.before + time.perf_counter() - self.start


@dataclasses.dataclass
class _Best:
    model: MixER
    contexts: Float[Array, "E d"]
    step: int = -1
    value: float = math.inf


def _check_inputs(model: MixER, contexts, train: EnvData, val: EnvData) -> None:
    if contexts.shape != (train.num_envs, model.context_size):
        raise ValueError(
            f"contexts have shape {contexts.shape}, expected "
            f"{(train.num_envs, model.context_size)} (training envs, context size)"
        )
    if val.num_envs != train.num_envs or val.x.shape[-1] != train.x.shape[-1]:
        raise ValueError(
            f"validation data {val.x.shape} must hold the training environments "
            f"{train.x.shape} (same env and state axes; other initial conditions)"
        )


def _divergence(info: OuterInfo, step: int, cfg: TrainConfig, ckpt: str | None):
    """The first non-finite inner step of an outer step, in execution order, as an error."""
    order = ("weights", "contexts") if cfg.order == "weights_first" else ("contexts", "weights")
    for phase in order:
        ph = getattr(info, phase)
        for i in range(len(ph.loss)):
            bad = sorted(int(e) for e in np.asarray(ph.batch[i])[~np.asarray(ph.env_finite[i])])
            if bad or not np.isfinite(ph.loss[i]) or not ph.params_finite[i]:
                return TrainingDivergedError(step, phase, i, bad, ckpt)
    return None


def evaluation_contexts(model: MixER, contexts, train: EnvData, solver) -> Float[Array, "E d"]:
    """The contexts every evaluation of the training environments uses: the trained ones, or,
    for a model that infers its contexts itself (CAVIA), its inner loop on the environments'
    training trajectories (as many steps as in training)."""
    if model.experts.uses_stored_context:
        return contexts
    return infer_contexts(model, train, solver, None)[0]


def validation_metric(model: MixER) -> str:
    """Name of the model-selection score of ``model`` (what ``val_rel_mse`` in the history
    holds): ``"rel_mse"``, the relative MSE (Eq. 9) of the free rollout, for initial-value
    backbones; ``"teacher_forced_mse"``, the training loss (Eq. 7) of the teacher-forced
    prediction, for teacher-forced ones. A free rollout of a teacher-forced model is not a
    selection criterion (SPEC §2.5), and the relative MSE of z-scored one-dimensional series
    is dominated by the states near zero."""
    return "teacher_forced_mse" if model.experts.teacher_forced else "rel_mse"


def _validate(model: MixER, contexts, val: EnvData, cfg: TrainConfig) -> float:
    """The selection score (``validation_metric``) of the state on the validation split."""
    if model.experts.teacher_forced:
        pred = np.asarray(evaluate(model, contexts, val, cfg.solver, loss_predict=True))
        return float(np.mean(np.sum((pred - np.asarray(val.x)) ** 2, axis=-1)))
    rollout = evaluate(model, contexts, val, cfg.solver)
    return relative_mse(np.asarray(rollout), np.asarray(val.x))


def _save(
    path: Path,
    state: TrainState,
    best: _Best,
    recorder: HistoryRecorder,
    cfg: TrainConfig,
    seconds: float,
) -> None:
    metadata = {
        "config_hash": cfg.hash(),
        "step": int(state.step),
        "best_step": best.step,
        "best_val_rel_mse": best.value,
        "train_seconds": seconds,
    }
    save_checkpoint(
        path,
        {"state": state, "best": (best.model, best.contexts)},
        metadata=metadata,
        arrays=recorder.history().to_arrays(),
    )


def _restore(path: Path, state: TrainState, best: _Best, cfg: TrainConfig):
    template = {"state": state, "best": (best.model, best.contexts)}
    ckpt = load_checkpoint(path, template)
    if ckpt.metadata["config_hash"] != cfg.hash():
        raise ValueError(
            f"checkpoint {path} was written with another training configuration "
            f"(hash {ckpt.metadata['config_hash']} != {cfg.hash()}); remove it or "
            f"use another checkpoint directory"
        )
    best_model, best_contexts = ckpt.tree["best"]
    best = _Best(
        best_model,
        best_contexts,
        step=int(ckpt.metadata["best_step"]),
        value=float(ckpt.metadata["best_val_rel_mse"]),
    )
    recorder = HistoryRecorder.from_history(History(**ckpt.arrays))
    seconds = float(ckpt.metadata.get("train_seconds", 0.0))  # older checkpoints: unknown
    return ckpt.tree["state"], best, recorder, seconds


class _Progress:
    """Logs progress (losses, validation, elapsed time, ETA) at a steady cadence."""

    def __init__(self, logger: logging.Logger, start: int, total: int):
        self.logger, self.start, self.total = logger, start, total
        self.every = max(1, total // 20)
        self.t0 = time.perf_counter()
        self.t_first: float | None = None

    def __call__(self, step: int, row: dict[str, float]) -> None:
        now = time.perf_counter()
        if self.t_first is None:
            self.t_first = now  # the first step includes compilation: excluded from the ETA
        done = step - self.start
        if step % self.every and step != self.total - 1 and done != 0:
            return
        eta = f"{(now - self.t_first) / done * (self.total - 1 - step):.1f}s" if done else "?"
        values = " ".join(f"{k}={v:.4g}" for k, v in row.items())
        self.logger.info(
            "outer step %d/%d %s elapsed=%.1fs eta=%s",
            step + 1,
            self.total,
            values,
            now - self.t0,
            eta,
        )


def _record(
    step: int, info: OuterInfo, recorder: HistoryRecorder, history_every: int, last: bool
) -> dict[str, float]:
    gate_empty = int(np.sum(info.weights.gate_empty) + np.sum(info.contexts.gate_empty))
    recorder.add_step(
        step,
        loss_weights=np.asarray(info.weights.loss),
        loss_contexts=np.asarray(info.contexts.loss),
        lr_weights=float(info.lr_weights),
        gate_empty=gate_empty,
    )
    if step % history_every == 0 or last:
        recorder.add_gate(step, np.asarray(info.gate_probs), np.asarray(info.routed))
    row = recorder.last_row()
    metrics = {
        "train/loss": row["train_loss"],
        "train/loss_weights": row["loss_weights"],
        "train/loss_contexts": row["loss_contexts"],
        "train/lr_weights": row["lr_weights"],
        "gate/empty_updates": float(gate_empty),
    }
    if np.asarray(info.contexts.loss).size == 0:  # no context phase (e.g. CAVIA): no NaN metric
        del metrics["train/loss_contexts"]
    return metrics


def _warn_gate(info: OuterInfo, step: int, logger: logging.Logger) -> None:
    for ph in (info.weights, info.contexts):
        if np.any(np.asarray(ph.gate_updated) & ~np.asarray(ph.gate_loss_finite)):
            logger.warning("outer step %d: a gate update saw non-finite expert losses", step)
            return


@dataclasses.dataclass
class _Loop:
    """The fixed ingredients of the outer loop of one ``fit`` call."""

    outer_step: Any
    recorder: HistoryRecorder
    progress: _Progress
    tracker: Any
    path: Path | None
    train: EnvData
    val: EnvData
    cfg: TrainConfig
    history_every: int
    log: logging.Logger
    clock: _Clock

    def run(self, step: int, state: TrainState, best: _Best) -> tuple[TrainState, _Best]:
        """Run, check, record, validate, log and checkpoint outer step ``step``."""
        cfg, path = self.cfg, self.path
        new_state, info = self.outer_step(state)
        info = jax.device_get(info)
        last_good = str(path) if path is not None and path.exists() else None
        error = _divergence(info, step, cfg, last_good)
        if error is not None:
            self.log.error("%s", error)
            raise error
        state, last = new_state, step == cfg.outer_steps - 1
        _warn_gate(info, step, self.log)
        metrics = _record(step, info, self.recorder, self.history_every, last)
        if (step + 1) % cfg.validate_every == 0 or last:
            best = self.validate(step, state, best, metrics)
        self.tracker.log_metrics(metrics, step)
        self.progress(
            step, {k.split("/")[-1]: v for k, v in metrics.items() if k != "gate/empty_updates"}
        )
        due = cfg.checkpoint_every > 0 and (step + 1) % cfg.checkpoint_every == 0
        if path is not None and (due or last):
            _save(path, state, best, self.recorder, cfg, self.clock.total())
        return state, best

    def validate(self, step: int, state: TrainState, best: _Best, metrics: dict) -> _Best:
        """Score the state on the validation split; keep it if it is the best so far."""
        contexts = evaluation_contexts(state.model, state.contexts, self.train, self.cfg.solver)
        value = _validate(state.model, contexts, self.val, self.cfg)
        self.recorder.set_validation(value)
        metrics["val/rel_mse"] = value
        if not math.isfinite(value):
            self.log.warning("outer step %d: non-finite validation relative MSE", step)
        elif value < best.value:
            return _Best(state.model, contexts, step, value)
        return best


def fit(
    model: MixER,
    contexts: Float[Array, "E d"],
    train: EnvData,
    val: EnvData,
    cfg: TrainConfig,
    *,
    key: PRNGKeyArray,
    tracker: Any,
    checkpoint_dir: str | os.PathLike | None = None,
    history_every: int = 1,
    logger: logging.Logger | None = None,
) -> FitResult:
    """Train ``model`` and the training ``contexts`` (SPEC §2.5) and select the best state.

    Args:
        model: the initial MixER layer.
        contexts: initial contexts of the training environments ``(E, d)`` (usually zeros).
        train: training trajectories of the E environments.
        val: validation trajectories (other initial conditions) of the same E environments,
            evaluated with the training contexts every ``cfg.validate_every`` outer steps;
            the state with the lowest relative MSE (Eq. 9) is returned as the result.
        cfg: training settings.
        key: PRNG key of the run (all randomness is split from it).
        tracker: receives ``log_metrics(dict, step)`` every outer step.
        checkpoint_dir: if given, the full training state is saved there every
            ``cfg.checkpoint_every`` outer steps and at the end (with the training seconds so
            far), and a checkpoint found there is resumed from (it must come from the same
            configuration).
        history_every: record the gate probabilities every this many outer steps.
        logger: destination of progress messages (default: this module's logger).

    Raises:
        TrainingDivergedError: a loss, prediction or parameter became non-finite; the last
            good checkpoint is left untouched.
    """
    log = logger or logging.getLogger(__name__)
    if history_every < 1:
        raise ValueError(f"history_every must be >= 1, got {history_every}")
    _check_inputs(model, contexts, train, val)
    train, val = train.strided(cfg.time_stride), val.strided(cfg.time_stride)
    state = init_train_state(model, contexts, cfg, key=key)
    best = _Best(model, state.contexts)
    recorder = HistoryRecorder(train.num_envs, model.num_experts)
    clock = _Clock()
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if path is not None and path.exists():
        state, best, recorder, clock.before = _restore(path, state, best, cfg)
        log.info(
            "resumed from %s at outer step %d (%.1f s of training before)",
            path,
            int(state.step),
            clock.before,
        )
    loop = _Loop(
        make_outer_step(model, cfg, train),
        recorder,
        _Progress(log, int(state.step), cfg.outer_steps),
        tracker,
        path,
        train,
        val,
        cfg,
        history_every,
        log,
        clock,
    )
    for step in range(int(state.step), cfg.outer_steps):
        state, best = loop.run(step, state, best)
    if best.step < 0:
        log.warning("no finite validation score; returning the final state as the result")
        contexts = evaluation_contexts(state.model, state.contexts, train, cfg.solver)
        best = _Best(state.model, contexts, cfg.outer_steps - 1, best.value)
    return FitResult(
        model=best.model,
        contexts=best.contexts,
        best_step=best.step,
        best_val_rel_mse=best.value,
        final_model=state.model,
        final_contexts=state.contexts,
        history=recorder.history(),
        train_seconds=clock.total(),
    )
