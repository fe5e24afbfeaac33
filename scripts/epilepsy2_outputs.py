"""Rule script: Epilepsy2 classification table (mean ± std over seeds) and Fig. 7 (first seed)."""

from pathlib import Path

import numpy as np

from mixer.io.runs import read_json, run_ids, runs_frame
from mixer.plotting.downstream import Fig7Panel, plot_fig7
from mixer.runlog import configure_logging
from mixer.tables import summarise, to_markdown, variant_label

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
METRICS = {"accuracy": "Held-out accuracy", "balanced_accuracy": "Balanced accuracy",
           "routing_purity": "Routing purity (train)"}
table = summarise(runs_frame(list(sm.input.runs), list(METRICS)), list(METRICS))
table.insert(0, "scale", sm.params.scale)
table.to_csv(sm.output.csv, index=False)
first = [read_json(p) for p in sm.input.first_seed]
note = (f"Scale: {sm.params.scale}; mean ± std over seeds. Logistic regression on the training "
        f"contexts, scored on adapted contexts of held-out series. Held-out set: "
        f"{first[0]['heldout']}. Labels: {first[0]['label_polarity']}.")
Path(sm.output.md).write_text(to_markdown(table, METRICS, note))
panels = [Fig7Panel(variant_label(run_ids(p)["variant"]), np.asarray(r["train_contexts"]),
                    np.asarray(r["train_labels"]), np.asarray(r["heldout_contexts"]),
                    np.asarray(r["heldout_labels"]), r["accuracy"])
          for p, r in zip(sm.input.first_seed, first, strict=True)]
labels = sorted(set(first[0]["train_labels"]) | set(first[0]["heldout_labels"]))
fig = plot_fig7(panels, {k: k for k in labels}, f"Epilepsy2 contexts ({sm.params.scale} scale)")
fig.savefig(sm.output.fig, dpi=130)
log.info("\n%s", table.to_string())
