"""Paper-layout tables (Tables 2-4) from summarise output."""

import pandas as pd
import pytest

from mixer.paper_tables import (
    blocks_markdown,
    mean_std,
    table4,
    table4_label,
    table4_markdown,
    table4_note,
    tidy_table,
    wide_markdown,
    wide_table,
)
from mixer.tables import seeds_note, summarise, to_markdown

COLUMNS = {"test_rel_mse": "TRAIN", "adapt_rel_mse": "ADAPT"}


def runs() -> pd.DataFrame:
    rows = []
    for backbone in ("ncf", "coda", "geps"):
        for variant in ("mixer1", "naive10", "mixer10", "mixer20"):
            if backbone == "coda" and variant == "mixer20":
                continue  # a missing (backbone, model) combination
            for seed, shift in enumerate((0.0, 0.1, 0.2)):
                rows.append(
                    {
                        "backbone": backbone,
                        "variant": variant,
                        "seed": seed,
                        "test_rel_mse": 1.0 + shift,
                        "adapt_rel_mse": 2.0 * (1 + shift),
                    }
                )
    return pd.DataFrame(rows)


def test_wide_table_layout_cells_and_missing_combos():
    summary = summarise(runs(), list(COLUMNS))
    wide = wide_table(summary, COLUMNS)
    assert list(wide.index) == ["MixER-1", "MixER-10†", "MixER-10", "MixER-20"]
    assert list(wide.columns) == [
        (b, h) for b in ("NCF", "CoDA", "GEPS") for h in ("TRAIN", "ADAPT")
    ]
    geps = summary[(summary["backbone"] == "GEPS") & (summary["model"] == "MixER-10")].iloc[0]
    expected = mean_std(geps["test_rel_mse_mean"], geps["test_rel_mse_std"])
    assert wide.loc["MixER-10", ("GEPS", "TRAIN")] == expected == "1.1 ± 0.1"
    assert wide.loc["MixER-20", ("CoDA", "TRAIN")] == ""
    assert wide.loc["MixER-20", ("CoDA", "ADAPT")] == ""


def test_mean_std_format():
    assert mean_std(0.123456, 0.0123456) == "0.123 ± 0.012"
    assert mean_std(66.94, 2.14) == "66.9 ± 2.1"


def test_tidy_table_is_numeric_and_complete():
    summary = summarise(runs(), list(COLUMNS))
    tidy = tidy_table(summary, list(COLUMNS))
    assert list(tidy.columns) == ["model", "backbone", "metric", "mean", "std", "seeds", "diverged"]
    assert len(tidy) == len(summary) * 2
    row = tidy[
        (tidy["model"] == "MixER-1")
        & (tidy["backbone"] == "NCF")
        & (tidy["metric"] == "adapt_rel_mse")
    ].iloc[0]
    assert row["mean"] == pytest.approx(2.2) and row["seeds"] == 3


def test_markdown_flattens_header_and_stacks_blocks():
    wide = wide_table(summarise(runs(), list(COLUMNS)), COLUMNS)
    text = wide_markdown(wide, title="Relative MSE", note="3 seeds")
    lines = text.splitlines()
    assert lines[0] == "**Relative MSE**"
    assert lines[2] == (
        "| model | NCF TRAIN | NCF ADAPT | CoDA TRAIN | CoDA ADAPT | GEPS TRAIN | GEPS ADAPT |"
    )
    assert lines[4].startswith("| MixER-1 | 1.1 ± 0.1 | 2.2 ± 0.2 |")
    assert text.rstrip().endswith("3 seeds")
    doc = blocks_markdown([("Relative MSE", wide), ("TPRMSE (%)", wide)], note="eps = 0.1")
    assert doc.count("| model | NCF TRAIN") == 2
    assert doc.index("**Relative MSE**") < doc.index("**TPRMSE (%)**")
    assert doc.rstrip().endswith("eps = 0.1")


def table4_runs(scale: float) -> pd.DataFrame:
    rows = []
    for backbone, variants in (
        ("cavia", ["mixer1"]),
        ("ncf", ["mixer1", "mixer3"]),
        ("coda", ["mixer1", "mixer3"]),
        ("geps", ["mixer3"]),
    ):
        for variant in variants:
            for seed in range(2):
                rows.append(
                    {
                        "backbone": backbone,
                        "variant": variant,
                        "seed": seed,
                        "test_mse": 2.5 * scale,
                        "adapt_mse": 4.0 * scale,
                        "active_params": 1000 + len(backbone),
                    }
                )
    return pd.DataFrame(rows)


def summaries():
    metrics = ["test_mse", "adapt_mse", "active_params"]
    return {
        "LV": summarise(table4_runs(1e-5), metrics),
        "GO": summarise(table4_runs(1e-4), metrics).iloc[:-1],
    }  # no MixER-GEPS on GO


UNITS = {"LV": 1e-5, "GO": 1e-4}


