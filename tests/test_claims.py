"""The claims table: the verdict rule, the paper's numbers and orders, the table built from a
small results frame."""

import math

import pandas as pd
import pytest

from mixer.claims import CLAIMS, PAPER, Quantity, Summary, claim_metrics, combine, judge
from mixer.claims.findings import paper_order
from mixer.claims.table import evaluate, long_results, to_html, to_markdown
from mixer.claims.verdict import (
    DIVERGED,
    IN_ORDER,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_RUN,
    ONE_SEED,
    OVERLAP,
    REPRODUCED,
    REVERSED,
    Verdict,
)


def s(*values):
    return Summary.of(values)


# --------------------------------------------------------------------------- judge


def test_summary_mean_sample_std_and_seeds():
    summary = s(1.0, 2.0, 3.0)
    assert summary.mean == 2.0 and summary.std == 1.0 and summary.seeds == 3
    assert math.isnan(s(4.0).std) and s(4.0).seeds == 1
    assert s(1.0, None, 2.0).diverged == 1


def test_clear_win_beyond_the_seed_spread_is_reproduced():
    assert judge(s(0.10, 0.12, 0.11), s(1.0, 1.2, 1.1)) == Verdict(REPRODUCED)


def test_overlapping_spreads_are_inconclusive():
    verdict = judge(s(0.5, 0.9, 0.7), s(0.8, 1.0, 0.6))
    assert verdict.outcome == INCONCLUSIVE and verdict.reason == OVERLAP
    # the means are in the claimed order, but mean + std of one reaches mean - std of the other
    assert judge(s(1.0, 1.3), s(1.3, 1.5)).reason == OVERLAP


def test_clear_reversal_is_not_reproduced():
    verdict = judge(s(2.0, 2.1, 2.2), s(1.0, 1.1, 0.9))
    assert verdict.outcome == NOT_REPRODUCED and verdict.reason == REVERSED


def test_missing_side_is_inconclusive_not_run():
    for low, high in ((None, s(1.0, 2.0)), (s(1.0, 2.0), None), (None, 1.0)):
        assert judge(low, high) == Verdict(INCONCLUSIVE, NOT_RUN)


def test_one_seed_is_inconclusive_and_says_which_order_it_shows():
    assert judge(s(0.1), s(1.0)) == Verdict(INCONCLUSIVE, ONE_SEED, IN_ORDER)
    opposite = judge(s(1.0), s(0.1))
    assert opposite.reason == ONE_SEED and opposite.detail != IN_ORDER
    assert judge(s(0.1), s(1.0, 1.1, 1.2)).reason == ONE_SEED  # one side with one seed is enough


def test_a_diverged_seed_makes_the_comparison_inconclusive():
    verdict = judge(s(0.1, None, 0.1), s(5.0, 5.0, 5.0))
    assert verdict.outcome == INCONCLUSIVE and verdict.reason == DIVERGED
    assert "1 of 3" in verdict.detail


def test_threshold_is_met_with_equality_and_missed_beyond_the_spread():
    assert judge(1.0, s(1.0, 1.0, 1.0)).outcome == REPRODUCED  # purity at least 1
    assert judge(s(1.0, 1.0, 1.0), 1.0).outcome == REPRODUCED  # experts used at most 1
    assert judge(1.0, s(0.5, 0.5, 0.5)).outcome == NOT_REPRODUCED
    assert judge(1.0, s(1.0, 1.0, 0.5)).reason == OVERLAP  # spread straddles the threshold


def test_pairs_are_strict_an_exact_tie_is_not_a_win():
    assert judge(s(1.0, 1.0), s(1.0, 1.0)).reason == OVERLAP


# --------------------------------------------------------------------------- combine


def test_any_reversal_makes_the_claim_not_reproduced_and_names_it():
    verdict = combine(
        [
            ("NCF", Verdict(REPRODUCED)),
            ("CoDA", Verdict(NOT_REPRODUCED, REVERSED)),
            ("GEPS", Verdict(INCONCLUSIVE, OVERLAP)),
        ]
    )
    assert verdict.outcome == NOT_REPRODUCED and "CoDA" in verdict.reason
    assert "NCF" not in verdict.reason


