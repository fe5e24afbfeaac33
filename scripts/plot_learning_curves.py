"""Rule script: learning curves of one experiment (validation score against outer step and wall
time, per model and seed)."""

from pathlib import Path

import pandas as pd

from mixer.io.runs import read_history, run_ids
from mixer.plotting.learning_curves import plot_learning_curves, run_curve, sources_note
from mixer.runlog import configure_logging

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
curves, sources = [], []
for history_path, log_path in zip(sm.input.histories, sm.input.logs, strict=True):
    curve, source = run_curve(read_history(history_path), Path(log_path).read_text())
    curves.append(curve.assign(**run_ids(history_path)))
    sources.append(source)
experiment = sm.wildcards.experiment
title = f"Learning curves: {experiment} ({sm.params.scale} scale)"
fig = plot_learning_curves(pd.concat(curves, ignore_index=True), title, sources_note(sources))
fig.savefig(sm.output[0], dpi=120)
log.info("wrote %s (%d runs)", sm.output[0], len(curves))
