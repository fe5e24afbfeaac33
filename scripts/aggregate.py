"""Rule script: the experiment table (mean ± std over seeds; one seed: the value) as CSV,
Markdown and HTML (the report's view)."""

from pathlib import Path

from mixer.io.runs import runs_frame
from mixer.runlog import configure_logging
from mixer.tables import display_table, html_document, seeds_note, summarise, to_markdown

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
METRICS = {
    "test_rel_mse": "Test rel. MSE",
    "adapt_rel_mse": "Adapt rel. MSE",
    "routing_purity": "Routing purity",
}
table = summarise(runs_frame(list(sm.input), list(METRICS)), list(METRICS))
table.insert(0, "scale", sm.params.scale)
table.to_csv(sm.output.csv, index=False)
note = f"Scale: {sm.params.scale}. {seeds_note(table['seeds'])} Relative MSE is Eq. (9)."
Path(sm.output.md).write_text(to_markdown(table, METRICS, note))
title = f"{sm.wildcards.experiment}: test, adaptation and routing"
Path(sm.output.html).write_text(
    html_document(title, [("", display_table(table, METRICS)), note]), encoding="utf-8"
)
log.info("\n%s", table.to_string())
