"""Paper-layout tables (Tables 2, 3 and 4) built from :func:`mixer.tables.summarise` output.

A summary has one row per (backbone, variant) with display columns ``backbone`` (e.g.
"GEPS") and ``model`` (e.g. "MixER-10†"), ``seeds`` and ``{metric}_mean``/``{metric}_std``.
Wide tables hold ``mean ± std`` strings for display (the mean alone for a single seed, see
:func:`mixer.tables.mean_std`); :func:`tidy_table` is the numeric, CSV-friendly counterpart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from mixer.tables import cell, mean_std, seeds_note

__all__ = [
    "mean_std",
    "wide_table",
    "tidy_table",
    "wide_markdown",
    "blocks_markdown",
    "table4_label",
    "table4",
    "table4_markdown",
    "table4_note",
]

_TABLE4_COLUMNS = ("#PARAMS", "InD", "OoD")
_TABLE4_METRICS = {"InD": "test_mse", "OoD": "adapt_mse"}


def _ordered(values: pd.Series) -> list[str]:
    return list(dict.fromkeys(values))


def wide_table(summary: pd.DataFrame, columns: Mapping[str, str], digits: int = 3) -> pd.DataFrame:
    """Rows: models in order of appearance; columns: MultiIndex (backbone, header).

    ``columns`` maps metric names (without ``_mean``/``_std``) to headers, e.g.
    ``{"test_rel_mse": "TRAIN", "adapt_rel_mse": "ADAPT"}``. Cells are ``mean ± std``
    strings ("diverged (k of n seeds)" when a seed's value is unknown, see
    :func:`mixer.tables.cell`); (backbone, model) pairs absent from ``summary`` are empty
    strings.
    """
    models, backbones = _ordered(summary["model"]), _ordered(summary["backbone"])
    index = pd.MultiIndex.from_product([backbones, list(columns.values())])
    wide = pd.DataFrame("", index=pd.Index(models, name="model"), columns=index)
    for _, row in summary.iterrows():
        for metric, header in columns.items():
            wide.loc[row["model"], (row["backbone"], header)] = cell(row, metric, digits)
    return wide


def tidy_table(summary: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Long numeric table: one row per (model, backbone, metric) with mean, std (NaN for a
    single seed), seeds and diverged (the seeds whose value is unknown; mean and std are NaN
    when it is not 0)."""
    rows = [
        {
            "model": row["model"],
            "backbone": row["backbone"],
            "metric": metric,
            "mean": float(row[f"{metric}_mean"]),
            "std": float(row[f"{metric}_std"]),
            "seeds": int(row["seeds"]),
            "diverged": int(row.get(f"{metric}_diverged", 0)),
        }
        for _, row in summary.iterrows()
        for metric in metrics
    ]
    return pd.DataFrame(
        rows, columns=["model", "backbone", "metric", "mean", "std", "seeds", "diverged"]
    )


def _header(column: object) -> str:
    parts = column if isinstance(column, tuple) else (column,)
    return " ".join(str(p) for p in parts if str(p))


