"""Verdicts: does one of our numbers lie below another beyond the spread over seeds?

A comparison states that ``low`` lies below ``high``. Each side is our values of one quantity
over seeds (:class:`Summary`), a fixed threshold (a float: "purity at least 1"), or ``None``
(the quantity is not produced by this config). :func:`judge` decides one comparison,
:func:`combine` the comparisons behind one claim of the paper.

The rule reads the numbers the tables print, mean ± sample std over seeds:

* reproduced: ``low``'s mean + std lies below ``high``'s mean - std (at or below, against a
  threshold, which has no spread): the order holds beyond the seed spread;
* not reproduced: ``low``'s mean - std lies above ``high``'s mean + std: the order is
  reversed beyond the seed spread;
* inconclusive otherwise, or when a side is missing, a seed diverged, or a side has a
  single seed (no spread to judge a difference against).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "REPRODUCED",
    "NOT_REPRODUCED",
    "INCONCLUSIVE",
    "NOT_RUN",
    "ONE_SEED",
    "OVERLAP",
    "DIVERGED",
    "REVERSED",
    "IN_ORDER",
    "Summary",
    "Verdict",
    "Side",
    "judge",
    "combine",
]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"

NOT_RUN = "not run in this config"
ONE_SEED = "1 seed"
OVERLAP = "seed spread larger than the difference"
DIVERGED = "diverged"
REVERSED = "reversed beyond the seed spread"

IN_ORDER = "in the claimed order"

_LIST_AT_MOST = 4  # longer label lists are given as counts


@dataclasses.dataclass(frozen=True)
class Summary:
    """Our values of one quantity, one per seed (NaN: that seed diverged, value unknown)."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Summary:
        """A summary of per-seed values (``None`` counts as unknown, like NaN)."""
        return cls(tuple(math.nan if v is None else float(v) for v in values))

    @property
    def seeds(self) -> int:
        """The number of seeds."""
        return len(self.values)

    @property
    def diverged(self) -> int:
        """The seeds whose value is unknown (not finite)."""
        return int(np.count_nonzero(~np.isfinite(self.values)))

    @property
    def mean(self) -> float:
        """Mean over seeds (NaN when a value is unknown)."""
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (ddof 1; NaN for a single seed)."""
        return float(np.std(self.values, ddof=1)) if self.seeds > 1 else math.nan


Side = Summary | float | None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome (reproduced, not reproduced, inconclusive), the reason (one of the reason
    constants, or a combined text) and an optional detail (e.g. which order one seed shows)."""

    outcome: str
    reason: str = ""
    detail: str = ""

    @property
    def explanation(self) -> str:
        """``reason (detail)``; empty for a plain verdict."""
        return f"{self.reason} ({self.detail})" if self.detail else self.reason

    def text(self) -> str:
        """``outcome: reason (detail)`` as the tables print it; a reproduced claim's reason
        (the comparisons this config does not run) in parentheses."""
        reason = self.explanation
        if not reason:
            return self.outcome
        return (
            f"{self.outcome} ({reason})"
            if self.outcome == REPRODUCED
            else (f"{self.outcome}: {reason}")
        )


def _interval(side: Summary | float) -> tuple[float, float]:
    if isinstance(side, Summary):  # two seeds or more
        return side.mean - side.std, side.mean + side.std
    return float(side), float(side)


def _centre(side: Summary | float) -> float:
    return side.mean if isinstance(side, Summary) else float(side)


def _single_seed(low: Summary | float, high: Summary | float, threshold: bool) -> Verdict:
    a, b = _centre(low), _centre(high)
    same_order = a <= b if threshold else a < b
    return Verdict(INCONCLUSIVE, ONE_SEED, IN_ORDER if same_order else "in the opposite order")


def judge(low: Side, high: Side) -> Verdict:
    """Whether ``low`` lies below ``high`` beyond the seed spread (see the module docstring).

    A float side is a threshold: the comparison is then "at most" / "at least" (a value equal
    to the threshold meets it), otherwise strict.
    """
    if low is None or high is None:
        return Verdict(INCONCLUSIVE, NOT_RUN)
    summaries = [s for s in (low, high) if isinstance(s, Summary)]
    diverged = [s for s in summaries if s.diverged]
    if diverged:
        s = diverged[0]
        return Verdict(INCONCLUSIVE, DIVERGED, f"{s.diverged} of {s.seeds} seeds")
    threshold = len(summaries) < 2
    if any(s.seeds < 2 for s in summaries):
        return _single_seed(low, high, threshold)
    low_lo, low_hi = _interval(low)
    high_lo, high_hi = _interval(high)
    if low_hi < high_lo or (threshold and low_hi <= high_lo):
        return Verdict(REPRODUCED)
    if low_lo > high_hi:
        return Verdict(NOT_REPRODUCED, REVERSED)
    return Verdict(INCONCLUSIVE, OVERLAP)


def _labels(labels: Sequence[str], total: int) -> str:
    if len(labels) == total and total > 1:
        return f"all {total} comparisons"
    if len(labels) > _LIST_AT_MOST:
        return f"{len(labels)} of {total} comparisons"
    return ", ".join(labels)


def _group(reason: str, items: Sequence[tuple[str, Verdict]], total: int) -> str:
    if total == 1:  # the claim's only comparison: no label needed
        return items[0][1].explanation
    text = f"{reason}: {_labels([label for label, _ in items], total)}"
    if reason == ONE_SEED:
        agree = sum(v.detail == IN_ORDER for _, v in items)
        text += (
            f" ({agree} of {len(items)} {IN_ORDER})"
            if len(items) > 1
            else f" ({items[0][1].detail})"
        )
    return text


def _grouped(verdicts: Sequence[tuple[str, Verdict]], total: int) -> str:
    by_reason: dict[str, list[tuple[str, Verdict]]] = {}
    for label, verdict in verdicts:
        by_reason.setdefault(verdict.reason, []).append((label, verdict))
    return "; ".join(_group(reason, items, total) for reason, items in by_reason.items())


def combine(verdicts: Sequence[tuple[str, Verdict]]) -> Verdict:
    """The verdict on a claim from the verdicts of its labelled comparisons.

    Not reproduced when any comparison is reversed beyond the seed spread; reproduced when
    every comparison this config runs holds beyond it (the comparisons it does not run are
    named in the reason); inconclusive otherwise, with the reasons grouped (labels, or counts
    when there are many). A claim none of whose comparisons is run is inconclusive, "not run
    in this config".
    """
    if not verdicts:
        raise ValueError("a claim needs at least one comparison")
    total = len(verdicts)
    missing = [(label, v) for label, v in verdicts if v.reason == NOT_RUN]
    if len(missing) == total:
        return Verdict(INCONCLUSIVE, NOT_RUN)
    reversed_ = [(label, v) for label, v in verdicts if v.outcome == NOT_REPRODUCED]
    if reversed_:
        return Verdict(NOT_REPRODUCED, _grouped(reversed_, total))
    open_ = [(label, v) for label, v in verdicts if v.outcome == INCONCLUSIVE]
    if len(open_) == len(missing):
        return Verdict(REPRODUCED, _grouped(missing, total))
    return Verdict(INCONCLUSIVE, _grouped(open_, total))
