"""The claims table: every finding of the paper with its evidence, our numbers and a verdict.

Our numbers come as a long frame, one row per (experiment, backbone, variant, seed, metric)
with its ``value`` (:func:`long_results` builds it from per-run frames). :func:`evaluate`
judges every comparison (:func:`mixer.claims.verdict.judge`) and every claim
(:func:`mixer.claims.verdict.combine`) and returns two frames: one row per claim, and one row
per comparison (the numbers behind each claim). :func:`to_markdown` and :func:`to_html` render
them.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import pandas as pd

from mixer.claims.findings import CLAIMS, Claim, Comparison
from mixer.claims.paper import PaperValue, Quantity, display_unit, paper_value
from mixer.claims.verdict import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_RUN,
    REPRODUCED,
    Side,
    Summary,
    Verdict,
    combine,
    judge,
)
from mixer.tables import mean_std

__all__ = ["claim_metrics", "long_results", "evaluate", "to_markdown", "to_html", "RULE"]

_KEYS = ["experiment", "backbone", "variant", "seed"]
_LIST_AT_MOST = 4  # a claim with more comparisons gives counts in its row, numbers below

RULE = (
    "Verdict per comparison: reproduced when our mean ± sample std over seeds lies on the "
    "paper's side beyond the spread (the claimed-lower side's mean + std below the other's "
    "mean - std; a threshold has no spread and may be met with equality), not reproduced "
    "when reversed beyond the spread, otherwise inconclusive (spread larger than the "
    "difference, 1 seed, a diverged seed, or not run in this config). A claim is not "
    "reproduced when any comparison is reversed, reproduced when every comparison run holds, "
    "inconclusive otherwise. Where the paper prints both numbers, each comparison takes the "
    "paper's order."
)


def claim_metrics(experiment: str, claims: Sequence[Claim] = CLAIMS) -> list[str]:
    """The metrics the claims read from the runs of ``experiment`` (sorted)."""
    return sorted(
        {
            q.metric
            for claim in claims
            for c in claim.comparisons
            for q in c.quantities()
            if q.experiment == experiment
        }
    )


def long_results(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One long frame (experiment, backbone, variant, seed, metric, value) from per-run frames
    with the columns experiment, backbone, variant, seed and one column per metric (None or
    NaN: unknown)."""
    parts = [f.melt(id_vars=_KEYS, var_name="metric", value_name="value") for f in frames]
    columns = [*_KEYS, "metric", "value"]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)[columns]
    return out.assign(value=pd.to_numeric(out["value"], errors="coerce"))


def _ours(side: Quantity | float, results: pd.DataFrame) -> Side:
    if not isinstance(side, Quantity):
        return float(side)
    mask = (
        (results["experiment"] == side.experiment)
        & (results["backbone"] == side.backbone)
        & (results["variant"] == side.variant)
        & (results["metric"] == side.metric)
    )
    rows = results[mask]
    return Summary.of(rows.sort_values("seed")["value"]) if len(rows) else None


def _unit(comparison: Comparison) -> float:
    quantities = comparison.quantities()
    return display_unit(quantities[0]) if quantities else 1.0


def _show_ours(side: Side, unit: float) -> str:
    if side is None:
        return "not run"
    if not isinstance(side, Summary):
        return f"{side:g}"
    if side.diverged:
        return f"diverged ({side.diverged} of {side.seeds} seeds)"
    return mean_std(side.mean / unit, side.std / unit)


def _show_paper(side: Quantity | float, value: PaperValue | None) -> str:
    """As the paper prints it."""
    if not isinstance(side, Quantity):
        return f"{side:g}"
    return "" if value is None else f"{value.mean:g} ± {value.std:g}"


def _ours_entry(comparison: Comparison, low: Side, high: Side) -> str:
    """Our cell: "a vs b", the quantity alone against a threshold, "not run" without runs."""
    unit = _unit(comparison)
    sides = [
        (side, q)
        for side, q in ((low, comparison.low), (high, comparison.high))
        if isinstance(q, Quantity)
    ]
    if all(side is None for side, _ in sides):
        return "not run"
    return " vs ".join(_show_ours(side, unit) for side, _ in sides)


def _seeds(low: Side, high: Side) -> str:
    counts = list(dict.fromkeys(s.seeds for s in (low, high) if isinstance(s, Summary)))
    return ", ".join(str(n) for n in counts) if counts else "0"


def _missing_detail(comparison: Comparison, results: pd.DataFrame, built: Collection[str]) -> str:
    for q in comparison.quantities():
        if q.experiment not in built:
            return f"{q.experiment} not built"
        if not (
            (results["experiment"] == q.experiment)
            & (results["backbone"] == q.backbone)
            & (results["variant"] == q.variant)
        ).any():
            return f"no {q.backbone}/{q.variant} runs in {q.experiment}"
    return ""


def _paper_entry(comparison: Comparison) -> str:
    values = [
        paper_value(s) if isinstance(s, Quantity) else None
        for s in (comparison.low, comparison.high)
    ]
    if all(v is None for v in values):
        return ""
    low = _show_paper(comparison.low, values[0])
    high = _show_paper(comparison.high, values[1])
    return f"{low} vs {high}"


