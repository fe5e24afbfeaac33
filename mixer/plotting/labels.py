"""Display names of the families stored in a dataset (its ``family`` coordinate).

ODEBench stores each family by its ODEBench id ("24"), SCCTS by its class letter ("A"); the
figures show those with the system's or class's name, taken from the data modules that define
them (one home for every name). LV, GO, SM and Epilepsy2 already store readable names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from numpy.typing import ArrayLike

from mixer.data.odebench import FAMILIES, ODEBENCH_SETS
from mixer.data.sccts import CLASS_NAMES, CLASSES

__all__ = ["family_names", "family_label", "family_labels", "family_order", "mark_families"]


def family_names(dataset: str) -> dict[str, str]:
    """Map from the stored ``family`` value to its display name for ``dataset``.

    ``"24"`` -> ``"24 harmonic oscillator, no damping"`` for the ODEBench sets, ``"A"`` ->
    ``"A normal"`` for SCCTS; empty for datasets whose stored values are already names.
    """
    if dataset in ODEBENCH_SETS:
        return {str(fid): f"{fid} {FAMILIES[fid].name}" for fid in ODEBENCH_SETS[dataset]}
    if dataset == "sccts":
        return {c: f"{c} {name}" for c, name in zip(CLASSES, CLASS_NAMES, strict=True)}
    return {}


def family_label(dataset: str, family: object) -> str:
    """Display name of one stored ``family`` value of ``dataset`` (the value itself when the
    dataset has no separate names)."""
    return family_names(dataset).get(str(family), str(family))


def family_labels(dataset: str, families: Iterable[object]) -> list[str]:
    """:func:`family_label` of every value of ``families``, in order."""
    names = family_names(dataset)
    return [names.get(str(f), str(f)) for f in families]


def family_order(families: ArrayLike) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Environments grouped by family (families in order of first appearance, environments in
    their order within a family): the permutation and each family's ``(name, start, stop)``
    rows in the permuted order."""
    values = [str(f) for f in np.asarray(families).reshape(-1)]
    names = list(dict.fromkeys(values))
    codes = np.asarray([names.index(f) for f in values], dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(names))
    stops = np.cumsum(counts)
    return order, [(n, int(b - c), int(b)) for n, c, b in zip(names, counts, stops, strict=True)]


def mark_families(
    ax: Axes, blocks: Sequence[tuple[str, int, int]], names: Mapping[str, str], axis: str = "y"
) -> None:
    """Mark the families of a heatmap whose environments (along ``axis``) are grouped by
    family (:func:`family_order`): each family's display name (``names``: stored value ->
    name; the value itself when absent) as the tick label at the centre of its block, and a
    white line between neighbouring blocks."""
    centres = [(start + stop - 1) / 2 for _, start, stop in blocks]
    labels = [names.get(n, n) for n, _, _ in blocks]
    if axis == "y":
        ax.set_yticks(centres, labels, fontsize=7)
    else:
        ax.set_xticks(centres, labels, fontsize=7, rotation=30, ha="left", rotation_mode="anchor")
    line = ax.axhline if axis == "y" else ax.axvline
    for _, start, _ in blocks[1:]:
        line(start - 0.5, color="white", lw=1.5)
