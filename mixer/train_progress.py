"""What the training loop reports after each outer step: progress lines with elapsed time and
ETA, the history record and tracker metrics, and warnings about the gate updates."""

from __future__ import annotations

import logging
import time

import numpy as np

from mixer.history import HistoryRecorder
from mixer.train_state import OuterInfo

__all__ = ["Progress", "record_step", "warn_gate"]


class Progress:
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


def record_step(
    step: int, info: OuterInfo, recorder: HistoryRecorder, history_every: int, last: bool
) -> dict[str, float]:
    """Record outer step ``step`` in the history (its gate every ``history_every`` steps and at
    the ``last`` one) and return the step's metrics for the tracker."""
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


def warn_gate(info: OuterInfo, step: int, logger: logging.Logger) -> None:
    """Warn when a gate update of the outer step saw non-finite expert losses."""
    for ph in (info.weights, info.contexts):
        if np.any(np.asarray(ph.gate_updated) & ~np.asarray(ph.gate_loss_finite)):
            logger.warning("outer step %d: a gate update saw non-finite expert losses", step)
            return
