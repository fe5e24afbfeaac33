"""Rule script: SCCTS clustering table (ARIs, mean ± std over seeds) and Fig. 6 (first seed)."""

from pathlib import Path

import numpy as np

from mixer.io.runs import read_json, run_ids, runs_frame
from mixer.plotting.downstream import Fig6Panel, plot_fig6
from mixer.runlog import configure_logging
from mixer.tables import summarise, to_markdown, variant_label

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
METRICS = {"ari_routing_pairs": "ARI routing vs pairs A/B, C/D, E/F",
           "ari_kmeans_contexts": "ARI K-means on contexts vs classes",
           "ari_kmeans_series": "ARI K-means on raw series vs classes"}
table = summarise(runs_frame(list(sm.input.runs), list(METRICS)), list(METRICS))
table.insert(0, "scale", sm.params.scale)
table.to_csv(sm.output.csv, index=False)
note = (f"Scale: {sm.params.scale}; mean ± std over seeds; trained without labels. K-means "
        "starts from the true class means (as in Fig. 6).")
Path(sm.output.md).write_text(to_markdown(table, METRICS, note))
panels = []
for path in sm.input.first_seed:
    run = read_json(path)
    scores = {"ARI routing/pairs": run["ari_routing_pairs"],
              "ARI K-means": run["ari_kmeans_contexts"]}
    panels.append(Fig6Panel(variant_label(run_ids(path)["variant"]), np.asarray(run["contexts"]),
                            np.asarray(run["classes"]), np.asarray(run["kmeans_contexts"]),
                            scores))
plot_fig6(panels, f"SCCTS contexts, PCA ({sm.params.scale} scale)").savefig(sm.output.fig, dpi=130)
log.info("\n%s", table.to_string())