def _compare(
    claim: Claim, comparison: Comparison, results: pd.DataFrame, built: Collection[str]
) -> tuple[dict, Verdict]:
    low, high = _ours(comparison.low, results), _ours(comparison.high, results)
    verdict = judge(low, high)
    if verdict.reason == NOT_RUN:
        verdict = Verdict(verdict.outcome, NOT_RUN, _missing_detail(comparison, results, built))
    row: dict[str, Any] = {
        "claim_id": claim.id,
        "comparison": comparison.label,
        "paper": _paper_entry(comparison),
        "ours": _ours_entry(comparison, low, high),
        "seeds": _seeds(low, high),
        "verdict": verdict.outcome,
        "reason": verdict.explanation,
    }
    for name, side in (("low", low), ("high", high)):
        numbers = (
            (side.mean, side.std, side.seeds) if isinstance(side, Summary) else (side, None, None)
        )
        row.update(zip((f"{name}_mean", f"{name}_std", f"{name}_seeds"), numbers, strict=True))
    return row, verdict


def _evidence(claim: Claim, rows: Sequence[dict]) -> str:
    entries = [(r["comparison"], r["paper"]) for r in rows if r["paper"]]
    if not entries:
        return claim.source
    if len(entries) > _LIST_AT_MOST:
        return f"{claim.source}. Numbers: comparisons table"
    return f"{claim.source}. " + "; ".join(f"{label}: {text}" for label, text in entries)


def _our_numbers(rows: Sequence[dict], verdicts: Sequence[Verdict]) -> str:
    if len(rows) <= _LIST_AT_MOST:
        return "; ".join(
            f"{r['comparison']}: {r['ours']}"
            + (
                ""
                if r["seeds"] == "0"
                else f" ({r['seeds']} seed{'' if r['seeds'] == '1' else 's'})"
            )
            for r in rows
        )
    counts = {REPRODUCED: 0, NOT_REPRODUCED: 0, INCONCLUSIVE: 0, NOT_RUN: 0}
    for v in verdicts:
        counts[NOT_RUN if v.reason == NOT_RUN else v.outcome] += 1
    tally = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    return f"{len(rows)} comparisons: {tally} (numbers: comparisons table)"


def evaluate(
    results: pd.DataFrame, built: Collection[str], claims: Sequence[Claim] = CLAIMS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Judge every claim on ``results`` (see :func:`long_results`); ``built``: the experiments
    this config builds (a missing one is named in the reason).

    Returns ``(claims, comparisons)``: one row per claim (claim_id, claim, paper_evidence,
    our_numbers, verdict, reason) and one per comparison (claim_id, comparison, paper, ours,
    seeds, verdict, reason, and our numbers as low/high mean, std and seeds in the run files'
    units).
    """
    claim_rows, comparison_rows = [], []
    for claim in claims:
        judged = [_compare(claim, c, results, built) for c in claim.comparisons]
        rows, verdicts = [r for r, _ in judged], [v for _, v in judged]
        total = combine([(r["comparison"], v) for r, v in judged])
        claim_rows.append(
            {
                "claim_id": claim.id,
                "claim": claim.statement,
                "paper_evidence": _evidence(claim, rows),
                "our_numbers": _our_numbers(rows, verdicts),
                "verdict": total.outcome,
                "reason": total.explanation,
            }
        )
        comparison_rows.extend(rows)
    return pd.DataFrame(claim_rows), pd.DataFrame(comparison_rows)


def _verdict_cell(row: pd.Series) -> str:
    return Verdict(row["verdict"], row["reason"]).text()


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def to_markdown(claims: pd.DataFrame, comparisons: pd.DataFrame, note: str = "") -> str:
    """The claims table, then the comparisons behind each claim, then ``note`` and the rule."""
    main = _markdown_table(
        ["Claim", "Paper's evidence", "Our numbers (mean ± std, seeds)", "Verdict"],
        (
            [r["claim"], r["paper_evidence"], r["our_numbers"], _verdict_cell(r)]
            for _, r in claims.iterrows()
        ),
    )
    detail = _markdown_table(
        ["Claim", "Comparison", "Paper", "Ours", "Seeds", "Verdict"],
        (
            [r["claim_id"], r["comparison"], r["paper"], r["ours"], r["seeds"], _verdict_cell(r)]
            for _, r in comparisons.iterrows()
        ),
    )
    parts = [
        "**Claims of the paper**",
        "",
        *main,
        "",
        note,
        "",
        RULE,
        "",
        "**Comparisons behind each claim**",
        "",
        *detail,
    ]
    return "\n".join(parts) + "\n"


def _frame_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, na_rep="", escape=True)


def to_html(claims: pd.DataFrame, comparisons: pd.DataFrame, note: str = "") -> str:
    """A standalone HTML page with both tables (pandas ``to_html``), ``note`` and the rule."""
    main = claims.assign(verdict=[_verdict_cell(r) for _, r in claims.iterrows()]).drop(
        columns=["reason"]
    )
    detail = comparisons[["claim_id", "comparison", "paper", "ours", "seeds"]].assign(
        verdict=[_verdict_cell(r) for _, r in comparisons.iterrows()]
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Claims</title>'
        "<style>table{border-collapse:collapse;font:13px sans-serif}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}</style></head>"
        f"<body><h2>Claims of the paper</h2>{_frame_html(main)}"
        f"<p>{html.escape(note)}</p><p>{html.escape(RULE)}</p>"
        f"<h2>Comparisons behind each claim</h2>{_frame_html(detail)}</body></html>\n"
    )
