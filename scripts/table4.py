"""Rule script: Table 4 (LV, GO, SM): active parameters, InD and OoD test MSE (CSV, Markdown,
HTML)."""

from pathlib import Path

import pandas as pd

from mixer.io.runs import run_identity, runs_frame
from mixer.paper_tables import table4, table4_markdown, table4_note, tidy_table
from mixer.runlog import configure_logging
from mixer.tables import html_document, summarise

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
UNITS = {"LV": 1e-5, "GO": 1e-4, "SM": 1e-3}  # the paper's units
METRICS = ["test_mse", "adapt_mse", "active_params"]
summaries, tidy = {}, []
for experiment in sm.params.experiments:
    paths = [p for p in sm.input if run_identity(p).experiment == experiment]
    name = experiment.upper()
    summaries[name] = summarise(runs_frame(paths, METRICS), METRICS)
    tidy.append(tidy_table(summaries[name], METRICS).assign(dataset=name))
frame = pd.concat(tidy)
frame.insert(0, "scale", sm.params.scale)
frame.to_csv(sm.output.csv, index=False)
units = {k: UNITS[k] for k in summaries}
note = table4_note(summaries, sm.params.scale)
Path(sm.output.md).write_text(table4_markdown(summaries, units, title="Table 4", note=note))
Path(sm.output.html).write_text(
    html_document("Table 4", [("", table4(summaries, units)), note]), encoding="utf-8"
)
log.info("\n%s", table4(summaries, units).to_string())
