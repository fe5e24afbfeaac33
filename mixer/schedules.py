"""Learning-rate schedules and optimisers of training (SPEC §2.5, App. C.3)."""

from __future__ import annotations

import optax

from mixer.train_config import TrainConfig

__all__ = ["weights_schedule", "make_optimisers", "total_weight_steps"]


def total_weight_steps(cfg: TrainConfig) -> int:
    """Number of optimiser steps on the weights over the whole run."""
    return cfg.outer_steps * cfg.inner_steps_weights


def weights_schedule(cfg: TrainConfig) -> optax.Schedule:
    """Piecewise-constant rate of the weights: ``lr_weights`` multiplied by ``lr_decay`` at each
    boundary, a boundary ``f`` falling at weight step ``round(f * total_weight_steps)``.

    The schedule is indexed by the number of weight updates already made (optax's count), so
    step ``k`` (0-based) uses ``lr_weights * lr_decay ** #{boundaries <= k}``.
    """
    total = total_weight_steps(cfg)
    scales: dict[int, float] = {}
    for fraction in cfg.lr_boundaries:
        boundary = round(fraction * total)
        scales[boundary] = scales.get(boundary, 1.0) * cfg.lr_decay
    return optax.piecewise_constant_schedule(cfg.lr_weights, scales)


def make_optimisers(
    cfg: TrainConfig,
) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
    """AdaBelief for the weights (scheduled) and for the contexts (constant rate)."""
    return optax.adabelief(weights_schedule(cfg)), optax.adabelief(cfg.lr_contexts)
