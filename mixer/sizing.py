"""Choose a backbone's root width so that a MixER model has a given active parameter count.

On LV, GO and SM the paper adjusts "the width of the main layer so that the active parameter
count (equal to the number of parameters in *one* expert) matches the baselines" (App. C.3;
targets in Table 4). The count used here is the library's own,
:func:`mixer.layer.active_param_count` of the model :func:`mixer.layer.make_mixer` builds: the
floating-point entries of ONE expert (no gate, no per-expert shift, no contexts). Models are
only traced (``jax.eval_shape``), never initialised, so a search costs no array computation.

The search assumes that the count grows with the width option (true of every registered
backbone: each has weight matrices whose size grows with it); it finds the smallest width whose
count reaches the target by doubling then bisection, and keeps it or its predecessor, whichever
is closer. Nothing here prints or logs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax

from mixer.backbones.registry import backbone_options
from mixer.layer import active_param_count, make_mixer

__all__ = [
    "MAX_WIDTH",
    "SizingRequest",
    "SizingRow",
    "active_count",
    "relative_difference",
    "size_all",
    "width_for_active_params",
]

#: Largest width the search will try (a guard against a count that never reaches the target).
MAX_WIDTH = 1 << 16

# The count depends on shapes only, so any fixed key gives the same number.
_KEY = jax.random.key(0)


def active_count(
    backbone: str,
    state_size: int,
    context_size: int,
    num_experts: int,
    *,
    split_contexts: bool,
    options: Mapping[str, Any],
) -> int:
    """``active_param_count`` of ``make_mixer(backbone, ...)`` (a MixER-1 counts as its single
    backbone). The model is traced with ``jax.eval_shape``, not built."""
    result: dict[str, int] = {}

    def build() -> jax.Array:
        model = make_mixer(
            backbone,
            state_size,
            context_size,
            num_experts,
            split_contexts=split_contexts,
            naive=False,
            options=options,
            key=_KEY,
        )
        result["count"] = active_param_count(model)
        return model.gate

    jax.eval_shape(build)
    return result["count"]


def relative_difference(count: int, target: int) -> float:
    """``(count - target) / target``."""
    return (count - target) / target


def width_for_active_params(
    backbone: str,
    state_size: int,
    context_size: int,
    num_experts: int,
    target: int,
    *,
    split_contexts: bool,
    options: Mapping[str, Any],
    width_option: str = "width",
    tolerance: float = 0.02,
) -> tuple[int, int]:
    """The value of ``options[width_option]`` whose MixER model has the active parameter count
    closest to ``target``, and that count: ``(width, count)``.

    All other options are kept as given (a ``width_option`` entry in ``options`` is replaced).
    Ties go to the smaller width. Raises ``ValueError`` when ``width_option`` is not an option
    of ``backbone``, when ``target`` or ``tolerance`` is not positive, or when no width gives a
    count within ``tolerance`` (relative) of ``target``; the message gives the nearest counts.
    """
    allowed = backbone_options(backbone)
    if width_option not in allowed:
        raise ValueError(
            f"{width_option!r} is not an option of backbone {backbone!r}; "
            f"options: {sorted(allowed)}"
        )
    if target < 1:
        raise ValueError(f"target must be a positive parameter count, got {target}")
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")

    def count(width: int) -> int:
        return active_count(
            backbone,
            state_size,
            context_size,
            num_experts,
            split_contexts=split_contexts,
            options={**options, width_option: width},
        )

    best, best_count = _closest_width(count, target, f"{backbone} with {width_option}")
    if abs(relative_difference(best_count, target)) > tolerance:
        raise ValueError(
            f"no {width_option} of {backbone} (state_size={state_size}, "
            f"context_size={context_size}, num_experts={num_experts}, "
            f"split_contexts={split_contexts}) gives {target} active parameters within "
            f"{tolerance:.1%}: the nearest is {width_option}={best} with {best_count} "
            f"({relative_difference(best_count, target):+.2%}); change another option "
            f"(e.g. depth or the context size) or the tolerance"
        )
    return best, best_count


def _closest_width(count: Callable[[int], int], target: int, what: str) -> tuple[int, int]:
    """The width (>= 1) whose non-decreasing ``count`` is closest to ``target`` (ties to the
    smaller) and its count: doubling to bracket the target, then bisection."""
    low, low_count = 1, count(1)
    if low_count >= target:
        return low, low_count
    high = 2
    while (high_count := count(high)) < target:
        if high >= MAX_WIDTH:
            raise ValueError(
                f"{what}={MAX_WIDTH} has {high_count} active parameters, still "
                f"below the target {target}"
            )
        low, low_count, high = high, high_count, min(2 * high, MAX_WIDTH)
    while high - low > 1:  # invariant: count(low) < target <= count(high)
        mid = (low + high) // 2
        mid_count = count(mid)
        if mid_count < target:
            low, low_count = mid, mid_count
        else:
            high, high_count = mid, mid_count
    if target - low_count <= high_count - target:
        return low, low_count
    return high, high_count


@dataclasses.dataclass(frozen=True)
class SizingRequest:
    """One model to size: a backbone in a MixER-``num_experts`` and its target count."""

    label: str
    backbone: str
    state_size: int
    context_size: int
    num_experts: int
    target: int
    split_contexts: bool = False
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    width_option: str = "width"


@dataclasses.dataclass(frozen=True)
class SizingRow:
    """The outcome of one :class:`SizingRequest`."""

    label: str
    backbone: str
    num_experts: int
    target: int
    width: int
    count: int

    @property
    def rel_diff(self) -> float:
        """``(count - target) / target``."""
        return relative_difference(self.count, self.target)


def size_all(requests: Iterable[SizingRequest], *, tolerance: float = 0.02) -> list[SizingRow]:
    """:func:`width_for_active_params` for every request, as rows (for a table; no printing)."""
    rows = []
    for req in requests:
        width, count = width_for_active_params(
            req.backbone,
            req.state_size,
            req.context_size,
            req.num_experts,
            req.target,
            split_contexts=req.split_contexts,
            options=req.options,
            width_option=req.width_option,
            tolerance=tolerance,
        )
        rows.append(SizingRow(req.label, req.backbone, req.num_experts, req.target, width, count))
    return rows
