"""Rule script: Table 2 (ODEBench-10A) or Table 3 (ODEBench-10B) in the paper's layout (CSV,
Markdown, HTML)."""

from pathlib import Path

from mixer.io.runs import runs_frame
from mixer.paper_tables import blocks_markdown, tidy_table, wide_table
from mixer.runlog import configure_logging
from mixer.tables import html_document, seeds_note, summarise

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
REL = {"test_rel_mse": "TRAIN", "adapt_rel_mse": "ADAPT"}
TPR = {"test_tprmse": "TRAIN", "adapt_tprmse": "ADAPT"}
with_tpr = sm.params.tprmse
metrics = list(REL) + (list(TPR) if with_tpr else [])
summary = summarise(runs_frame(list(sm.input), metrics), metrics)
tidy = tidy_table(summary, metrics)
tidy.insert(0, "scale", sm.params.scale)
tidy.to_csv(sm.output.csv, index=False)
blocks = [("Relative MSE (Eq. 9, lower is better)", wide_table(summary, REL))]
if with_tpr:
    blocks.append(
        (
            "TPRMSE: % of environments with relative MSE < 0.1 (higher is better)",
            wide_table(summary, TPR),
        )
    )
note = (
    f"{sm.params.title}. Scale: {sm.params.scale}. {seeds_note(summary['seeds'])} TRAIN: "
    "test-split trajectories of the training environments with the trained contexts; ADAPT: "
    "adapt_test trajectories with contexts adapted on adapt_train."
)
Path(sm.output.md).write_text(blocks_markdown(blocks, note))
Path(sm.output.html).write_text(
    html_document(f"{sm.params.title} ({sm.wildcards.experiment})", [*blocks, note]),
    encoding="utf-8",
)
log.info("\n%s", tidy.to_string())
