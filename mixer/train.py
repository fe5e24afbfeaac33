"""The training loop of MixER (SPEC §2.5): proximal alternating minimisation with gate updates,
validation-based model selection, checkpoints and exact resumption.

Every outer step is one call of the jitted function built by ``make_outer_step``; the Python
loop here only checks it for divergence, records the history, validates, logs and checkpoints
(model selection in ``mixer.train_validation``, checkpoints in ``mixer.train_checkpoint``,
progress and metrics in ``mixer.train_progress``).
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

from mixer.envdata import EnvData
from mixer.history import History, HistoryRecorder
from mixer.layer import MixER
from mixer.train_checkpoint import BestState, restore_training, save_training
from mixer.train_config import TrainConfig
from mixer.train_progress import Progress, record_step, warn_gate
from mixer.train_step import OuterInfo, TrainState, init_train_state, make_outer_step
from mixer.train_validation import evaluation_contexts, validation_metric, validation_score

# The progress logger's earlier private name, kept for callers that import it from here.
_Progress = Progress

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
    "evaluation_contexts",
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
        model, contexts: the state with the lowest validation score (``validation_metric``),
            with the contexts its evaluations use (``evaluation_contexts``).
        best_step: the outer step (0-based) of that state.
        best_val_rel_mse: its validation score (relative MSE unless ``cfg.selection_metric``
            or a teacher-forced backbone says otherwise).
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


@dataclasses.dataclass
class _Loop:
    """The fixed ingredients of the outer loop of one ``fit`` call."""

    outer_step: Any
    recorder: HistoryRecorder
    progress: Progress
    tracker: Any
    path: Path | None
    train: EnvData
    val: EnvData
    cfg: TrainConfig
    history_every: int
    log: logging.Logger
    clock: _Clock

    def run(self, step: int, state: TrainState, best: BestState) -> tuple[TrainState, BestState]:
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
        warn_gate(info, step, self.log)
        metrics = record_step(step, info, self.recorder, self.history_every, last)
        if (step + 1) % cfg.validate_every == 0 or last:
            best = self.validate(step, state, best, metrics)
        self.recorder.set_wall_seconds(self.clock.total())
        self.tracker.log_metrics(metrics, step)
        self.progress(
            step, {k.split("/")[-1]: v for k, v in metrics.items() if k != "gate/empty_updates"}
        )
        due = cfg.checkpoint_every > 0 and (step + 1) % cfg.checkpoint_every == 0
        if path is not None and (due or last):
            save_training(path, state, best, self.recorder, cfg, self.clock.total())
        return state, best

    def validate(self, step: int, state: TrainState, best: BestState, metrics: dict) -> BestState:
        """Score the state on the validation split; keep it if it is the best so far."""
        contexts = evaluation_contexts(state.model, state.contexts, self.train, self.cfg.solver)
        value = validation_score(state.model, contexts, self.val, self.cfg)
        self.recorder.set_validation(value)
        metrics[f"val/{validation_metric(state.model, self.cfg)}"] = value
        if not math.isfinite(value):
            self.log.warning("outer step %d: non-finite validation score", step)
        elif value < best.value:
            return BestState(state.model, contexts, step, value)
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
            the state with the lowest score (``cfg.selection_metric``) is returned as the result.
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
    best = BestState(model, state.contexts)
    recorder = HistoryRecorder(train.num_envs, model.num_experts)
    clock = _Clock()
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if path is not None and path.exists():
        state, best, recorder, clock.before = restore_training(path, state, best, cfg)
        log.info(
            "resumed from %s at outer step %d (%.1f s of training before)",
            path,
            int(state.step),
            clock.before,
        )
    loop = _Loop(
        make_outer_step(model, cfg, train),
        recorder,
        Progress(log, int(state.step), cfg.outer_steps),
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
        best = BestState(state.model, contexts, cfg.outer_steps - 1, best.value)
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
