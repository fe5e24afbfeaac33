"""Model selection during training (SPEC §2.5): the contexts every evaluation of the training
environments uses, and the selection score on the validation split."""

from __future__ import annotations

import numpy as np
from jaxtyping import Array, Float

from mixer.envdata import EnvData
from mixer.evaluate import evaluate, infer_contexts
from mixer.layer import MixER
from mixer.metrics import mse, relative_mse
from mixer.train_config import TrainConfig

__all__ = ["evaluation_contexts", "validation_metric", "validation_score"]


def evaluation_contexts(model: MixER, contexts, train: EnvData, solver) -> Float[Array, "E d"]:
    """The contexts every evaluation of the training environments uses: the trained ones, or,
    for a model that infers its contexts itself (CAVIA), its inner loop on the environments'
    training trajectories (as many steps as in training)."""
    if model.experts.uses_stored_context:
        return contexts
    return infer_contexts(model, train, solver, None)[0]


def validation_metric(model: MixER, cfg: TrainConfig | None = None) -> str:
    """Name of the model-selection score of ``model`` trained with ``cfg`` (what
    ``val_rel_mse`` in the history holds): for initial-value backbones ``cfg.selection_metric``
    of the free rollout, ``"rel_mse"`` (relative MSE, Eq. 9; also when ``cfg`` is None) or
    ``"mse"`` (MSE, the convention of Table 4); ``"teacher_forced_mse"``, the training loss
    (Eq. 7) of the teacher-forced prediction, for teacher-forced ones. A free rollout of a
    teacher-forced model is not a selection criterion (SPEC §2.5), and the relative MSE of
    z-scored one-dimensional series is dominated by the states near zero."""
    if model.experts.teacher_forced:
        return "teacher_forced_mse"
    return cfg.selection_metric if cfg is not None else "rel_mse"


def validation_score(model: MixER, contexts, val: EnvData, cfg: TrainConfig) -> float:
    """The selection score (``validation_metric``) of the state (``model`` with ``contexts``)
    on the validation split ``val``."""
    metric = validation_metric(model, cfg)
    if metric == "teacher_forced_mse":
        pred = np.asarray(evaluate(model, contexts, val, cfg.solver, loss_predict=True))
        return float(np.mean(np.sum((pred - np.asarray(val.x)) ** 2, axis=-1)))
    rollout = np.asarray(evaluate(model, contexts, val, cfg.solver))
    return (mse if metric == "mse" else relative_mse)(rollout, np.asarray(val.x))