def wide_markdown(wide: pd.DataFrame, title: str = "", note: str = "") -> str:
    """Markdown table of a wide table; the two-level header is flattened ("NCF TRAIN")."""
    corner = "" if wide.index.name is None else str(wide.index.name)
    header = [corner, *(_header(c) for c in wide.columns)]
    lines = [f"**{title}**", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label, row in wide.iterrows():
        lines.append("| " + " | ".join([str(label), *(str(v) for v in row)]) + " |")
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"


def blocks_markdown(blocks: Sequence[tuple[str, pd.DataFrame]], note: str = "") -> str:
    """Several titled wide tables in one document (Table 3: rel. MSE on top, TPRMSE below)."""
    body = "\n".join(wide_markdown(wide, title) for title, wide in blocks)
    return body + ("\n" + note + "\n" if note else "")


def table4_label(backbone: str, model: str) -> str:
    """Table 4 row label: the single model ``MixER-1`` is the backbone's name ("NCF"),
    any mixture is ``MixER-<backbone>`` ("MixER-NCF")."""
    return backbone if model == "MixER-1" else f"MixER-{backbone}"


def _unit_label(unit: float) -> str:
    exponent = math.log10(unit)
    return f"×10^{round(exponent)}" if abs(exponent - round(exponent)) < 1e-9 else f"×{unit:g}"


def _labelled(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    labels = [
        table4_label(b, m) for b, m in zip(summary["backbone"], summary["model"], strict=True)
    ]
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"{dataset}: several rows map to one Table 4 label in {labels}; "
            "keep one single model and one mixture per backbone"
        )
    return summary.assign(label=labels).set_index("label")


def _params_cell(row: pd.Series, label: str, params: Mapping[str, int] | None) -> str:
    if params is not None:
        return str(int(params[label])) if label in params else ""
    value = row.get("active_params_mean", float("nan"))
    return str(int(round(value))) if math.isfinite(value) else ""


def table4(
    summaries: Mapping[str, pd.DataFrame],
    units: Mapping[str, float],
    params: Mapping[str, Mapping[str, int]] | None = None,
    digits: int = 3,
) -> pd.DataFrame:
    """Table 4: rows are single models then MixERs; per dataset #PARAMS, InD and OoD.

    ``summaries`` maps a dataset name ("LV") to its summary with metrics ``test_mse``
    (InD) and ``adapt_mse`` (OoD), MSEs in the paper's convention (``mixer.metrics.mse``;
    :func:`table4_note`). Displayed MSEs are ``mse / units[dataset]`` (e.g.
    ``units["LV"] = 1e-5``). Active parameter counts come from ``params[dataset][label]``
    when given, else from the summary's ``active_params_mean`` column. Missing cells are "".
    """
    labelled = {name: _labelled(s, name) for name, s in summaries.items()}
    labels = [lab for s in labelled.values() for lab in s.index]
    singles = [lab for lab in labels if not lab.startswith("MixER-")]
    rows = list(dict.fromkeys(singles + [lab for lab in labels if lab.startswith("MixER-")]))
    heads = {name: f"{name} ({_unit_label(units[name])})" for name in summaries}
    columns = pd.MultiIndex.from_product([list(heads.values()), list(_TABLE4_COLUMNS)])
    table = pd.DataFrame("", index=pd.Index(rows, name="model"), columns=columns)
    for name, summary in labelled.items():
        unit, head = units[name], heads[name]
        for index, row in summary.iterrows():
            label = str(index)
            table.loc[label, (head, "#PARAMS")] = _params_cell(
                row, label, None if params is None else params.get(name, {})
            )
            for column, metric in _TABLE4_METRICS.items():
                table.loc[label, (head, column)] = cell(row, metric, digits, unit)
    return table


def table4_markdown(
    summaries: Mapping[str, pd.DataFrame],
    units: Mapping[str, float],
    params: Mapping[str, Mapping[str, int]] | None = None,
    title: str = "",
    note: str = "",
) -> str:
    """Markdown rendering of :func:`table4` (headers like "LV (×10^-5) InD")."""
    return wide_markdown(table4(summaries, units, params), title, note)


def table4_note(summaries: Mapping[str, pd.DataFrame], scale: str) -> str:
    """The note under Table 4: scale, seed count, what InD/OoD are, the MSE convention (the
    paper's: averaged over state dimensions too) and the units."""
    seeds = [n for summary in summaries.values() for n in summary["seeds"]]
    return (
        f"Scale: {scale}. {seeds_note(seeds)} InD: test split of the training environments; "
        "OoD: adapt_test after adapting contexts on adapt_train. MSE: mean of the squared "
        "error over environments, trajectories, times and state dimensions (the paper's "
        "convention; SPEC §2.7), in the units of the column header. #PARAMS: active "
        "parameters (one expert)."
    )
