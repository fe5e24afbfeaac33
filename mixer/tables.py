"""Result tables: mean ± std over seeds of per-run metrics.

A model run with a single seed has no spread: its std is NaN (an empty CSV cell) and its cell
shows the value alone, never "± 0"; every table says how many seeds it averages
(:func:`seeds_note`, the ``Seeds`` column).

A metric whose value is unknown for some seed (null in the run's JSON: its predictions were not
finite) is never averaged away: its mean and std are NaN, ``{metric}_diverged`` counts those
seeds and the cell reads "diverged (k of n seeds)" (:func:`cell`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["variant_label", "summarise", "mean_std", "cell", "seeds_note", "to_markdown"]

_BACKBONE = {"ncf": "NCF", "coda": "CoDA", "geps": "GEPS", "cavia": "CAVIA",
             "plrnn": "hier-shPLRNN"}


def variant_label(variant: str) -> str:
    """``mixer2`` -> ``MixER-2``; ``naive2`` -> ``MixER-2†``."""
    kind, m = ("naive", variant[5:]) if variant.startswith("naive") else ("mixer", variant[5:])
    return f"MixER-{m}†" if kind == "naive" else f"MixER-{m}"


def summarise(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (backbone, variant) with ``{metric}_mean``, ``{metric}_std``,
    ``{metric}_diverged`` and ``seeds``.

    ``runs`` has one row per run with columns backbone, variant, seed and the metrics (None or
    NaN: unknown, the run diverged). The standard deviation is the sample one (ddof=1; NaN for
    a single seed: no spread); both are NaN when any seed's value is unknown.
    """
    rows = []
    for (backbone, variant), group in runs.groupby(["backbone", "variant"], sort=False):
        row = {"backbone": _BACKBONE.get(backbone, backbone), "model": variant_label(variant),
               "seeds": len(group)}
        for name in metrics:
            values = group[name].astype(float).to_numpy()
            row[f"{name}_mean"] = float(np.mean(values))
            row[f"{name}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
            row[f"{name}_diverged"] = int(np.count_nonzero(~np.isfinite(values)))
        rows.append(row)
    return pd.DataFrame(rows)


def mean_std(mean: float, std: float, digits: int = 3) -> str:
    """``mean ± std`` with ``digits`` significant digits for the mean, one fewer for the std;
    the mean alone when there is no spread (``std`` NaN: a single seed)."""
    if math.isnan(std):
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} ± {std:.{max(digits - 1, 1)}g}"


def cell(row: pd.Series, metric: str, digits: int = 3, unit: float = 1.0) -> str:
    """The display cell of ``metric`` in a :func:`summarise` row: :func:`mean_std` of the
    values divided by ``unit``, or "diverged (k of n seeds)" when k seeds' values are
    unknown."""
    diverged = int(row.get(f"{metric}_diverged", 0))
    if diverged:
        seeds = int(row["seeds"])
        return f"diverged ({diverged} of {seeds} seed{'s' if seeds > 1 else ''})"
    return mean_std(row[f"{metric}_mean"] / unit, row[f"{metric}_std"] / unit, digits)


def seeds_note(seeds: Iterable[int]) -> str:
    """One sentence for a table note saying how many seeds its cells summarise (``seeds``: the
    seed count of every row)."""
    counts = sorted({int(n) for n in seeds})
    if not counts:
        return "No runs."
    if counts == [1]:
        return "1 seed per model: single values, no spread."
    if len(counts) == 1:
        return f"Mean ± sample std over {counts[0]} seeds per model."
    text = (f"Mean ± sample std over {counts[0]}–{counts[-1]} seeds per model (each row's count "
            "in the seeds column)")
    return text + ("; a model with 1 seed shows its single value." if counts[0] == 1 else ".")


def to_markdown(table: pd.DataFrame, metrics: dict[str, str], note: str = "") -> str:
    """Markdown table of :func:`summarise` output with :func:`mean_std` cells and a Seeds
    column; ``metrics`` maps column names to headers."""
    header = ["Backbone", "Model", *metrics.values(), "Seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for _, row in table.iterrows():
        cells = [cell(row, m) for m in metrics]
        lines.append("| " + " | ".join([row["backbone"], row["model"], *cells,
                                        str(row["seeds"])]) + " |")
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"
