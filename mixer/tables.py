"""Result tables: mean ± std over seeds of per-run metrics.

A model run with a single seed has no spread: its std is NaN (an empty CSV cell) and its cell
shows the value alone, never "± 0"; every table says how many seeds it averages
(:func:`seeds_note`, the ``Seeds`` column).

A metric whose value is unknown for some seed (null in the run's JSON: its predictions were not
finite) is never averaged away: its mean and std are NaN, ``{metric}_diverged`` counts those
seeds and the cell reads "diverged (k of n seeds)" (:func:`cell`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mixer.run_id import parse_variant

__all__ = [
    "backbone_label",
    "variant_label",
    "summarise",
    "mean_std",
    "cell",
    "seeds_note",
    "display_table",
    "to_markdown",
    "count_frame",
    "count_markdown",
    "html_document",
    "summary_table",
    "write_report",
]

_BACKBONE = {
    "ncf": "NCF",
    "coda": "CoDA",
    "geps": "GEPS",
    "cavia": "CAVIA",
    "plrnn": "hier-shPLRNN",
}


def backbone_label(backbone: str) -> str:
    """The paper's name of a backbone: ``coda`` -> ``CoDA``, ``plrnn`` -> ``hier-shPLRNN``
    (an unknown name is returned as it is)."""
    return _BACKBONE.get(backbone, backbone)


def variant_label(variant: str) -> str:
    """``mixer2`` -> ``MixER-2``; ``naive2`` -> ``MixER-2†``."""
    num_experts, naive = parse_variant(variant)
    return f"MixER-{num_experts}†" if naive else f"MixER-{num_experts}"


def summarise(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (backbone, variant) with ``{metric}_mean``, ``{metric}_std``,
    ``{metric}_diverged`` and ``seeds``.

    ``runs`` has one row per run with columns backbone, variant, seed and the metrics (None or
    NaN: unknown, the run diverged). The standard deviation is the sample one (ddof=1; NaN for
    a single seed: no spread); both are NaN when any seed's value is unknown.
    """
    rows = []
    for (backbone, variant), group in runs.groupby(["backbone", "variant"], sort=False):
        row = {
            "backbone": backbone_label(str(backbone)),
            "model": variant_label(str(variant)),
            "seeds": len(group),
        }
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
    text = (
        f"Mean ± sample std over {counts[0]}–{counts[-1]} seeds per model (each row's count "
        "in the seeds column)"
    )
    return text + ("; a model with 1 seed shows its single value." if counts[0] == 1 else ".")


def display_table(table: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """The display form of :func:`summarise` output: columns Backbone, Model, one column of
    :func:`cell` strings per metric (``metrics`` maps metric names to headers) and Seeds."""
    rows = [
        [row["backbone"], row["model"], *(cell(row, m) for m in metrics), str(row["seeds"])]
        for _, row in table.iterrows()
    ]
    return pd.DataFrame(rows, columns=["Backbone", "Model", *metrics.values(), "Seeds"])


def to_markdown(table: pd.DataFrame, metrics: dict[str, str], note: str = "") -> str:
    """Markdown table of :func:`summarise` output with :func:`mean_std` cells and a Seeds
    column; ``metrics`` maps column names to headers."""
    shown = display_table(table, metrics)
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + " --- |" * len(shown.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"


def count_frame(
    rows: Sequence[str], columns: Sequence[str], counts: Iterable[Iterable[int]], corner: str = ""
) -> pd.DataFrame:
    """A count table (class × expert, or a confusion matrix) as a frame of integers: ``rows``
    label the index (named ``corner``), ``columns`` the columns."""
    values = np.asarray(counts, dtype=np.int64)
    if values.shape != (len(rows), len(columns)):
        raise ValueError(f"counts have shape {values.shape}, expected {(len(rows), len(columns))}")
    return pd.DataFrame(values, index=pd.Index(list(rows), name=corner), columns=list(columns))


def count_markdown(frame: pd.DataFrame) -> str:
    """A :func:`count_frame` as a Markdown table (its index name in the corner cell)."""
    corner = "" if frame.index.name is None else str(frame.index.name)
    lines = [
        "| " + " | ".join([corner, *map(str, frame.columns)]) + " |",
        "|" + " --- |" * (len(frame.columns) + 1),
    ]
    lines += [
        "| " + " | ".join([str(label), *(str(int(v)) for v in row)]) + " |"
        for label, row in zip(frame.index, frame.to_numpy(), strict=True)
    ]
    return "\n".join(lines) + "\n"


_STYLE = (
    "body{font-family:sans-serif;font-size:14px;margin:1em}"
    "table{border-collapse:collapse;margin:0.5em 0 1em}"
    "th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}"
    "th{background:#eee}tbody th{text-align:left}p{max-width:60em}"
)


def _frame_html(frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table; a default (range) index is left out, a labelled one shown."""
    return frame.to_html(
        index=not isinstance(frame.index, pd.RangeIndex), escape=True, na_rep="", border=0
    )


def html_document(title: str, parts: Sequence[str | tuple[str, pd.DataFrame]]) -> str:
    """A standalone HTML page (UTF-8) of ``parts`` in order: a string is a paragraph of text, a
    ``(heading, frame)`` pair a table under its heading (no heading when it is empty). Every
    text is escaped."""
    body = [f"<h2>{html.escape(title)}</h2>"] if title else []
    for part in parts:
        if isinstance(part, str):
            body.append(f"<p>{html.escape(part)}</p>")
            continue
        heading, frame = part
        if heading:
            body.append(f"<h3>{html.escape(heading)}</h3>")
        body.append(_frame_html(frame))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def summary_table(runs: pd.DataFrame, metrics: Sequence[str], scale: str) -> pd.DataFrame:
    """:func:`summarise` of per-run ``runs`` with a first column ``scale`` (the config's
    scale name), as every experiment table's CSV stores it."""
    table = summarise(runs, metrics)
    table.insert(0, "scale", scale)
    return table


def write_report(
    table: pd.DataFrame,
    metrics: dict[str, str],
    note: str,
    title: str,
    outputs: dict[str, str | PathLike],
    counts: Sequence[tuple[str, str, pd.DataFrame]] = (),
) -> None:
    """Write a :func:`summary_table` as CSV, Markdown and HTML (``outputs`` keys ``csv``,
    ``md``, ``html``): the table, its ``note``, then each count table ``(name, caption,
    frame)`` under the heading "name: caption" (bold name in Markdown)."""
    missing = {"csv", "md", "html"} - set(outputs)
    if missing:
        raise KeyError(f"write_report needs the output path(s) {sorted(missing)}")
    table.to_csv(outputs["csv"], index=False)
    blocks = "".join(
        f"\n**{name}**: {caption}\n\n{count_markdown(frame)}" for name, caption, frame in counts
    )
    Path(outputs["md"]).write_text(to_markdown(table, metrics, note) + blocks, encoding="utf-8")
    parts: list[str | tuple[str, pd.DataFrame]] = [("", display_table(table, metrics)), note]
    parts += [(f"{name}: {caption}", frame) for name, caption, frame in counts]
    Path(outputs["html"]).write_text(html_document(title, parts), encoding="utf-8")
