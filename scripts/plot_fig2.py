"""Rule script: Fig. 2 (test relative MSE per model; validation curves during training)."""

import pandas as pd

from mixer.io.runs import read_history, read_json, run_ids
from mixer.plotting.runs import plot_fig2
from mixer.runlog import configure_logging

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
runs, curves = [], []
for metrics_path, history_path in zip(sm.input.metrics, sm.input.histories, strict=True):
    ids = run_ids(metrics_path)
    runs.append({**ids, "test_rel_mse": read_json(metrics_path)["test_rel_mse"]})
    hist = read_history(history_path)
    frame = pd.DataFrame({"step": hist["step"].values, "val_rel_mse": hist["val_rel_mse"].values})
    curves.append(frame.dropna().assign(**ids))
experiment = sm.wildcards.experiment
fig = plot_fig2(pd.DataFrame(runs), pd.concat(curves), f"{experiment} ({sm.params.scale} scale)")
fig.savefig(sm.output.png, dpi=130)
fig.savefig(sm.output.pdf)
log.info("wrote %s", sm.output.png)