def test_table4_labels_rows_units_and_params():
    assert table4_label("NCF", "MixER-1") == "NCF"
    assert table4_label("GEPS", "MixER-3") == "MixER-GEPS"
    table = table4(summaries(), UNITS)
    assert list(table.index) == ["CAVIA", "NCF", "CoDA", "MixER-NCF", "MixER-CoDA", "MixER-GEPS"]
    lv, go = "LV (×10^-5)", "GO (×10^-4)"
    assert list(table.columns) == [(d, c) for d in (lv, go) for c in ("#PARAMS", "InD", "OoD")]
    assert table.loc["NCF", (lv, "InD")] == "2.5 ± 0"
    assert table.loc["NCF", (go, "OoD")] == "4 ± 0"
    assert table.loc["MixER-CoDA", (lv, "#PARAMS")] == "1004"
    assert table.loc["MixER-GEPS", (go, "InD")] == ""
    given = table4(summaries(), UNITS, params={"LV": {"NCF": 308240}})
    assert given.loc["NCF", (lv, "#PARAMS")] == "308240"
    assert given.loc["CoDA", (lv, "#PARAMS")] == ""


def test_table4_markdown_and_duplicate_labels():
    text = table4_markdown(summaries(), UNITS, title="Table 4")
    assert "| model | LV (×10^-5) #PARAMS | LV (×10^-5) InD | LV (×10^-5) OoD |" in text
    assert "| MixER-NCF | 1003 | 2.5 ± 0 | 4 ± 0 |" in text
    doubled = summarise(
        table4_runs(1e-5)
        .assign(variant="mixer3")
        .query("backbone == 'ncf'")
        .pipe(lambda d: pd.concat([d, d.assign(variant="mixer5")])),
        ["test_mse", "adapt_mse"],
    )
    with pytest.raises(ValueError, match="one Table 4 label"):
        table4({"LV": doubled}, {"LV": 1e-5})


def test_one_seed_prints_the_value_and_the_seed_count_never_plus_minus_zero():
    one = runs().query("seed == 0")
    summary = summarise(one, list(COLUMNS))
    assert summary["seeds"].eq(1).all() and summary["test_rel_mse_std"].isna().all()
    assert mean_std(1.0, float("nan")) == "1"
    wide = wide_table(summary, COLUMNS)
    assert wide.loc["MixER-10", ("GEPS", "TRAIN")] == "1"
    text = to_markdown(summary, COLUMNS, note=seeds_note(summary["seeds"]))
    assert "±" not in text.split("\n\n")[0] and "| 1 | 2 | 1 |" in text
    assert "1 seed" in text and "no spread" in text
    lv = summarise(table4_runs(1e-5).query("seed == 0"), ["test_mse", "adapt_mse"])
    cells = table4({"LV": lv}, {"LV": 1e-5})
    assert cells.loc["NCF", ("LV (×10^-5)", "InD")] == "2.5"
    assert "±" not in table4_markdown({"LV": lv}, {"LV": 1e-5})
    tidy = tidy_table(summary, list(COLUMNS))
    assert tidy["std"].isna().all() and tidy["seeds"].eq(1).all()


def test_seeds_note_states_the_count():
    assert seeds_note([3, 3]) == "Mean ± sample std over 3 seeds per model."
    assert "1 seed per model" in seeds_note([1, 1])
    mixed = seeds_note([1, 3])
    assert "1–3 seeds" in mixed and "1 seed shows its single value" in mixed
    assert "single value" not in seeds_note([2, 3])


def test_table4_note_states_the_mse_convention_and_seeds():
    note = table4_note(summaries(), "test")
    assert "state dimensions" in note and "paper's convention" in note
    assert "2 seeds per model" in note and "Scale: test" in note


def test_diverged_seeds_are_named_in_every_table_never_averaged():
    """Issue 15, item 2: a seed whose value is unknown (null in its JSON: non-finite
    predictions) turns the cell into "diverged (k of n seeds)", not a number."""
    frame = runs()
    bad = (frame["backbone"] == "geps") & (frame["variant"] == "mixer10") & (frame["seed"] == 1)
    frame["test_rel_mse"] = frame["test_rel_mse"].astype(object)
    frame.loc[bad, "test_rel_mse"] = None  # as read from a JSON null
    summary = summarise(frame, list(COLUMNS))
    geps = summary[(summary["backbone"] == "GEPS") & (summary["model"] == "MixER-10")].iloc[0]
    assert geps["test_rel_mse_diverged"] == 1 and pd.isna(geps["test_rel_mse_mean"])
    assert geps["adapt_rel_mse_diverged"] == 0
    wide = wide_table(summary, COLUMNS)
    assert wide.loc["MixER-10", ("GEPS", "TRAIN")] == "diverged (1 of 3 seeds)"
    assert wide.loc["MixER-10", ("GEPS", "ADAPT")] == "2.2 ± 0.2"
    assert wide.loc["MixER-1", ("GEPS", "TRAIN")] == "1.1 ± 0.1"
    assert "| GEPS | MixER-10 | diverged (1 of 3 seeds) | 2.2 ± 0.2 | 3 |" in to_markdown(
        summary, COLUMNS
    )
    tidy = tidy_table(summary, list(COLUMNS))
    row = tidy[
        (tidy["model"] == "MixER-10")
        & (tidy["backbone"] == "GEPS")
        & (tidy["metric"] == "test_rel_mse")
    ].iloc[0]
    assert row["diverged"] == 1 and pd.isna(row["mean"])
    lv = table4_runs(1e-5).query("seed == 0").astype({"test_mse": object})
    lv.loc[lv["backbone"] == "ncf", "test_mse"] = float("nan")
    cells = table4({"LV": summarise(lv, ["test_mse", "adapt_mse"])}, {"LV": 1e-5})
    assert cells.loc["NCF", ("LV (×10^-5)", "InD")] == "diverged (1 of 1 seed)"