def test_every_run_comparison_holding_is_reproduced_naming_the_missing_ones():
    verdict = combine([("NCF", Verdict(REPRODUCED)), ("CoDA", Verdict(INCONCLUSIVE, NOT_RUN))])
    assert verdict.outcome == REPRODUCED
    assert NOT_RUN in verdict.reason and "CoDA" in verdict.reason
    assert combine([("NCF", Verdict(REPRODUCED))]) == Verdict(REPRODUCED)


def test_nothing_run_is_inconclusive_not_run():
    verdict = combine([(b, Verdict(INCONCLUSIVE, NOT_RUN)) for b in ("NCF", "CoDA")])
    assert verdict == Verdict(INCONCLUSIVE, NOT_RUN)
    assert verdict.text() == f"{INCONCLUSIVE}: {NOT_RUN}"


def test_open_comparisons_make_the_claim_inconclusive_with_grouped_reasons():
    verdict = combine(
        [
            ("NCF", Verdict(REPRODUCED)),
            ("CoDA", Verdict(INCONCLUSIVE, OVERLAP)),
            ("GEPS", Verdict(INCONCLUSIVE, ONE_SEED, IN_ORDER)),
        ]
    )
    assert verdict.outcome == INCONCLUSIVE
    assert f"{OVERLAP}: CoDA" in verdict.reason and f"{ONE_SEED}: GEPS" in verdict.reason
    many = combine(
        [(f"c{i}", Verdict(INCONCLUSIVE, ONE_SEED, IN_ORDER)) for i in range(6)]
        + [("x", Verdict(REPRODUCED))]
    )
    assert "6 of 7 comparisons" in many.reason and "6 of 6 in the claimed order" in many.reason


def test_a_claim_needs_comparisons():
    with pytest.raises(ValueError, match="at least one"):
        combine([])


# --------------------------------------------------------------------------- paper and claims


def test_paper_numbers_as_printed():
    table2 = PAPER[Quantity("odebench10a", "coda", "mixer10", "adapt_rel_mse")]
    assert (table2.mean, table2.std) == (15.9, 4.2)
    table3 = PAPER[Quantity("odebench10b", "geps", "mixer10", "test_tprmse")]
    assert (table3.mean, table3.std) == (85.6, 5.4)
    table4 = PAPER[Quantity("sm", "cavia", "mixer1", "test_mse")]
    assert (table4.mean, table4.unit) == (979.1, 1e-3)
    assert len(PAPER) == 9 * 2 + 12 * 4 + 3 * 6 * 2


def test_paper_order_follows_the_paper_numbers():
    mixer10 = Quantity("odebench10a", "geps", "mixer10", "test_rel_mse")
    naive10 = Quantity("odebench10a", "geps", "naive10", "test_rel_mse")
    assert paper_order(mixer10, naive10) == (naive10, mixer10)  # Table 2: 0.58 < 1.01
    figure_only = (
        Quantity("odebench2", "geps", "mixer2", "test_rel_mse"),
        Quantity("odebench2", "geps", "mixer1", "test_rel_mse"),
    )
    assert paper_order(*figure_only) == figure_only


def test_every_comparison_with_paper_numbers_is_in_the_paper_order():
    checked = 0
    for claim in CLAIMS:
        for comparison in claim.comparisons:
            low, high = PAPER.get(comparison.low), PAPER.get(comparison.high)
            if low is not None and high is not None:
                assert low.mean <= high.mean, (claim.id, comparison.label)
                checked += 1
    assert checked > 40
    labels = {c.label for claim in CLAIMS for c in claim.comparisons}
    assert "SM InD CoDA MixER-3 < MixER-1" in labels  # the paper's exception to its wording
    assert "GO InD CAVIA < NCF MixER-3" in labels


def test_claims_cover_the_papers_findings_once_each():
    ids = [claim.id for claim in CLAIMS]
    assert len(ids) == len(set(ids))
    experiments = {e for claim in CLAIMS for e in claim.experiments()}
    assert experiments == {
        "odebench2",
        "odebench10a",
        "odebench10b",
        "lv",
        "go",
        "sm",
        "sccts",
        "epilepsy2",
    }
    assert claim_metrics("odebench2") == ["experts_used", "routing_purity", "test_rel_mse"]
    assert claim_metrics("sccts") == [
        "ari_kmeans_contexts",
        "ari_kmeans_series",
        "ari_routing_pairs",
    ]


# --------------------------------------------------------------------------- the table


