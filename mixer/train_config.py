"""Settings of the training loop (SPEC §2.5; defaults from paper App. C.3).

The defaults equal those of ``models.training`` in the workflow's config schema
(``workflow/schemas/config.schema.yaml``), which the workflow fills into every config;
``tests/workflow/test_config.py`` fails when the two disagree.
"""

from __future__ import annotations

import dataclasses
import math

from mixer.config import config_hash
from mixer.gating import GateConfig
from mixer.solve import SolverConfig

__all__ = ["TrainConfig", "ORDERS", "SELECTION_METRICS"]

ORDERS = ("weights_first", "contexts_first")
#: Model-selection scores of initial-value backbones on the validation split (SPEC §2.5).
SELECTION_METRICS = ("rel_mse", "mse")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Proximal alternating minimisation settings; hashable (a static jit argument).

    Attributes:
        outer_steps: number of outer steps (rounds of weights + contexts updates).
        prox_beta: weight β of the proximal terms (β/2)‖Θ − Θ_old‖², (β/2)‖Ξ − Ξ_old‖².
        inner_steps_weights: optimiser steps on Θ per outer step.
        inner_steps_contexts: optimiser steps on Ξ per outer step.
        order: ``"weights_first"`` or ``"contexts_first"``.
        lr_weights: initial AdaBelief learning rate of Θ.
        lr_contexts: constant AdaBelief learning rate of Ξ.
        lr_decay: factor applied to the weights' rate at every boundary.
        lr_boundaries: boundaries as fractions of the total number of weight steps.
        batch_size: environments per mini-batch; ``None`` means ``round(E / M)`` (at least 1).
        gate_update_every: gate update after every this many inner steps (counted over the
            whole run, both phases); 0 disables. Only MixER layers with M > 1, never the naive
            variant, update their gate this way.
        gate_warmup: outer steps before the first gate update (0: from the first inner step,
            as in the paper). During the warm-up every environment stays on the initial gate's
            expert, so the contexts can become informative before K-means first splits them.
        gate_freeze_after: fraction of the outer steps after which the gate is no longer
            updated (1.0: updated to the end, as in the paper). The last gate update happens
            in outer step ``ceil(gate_freeze_after * outer_steps)`` (1-based); from then on the
            gate's parameters are fixed and the experts and contexts train under them.
        validate_every: validation (and best-state selection) every this many outer steps;
            the last outer step is always validated.
        selection_metric: the validation score the best state is selected on, for
            initial-value backbones: ``"rel_mse"`` (relative MSE, Eq. 9) or ``"mse"`` (MSE,
            the convention of the paper's Table 4). Teacher-forced backbones always select on
            their teacher-forced MSE (``mixer.train_validation.validation_metric``).
        checkpoint_every: checkpoint every this many outer steps (0: only at the end) when a
            checkpoint directory is given.
        time_stride: keep every k-th saved time point (training and validation data).
        min_window: each environment's loss uses a random contiguous window of at least this
            fraction of its time grid, drawn per inner step; 1.0 uses the whole grid.
        pool_size: context pool size P (row 0 = the environment itself).
        solver: numerics of the rollouts.
        gate: settings of the gate update.
    """

    outer_steps: int
    prox_beta: float
    inner_steps_weights: int = 12
    inner_steps_contexts: int = 12
    order: str = "weights_first"
    lr_weights: float = 1e-3
    lr_contexts: float = 1e-3
    lr_decay: float = 0.4
    lr_boundaries: tuple[float, ...] = (1 / 3, 2 / 3)
    batch_size: int | None = None
    gate_update_every: int = 1
    gate_warmup: int = 0
    gate_freeze_after: float = 1.0
    validate_every: int = 10
    selection_metric: str = "rel_mse"
    checkpoint_every: int = 10
    time_stride: int = 1
    min_window: float = 1.0
    pool_size: int = 1
    solver: SolverConfig = SolverConfig()
    gate: GateConfig = GateConfig()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr_boundaries", tuple(float(b) for b in self.lr_boundaries))
        positive: dict[str, float] = {
            "outer_steps": self.outer_steps,
            "validate_every": self.validate_every,
            "time_stride": self.time_stride,
            "pool_size": self.pool_size,
        }
        non_negative: dict[str, float] = {
            "inner_steps_weights": self.inner_steps_weights,
            "inner_steps_contexts": self.inner_steps_contexts,
            "gate_update_every": self.gate_update_every,
            "gate_warmup": self.gate_warmup,
            "checkpoint_every": self.checkpoint_every,
            "prox_beta": self.prox_beta,
            "lr_weights": self.lr_weights,
            "lr_contexts": self.lr_contexts,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {value}")
        for name, value in non_negative.items():
            if value < 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {value}")
        if self.inner_steps_weights + self.inner_steps_contexts == 0:
            raise ValueError("TrainConfig needs at least one inner step per outer step")
        if self.order not in ORDERS:
            raise ValueError(f"TrainConfig.order must be one of {ORDERS}, got {self.order!r}")
        if self.selection_metric not in SELECTION_METRICS:
            raise ValueError(
                f"TrainConfig.selection_metric must be one of {SELECTION_METRICS}, "
                f"got {self.selection_metric!r}"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"TrainConfig.batch_size must be >= 1 or None, got {self.batch_size}")
        if not 0.0 < self.min_window <= 1.0:
            raise ValueError(f"TrainConfig.min_window must be in (0, 1], got {self.min_window}")
        if not 0.0 < self.gate_freeze_after <= 1.0:
            raise ValueError(
                f"TrainConfig.gate_freeze_after must be in (0, 1], got {self.gate_freeze_after}"
            )
        if any(not 0.0 <= b <= 1.0 for b in self.lr_boundaries):
            raise ValueError(
                f"TrainConfig.lr_boundaries must be fractions in [0, 1], got {self.lr_boundaries}"
            )

    def resolved_batch_size(self, num_envs: int, num_experts: int) -> int:
        """The mini-batch size for ``num_envs`` environments and ``num_experts`` experts."""
        size = self.batch_size if self.batch_size is not None else round(num_envs / num_experts)
        return int(min(num_envs, max(1, size)))

    def gate_update_steps(self) -> tuple[int, int]:
        """The half-open range ``[first, stop)`` of 0-based inner-step indices (counted over
        the whole run, both phases) in which gate updates may happen (``gate_warmup`` and
        ``gate_freeze_after``); ``gate_update_every`` picks which of them do."""
        n = self.inner_steps_weights + self.inner_steps_contexts
        last_outer = math.ceil(round(self.gate_freeze_after * self.outer_steps, 6))
        return self.gate_warmup * n, last_outer * n

    def hash(self) -> str:
        """Short stable hash of every setting (stored in checkpoints)."""
        return config_hash(dataclasses.asdict(self))
