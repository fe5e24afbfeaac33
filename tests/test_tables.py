"""HTML tables for the report (issue 15, item 5): the same cells as the Markdown tables, as real
HTML tables (read back here with the standard library's parser)."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mixer.paper_tables import table4, wide_table
from mixer.tables import (
    backbone_label,
    count_frame,
    count_markdown,
    display_table,
    html_document,
    summarise,
    summary_table,
    to_markdown,
    write_report,
)


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header and body cells alike), plus the
    headings and paragraphs."""

    def __init__(self):
        super().__init__()
        self.tables, self.texts, self._cell, self._text = [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag in ("h2", "h3", "p"):
            self._text = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None
        elif tag in ("h2", "h3", "p"):
            self.texts.append((tag, self._text))
            self._text = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._text is not None:
            self._text += data


def parse(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    return parser


def summary(seeds=(0, 1)) -> pd.DataFrame:
    runs = pd.DataFrame(
        [
            {
                "backbone": b,
                "variant": v,
                "seed": s,
                "test_rel_mse": 0.1 * k + s,
                "adapt_rel_mse": np.nan if (b, s) == ("coda", 1) else 0.2 * k,
            }
            for k, (b, v) in enumerate(
                [("ncf", "mixer1"), ("ncf", "naive2"), ("coda", "mixer2")], start=1
            )
            for s in seeds
        ]
    )
    return summarise(runs, ["test_rel_mse", "adapt_rel_mse"])


METRICS = {"test_rel_mse": "Test rel. MSE", "adapt_rel_mse": "Adapt rel. MSE"}


def test_html_table_holds_the_markdown_cells():
    table = summary()
    page = html_document("odebench2", [("", display_table(table, METRICS)), "a note"])
    parsed = parse(page)
    assert len(parsed.tables) == 1
    header, *rows = parsed.tables[0]
    assert header == ["Backbone", "Model", "Test rel. MSE", "Adapt rel. MSE", "Seeds"]
    markdown = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in to_markdown(table, METRICS).splitlines()[2:]
        if line
    ]
    assert rows == markdown  # one source for both renderings
    assert rows[1][:2] == ["NCF", "MixER-2†"]
    assert rows[2][3] == "diverged (1 of 2 seeds)"
    assert ("p", "a note") in parsed.texts and ("h2", "odebench2") in parsed.texts
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page


def test_parts_keep_their_order_and_text_is_escaped():
    counts = count_frame(
        ["A normal", "B <cyclic>"], ["expert 0", "expert 1"], [[3, 0], [1, 2]], "class"
    )
    page = html_document(
        "T & S", [("main", display_table(summary((0,)), METRICS)), "x < y & z", ("counts", counts)]
    )
    assert "<cyclic>" not in page and "&lt;cyclic&gt;" in page and "x &lt; y &amp; z" in page
    parsed = parse(page)
    assert parsed.texts == [("h2", "T & S"), ("h3", "main"), ("p", "x < y & z"), ("h3", "counts")]
    main, count_table = parsed.tables
    assert len(main[1]) == 5  # no index column for a plain display table
    # A labelled index is shown: the corner names the rows.
    assert count_table[0] == ["", "expert 0", "expert 1"]
    assert count_table[1] == ["class", "", ""]
    assert count_table[2:] == [["A normal", "3", "0"], ["B <cyclic>", "1", "2"]]


def test_paper_layout_tables_keep_their_two_level_header():
    table = summary()
    wide = wide_table(table, {"test_rel_mse": "TRAIN", "adapt_rel_mse": "ADAPT"})
    parsed = parse(html_document("Table 2", [("Relative MSE", wide)]))
    rows = parsed.tables[0]
    assert rows[0][1:] == ["NCF", "CoDA"]  # backbones span their TRAIN / ADAPT columns
    assert rows[1][1:] == ["TRAIN", "ADAPT", "TRAIN", "ADAPT"]
    body = {row[0]: row[1:] for row in rows if row and row[0].startswith("MixER")}
    assert body["MixER-2"][2:] == [
        wide.loc["MixER-2", ("CoDA", "TRAIN")],
        "diverged (1 of 2 seeds)",
    ]
    assert body["MixER-1"][2:] == ["", ""]  # no CoDA MixER-1 run: empty, never "nan"


def test_table4_html_has_every_dataset_column():
    table = summarise(
        pd.DataFrame(
            [
                {
                    "backbone": "geps",
                    "variant": "mixer3",
                    "seed": 0,
                    "test_mse": 2e-5,
                    "adapt_mse": 3e-5,
                    "active_params": 120,
                }
            ]
        ),
        ["test_mse", "adapt_mse", "active_params"],
    )
    frame = table4({"LV": table, "GO": table}, {"LV": 1e-5, "GO": 1e-4})
    rows = parse(html_document("Table 4", [("", frame)])).tables[0]
    assert rows[1][1:] == ["#PARAMS", "InD", "OoD"] * 2
    assert rows[-1] == ["MixER-GEPS", "120", "2", "3", "120", "0.2", "0.3"]


def test_count_frame_checks_its_shape():
    frame = count_frame(["a", "b"], ["x"], [[1], [2]], "true")
    assert frame.index.name == "true" and frame["x"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="expected"):
        count_frame(["a"], ["x", "y"], [[1, 2], [3, 4]])


def test_count_markdown_renders_the_frame_cells():
    frame = count_frame(["A", "B"], ["expert 0", "expert 1"], [[3, 0], [1, 2]], "class")
    assert count_markdown(frame).splitlines() == [
        "| class | expert 0 | expert 1 |",
        "| --- | --- | --- |",
        "| A | 3 | 0 |",
        "| B | 1 | 2 |",
    ]


def test_write_report_writes_one_table_in_three_formats(tmp_path):
    runs = pd.DataFrame(
        [
            {"backbone": "ncf", "variant": "mixer2", "seed": s, "test_rel_mse": 0.1 + s}
            for s in (0, 1)
        ]
    )
    table = summary_table(runs, ["test_rel_mse"], "test")
    assert list(table.columns[:3]) == ["scale", "backbone", "model"]
    counts = [("MixER-2 (ncf)", "rows true", count_frame(["a", "b"], ["a", "b"], np.eye(2), "t"))]
    outputs = {name: tmp_path / f"t.{name}" for name in ("csv", "md", "html")}
    write_report(table, {"test_rel_mse": "Test"}, "a note", "Title", outputs, counts)
    assert pd.read_csv(outputs["csv"])["test_rel_mse_mean"].tolist() == pytest.approx([0.6])
    markdown = outputs["md"].read_text()
    assert markdown.startswith(to_markdown(table, {"test_rel_mse": "Test"}, "a note"))
    assert "**MixER-2 (ncf)**: rows true\n\n| t | a | b |" in markdown
    parsed = parse(outputs["html"].read_text())
    assert ("h3", "MixER-2 (ncf): rows true") in parsed.texts and len(parsed.tables) == 2
    with pytest.raises(KeyError, match="html"):
        write_report(table, {}, "", "", {"csv": outputs["csv"], "md": outputs["md"]})


def test_backbone_label_is_the_papers_name():
    assert [backbone_label(b) for b in ("ncf", "coda", "geps", "cavia", "plrnn")] == [
        "NCF",
        "CoDA",
        "GEPS",
        "CAVIA",
        "hier-shPLRNN",
    ]
    assert backbone_label("new") == "new"
