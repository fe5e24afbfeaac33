"""Result tables: mean ± std over seeds of per-run metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["variant_label", "summarise", "to_markdown"]

_BACKBONE = {"ncf": "NCF", "coda": "CoDA", "geps": "GEPS", "cavia": "CAVIA",
             "plrnn": "hier-shPLRNN"}


def variant_label(variant: str) -> str:
    """``mixer2`` -> ``MixER-2``; ``naive2`` -> ``MixER-2†``."""
    kind, m = ("naive", variant[5:]) if variant.startswith("naive") else ("mixer", variant[5:])
    return f"MixER-{m}†" if kind == "naive" else f"MixER-{m}"


def summarise(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (backbone, variant) with ``{metric}_mean``, ``{metric}_std`` and ``seeds``.

    ``runs`` has one row per run with columns backbone, variant, seed and the metrics. The
    standard deviation is the sample one (ddof=1; 0 for a single seed).
    """
    rows = []
    for (backbone, variant), group in runs.groupby(["backbone", "variant"], sort=False):
        row = {"backbone": _BACKBONE.get(backbone, backbone), "model": variant_label(variant),
               "seeds": len(group)}
        for name in metrics:
            values = group[name].astype(float).to_numpy()
            row[f"{name}_mean"] = float(np.mean(values))
            row[f"{name}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, metrics: dict[str, str], note: str = "") -> str:
    """Markdown table with ``mean ± std`` cells; ``metrics`` maps column names to headers."""
    header = ["Backbone", "Model", *metrics.values(), "Seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for _, row in table.iterrows():
        cells = [f"{row[f'{m}_mean']:.3g} ± {row[f'{m}_std']:.2g}" for m in metrics]
        lines.append("| " + " | ".join([row["backbone"], row["model"], *cells,
                                        str(row["seeds"])]) + " |")
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"
