"""The training history: per-outer-step scalars and the gate at recorded steps, as arrays."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["SCALARS", "History", "HistoryRecorder"]

#: The per-step scalar records of a history, ``step`` first (the dimension of the others).
SCALARS = (
    "step",
    "train_loss",
    "loss_weights",
    "loss_contexts",
    "lr_weights",
    "val_rel_mse",
    "gate_empty",
    "wall_seconds",
)
_GATE = ("gate_step", "gate_probs", "routed")


@dataclasses.dataclass(frozen=True)
class History:
    """What happened during training, one row per outer step (index = outer step, 0-based).

    Attributes:
        step: outer step index ``(n,)``.
        train_loss: mean mini-batch loss L (Eq. 7, without proximal terms) over all inner steps.
        loss_weights, loss_contexts: the same mean over the weight / context inner steps
            (NaN for a phase without steps).
        lr_weights: learning rate of the weights at the step's first weight update.
        val_rel_mse: the model-selection score after the step (``mixer.train.validation_metric``:
            relative MSE, Eq. 9, or for teacher-forced backbones the teacher-forced MSE,
            Eq. 7); NaN when not computed.
        gate_empty: gate updates of the step that found an empty cluster (gate left unchanged).
        wall_seconds: wall-clock seconds of training from its start to the end of the step
            (validation included, over every attempt of a resumed run); NaN when unknown.
        gate_step: outer steps at which the gate was recorded ``(k,)``.
        gate_probs: gate probabilities of every environment at those steps ``(k, E, M)``.
        routed: routed expert of every environment at those steps ``(k, E)``.
    """

    step: np.ndarray
    train_loss: np.ndarray
    loss_weights: np.ndarray
    loss_contexts: np.ndarray
    lr_weights: np.ndarray
    val_rel_mse: np.ndarray
    gate_empty: np.ndarray
    wall_seconds: np.ndarray
    gate_step: np.ndarray
    gate_probs: np.ndarray
    routed: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fields as a name -> array mapping (for saving)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class HistoryRecorder:
    """Accumulates history rows during training (host side, NumPy)."""

    def __init__(self, num_envs: int, num_experts: int):
        self._shape = (num_envs, num_experts)
        self._rows: dict[str, list] = {name: [] for name in SCALARS + _GATE}

    def add_step(
        self,
        step: int,
        *,
        loss_weights: np.ndarray,
        loss_contexts: np.ndarray,
        lr_weights: float,
        gate_empty: int,
    ) -> None:
        """Record the scalars of one outer step (the per-inner-step losses of each phase)."""
        both = np.concatenate([loss_weights, loss_contexts]).astype(np.float64)
        rows = self._rows
        rows["step"].append(step)
        rows["train_loss"].append(float(np.mean(both)) if both.size else np.nan)
        rows["loss_weights"].append(float(np.mean(loss_weights)) if loss_weights.size else np.nan)
        rows["loss_contexts"].append(
            float(np.mean(loss_contexts)) if loss_contexts.size else np.nan
        )
        rows["lr_weights"].append(float(lr_weights))
        rows["val_rel_mse"].append(np.nan)
        rows["gate_empty"].append(int(gate_empty))
        rows["wall_seconds"].append(np.nan)

    def set_validation(self, value: float) -> None:
        """Attach a validation score to the last recorded step."""
        self._rows["val_rel_mse"][-1] = float(value)

    def set_wall_seconds(self, value: float) -> None:
        """Attach the training wall time so far to the last recorded step."""
        self._rows["wall_seconds"][-1] = float(value)

    def last_row(self) -> dict[str, float]:
        """The scalars of the last recorded step."""
        return {name: float(self._rows[name][-1]) for name in SCALARS}

    def add_gate(self, step: int, probs: np.ndarray, routed: np.ndarray) -> None:
        """Record the gate probabilities ``(E, M)`` and routed experts ``(E,)`` at ``step``."""
        self._rows["gate_step"].append(step)
        self._rows["gate_probs"].append(np.asarray(probs, np.float32))
        self._rows["routed"].append(np.asarray(routed, np.int32))

    def history(self) -> History:
        """The rows so far as arrays."""
        rows = self._rows
        dtypes = {"step": np.int64, "gate_empty": np.int64, "gate_step": np.int64}
        out = {
            name: np.asarray(rows[name], dtype=dtypes.get(name, np.float64))
            for name in SCALARS + ("gate_step",)
        }
        out["gate_probs"] = (
            np.stack(rows["gate_probs"])
            if rows["gate_probs"]
            else np.zeros((0, *self._shape), np.float32)
        )
        out["routed"] = (
            np.stack(rows["routed"]) if rows["routed"] else np.zeros((0, self._shape[0]), np.int32)
        )
        return History(**out)

    @classmethod
    def from_history(cls, history: History) -> HistoryRecorder:
        """A recorder that continues ``history`` (used when resuming from a checkpoint)."""
        num_envs, num_experts = history.gate_probs.shape[1:]
        rec = cls(num_envs, num_experts)
        for name in SCALARS + ("gate_step",):
            rec._rows[name] = getattr(history, name).tolist()
        rec._rows["gate_probs"] = list(history.gate_probs)
        rec._rows["routed"] = list(history.routed)
        return rec
