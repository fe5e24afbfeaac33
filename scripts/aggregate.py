"""Rule script: the experiment table (mean ± std over seeds; one seed: the value) as CSV,
Markdown and HTML (the report's view)."""

from mixer.io.runs import runs_frame
from mixer.runlog import configure_logging
from mixer.tables import seeds_note, summary_table, write_report

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
METRICS = {
    "test_rel_mse": "Test rel. MSE",
    "adapt_rel_mse": "Adapt rel. MSE",
    "routing_purity": "Routing purity",
}
table = summary_table(runs_frame(list(sm.input), list(METRICS)), list(METRICS), sm.params.scale)
note = f"Scale: {sm.params.scale}. {seeds_note(table['seeds'])} Relative MSE is Eq. (9)."
title = f"{sm.wildcards.experiment}: test, adaptation and routing"
write_report(table, METRICS, note, title, dict(sm.output))
log.info("\n%s", table.to_string())
