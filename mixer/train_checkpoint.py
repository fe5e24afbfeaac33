"""Checkpoints of the training loop: the best state so far, and saving and restoring the whole
loop (state, best state, history, training seconds) for exact resumption (SPEC §2.5)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
from jaxtyping import Array, Float

from mixer.history import History, HistoryRecorder
from mixer.io.checkpoints import load_checkpoint, save_checkpoint
from mixer.layer import MixER
from mixer.train_config import TrainConfig
from mixer.train_state import TrainState

__all__ = ["BestState", "save_training", "restore_training"]


@dataclasses.dataclass
class BestState:
    """The state with the lowest validation score so far (``step`` -1: none validated yet),
    with the contexts its evaluations use."""

    model: MixER
    contexts: Float[Array, "E d"]
    step: int = -1
    value: float = math.inf


def save_training(
    path: Path,
    state: TrainState,
    best: BestState,
    recorder: HistoryRecorder,
    cfg: TrainConfig,
    seconds: float,
) -> None:
    """Checkpoint the training state, the best state so far, the history and the training
    seconds at ``path`` (with ``cfg``'s hash, so that another configuration never resumes it)."""
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


def restore_training(path: Path, state: TrainState, best: BestState, cfg: TrainConfig):
    """The training state, best state, history recorder and training seconds saved at
    ``path`` (``state`` and ``best`` give the structure). Raises ``ValueError`` when the
    checkpoint was written with another training configuration."""
    template = {"state": state, "best": (best.model, best.contexts)}
    ckpt = load_checkpoint(path, template)
    if ckpt.metadata["config_hash"] != cfg.hash():
        raise ValueError(
            f"checkpoint {path} was written with another training configuration "
            f"(hash {ckpt.metadata['config_hash']} != {cfg.hash()}); remove it or "
            f"use another checkpoint directory"
        )
    best_model, best_contexts = ckpt.tree["best"]
    best = BestState(
        best_model,
        best_contexts,
        step=int(ckpt.metadata["best_step"]),
        value=float(ckpt.metadata["best_val_rel_mse"]),
    )
    arrays = dict(ckpt.arrays)
    arrays.setdefault("wall_seconds", np.full(len(arrays["step"]), np.nan))  # older checkpoints
    recorder = HistoryRecorder.from_history(History(**arrays))
    seconds = float(ckpt.metadata.get("train_seconds", 0.0))  # older checkpoints: unknown
    return ckpt.tree["state"], best, recorder, seconds