def odebench2_runs(seeds, mixer2=0.05):
    rows = []
    for backbone in ("ncf", "coda", "geps"):
        for variant, error, purity, used in (
            ("mixer1", 1.0, 0.5, 1),
            ("naive2", 2.0, 0.5, 1),
            ("mixer2", mixer2, 1.0, 2),
        ):
            rows += [
                {
                    "experiment": "odebench2",
                    "backbone": backbone,
                    "variant": variant,
                    "seed": seed,
                    "test_rel_mse": error * (1 + 0.05 * seed),
                    "routing_purity": purity,
                    "experts_used": used,
                }
                for seed in seeds
            ]
    return pd.DataFrame(rows)


def by_id(frame):
    return frame.set_index("claim_id")


def test_table_reproduces_clear_wins_and_marks_unbuilt_experiments():
    claims, comparisons = evaluate(long_results([odebench2_runs([0, 1, 2])]), ["odebench2"])
    verdicts = by_id(claims)["verdict"]
    for claim_id in (
        "odebench2_routing",
        "odebench2_naive_collapse",
        "odebench2_vs_single",
        "odebench2_vs_naive",
    ):
        assert verdicts[claim_id] == REPRODUCED, claim_id
    assert by_id(claims).loc["epilepsy2_accuracy", "reason"] == NOT_RUN
    assert set(verdicts.drop([i for i in verdicts.index if i.startswith("odebench2")])) == {
        INCONCLUSIVE
    }
    assert len(comparisons) == sum(len(c.comparisons) for c in CLAIMS)
    numbers = by_id(claims).loc["odebench2_vs_single", "our_numbers"]
    assert "(3 seeds)" in numbers and "0.0525 ± 0.0025 vs 1.05 ± 0.05" in numbers
    unbuilt = comparisons[comparisons["claim_id"] == "table4_cavia_worst"]
    assert unbuilt["reason"].str.contains("lv not built").any()


def test_table_with_one_seed_is_inconclusive_and_a_reversal_is_not_reproduced():
    one_seed, _ = evaluate(long_results([odebench2_runs([0])]), ["odebench2"])
    assert by_id(one_seed).loc["odebench2_vs_single", "verdict"] == INCONCLUSIVE
    assert ONE_SEED in by_id(one_seed).loc["odebench2_vs_single", "reason"]
    reversed_, _ = evaluate(long_results([odebench2_runs([0, 1, 2], mixer2=5.0)]), ["odebench2"])
    assert by_id(reversed_).loc["odebench2_vs_single", "verdict"] == NOT_REPRODUCED


def test_a_backbone_left_out_of_the_grid_is_named():
    runs = odebench2_runs([0, 1, 2])
    claims, comparisons = evaluate(long_results([runs[runs["backbone"] != "ncf"]]), ["odebench2"])
    row = by_id(claims).loc["odebench2_vs_single"]
    assert row["verdict"] == REPRODUCED and "NCF" in row["reason"]
    ncf = comparisons[comparisons["comparison"] == "NCF MixER-2 < MixER-1"].iloc[0]
    assert ncf["ours"] == "not run" and "no ncf/mixer2 runs in odebench2" in ncf["reason"]


def test_long_results_keeps_unknown_values_as_nan():
    frame = pd.DataFrame(
        [
            {
                "experiment": "sccts",
                "backbone": "plrnn",
                "variant": "mixer3",
                "seed": 0,
                "ari_routing_pairs": None,
            }
        ]
    )
    long = long_results([frame])
    assert list(long.columns) == ["experiment", "backbone", "variant", "seed", "metric", "value"]
    assert long["value"].isna().all()
    assert long_results([]).empty


def test_markdown_and_html_hold_both_tables():
    claims, comparisons = evaluate(long_results([odebench2_runs([0, 1])]), ["odebench2"])
    text = to_markdown(claims, comparisons, "Scale: test.")
    lines = text.splitlines()
    assert lines.count("| --- | --- | --- | --- |") == 1
    rows = sum(line.startswith("| ") for line in lines)
    assert rows == len(claims) + len(comparisons) + 4  # 2 headers, 2 separator lines
    assert "Scale: test." in text and "MixER-2†" in text
    page = to_html(claims, comparisons, "a < b & c")
    assert page.count("<table") == 2 and "a &lt; b &amp; c" in page
