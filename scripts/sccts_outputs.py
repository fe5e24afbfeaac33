"""Rule script: SCCTS clustering table (ARIs over seeds, class x expert counts of every run) as
CSV, Markdown and HTML, and Fig. 6 (first seed)."""

import numpy as np

from mixer.data.sccts import CLASS_NAMES, CLASSES
from mixer.io.runs import read_json, run_ids, runs_frame
from mixer.plotting.downstream import Fig6Panel, plot_fig6
from mixer.runlog import configure_logging
from mixer.tables import count_frame, seeds_note, summary_table, variant_label, write_report

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
METRICS = {
    "ari_routing_pairs": "ARI routing vs pairs A/B, C/D, E/F",
    "ari_routing_classes": "ARI routing vs classes A-F",
    "ari_kmeans_contexts": "ARI K-means on contexts vs classes",
    "ari_kmeans_series": "ARI K-means on raw series vs classes",
}
ROW = {c: f"{c} {name}" for c, name in zip(CLASSES, CLASS_NAMES, strict=True)}
table = summary_table(
    runs_frame(list(sm.input.runs), list(METRICS)), list(METRICS), sm.params.scale
)
note = (
    f"Scale: {sm.params.scale}. {seeds_note(table['seeds'])} Trained without labels on the "
    "series z-scored per time index. K-means starts from the true class means (as in "
    "Fig. 6). A routing that splits by direction of change ({A, C, E} vs "
    "{B, D, F}) is coherent yet scores about 0 against the pairs: read the class x expert "
    "counts below (expert numbers are arbitrary per run)."
)
counts = []
for path in sm.input.runs:
    run, ids = read_json(path), run_ids(path)
    rows = [ROW.get(c, c) for c in run["class_names"]]
    experts = [f"expert {m}" for m in range(len(run["class_expert_counts"][0]))]
    counts.append(
        (
            f"{variant_label(ids['variant'])} ({ids['backbone']}), seed {ids['seed']}",
            "series per class (rows) and routed expert (columns)",
            count_frame(rows, experts, run["class_expert_counts"], "class"),
        )
    )
write_report(table, METRICS, note, "SCCTS clustering", dict(sm.output), counts)
panels = []
for path in sm.input.first_seed:
    run = read_json(path)
    scores = {
        "ARI routing/pairs": run["ari_routing_pairs"],
        "ARI routing/classes": run["ari_routing_classes"],
        "ARI K-means": run["ari_kmeans_contexts"],
    }
    panels.append(
        Fig6Panel(
            variant_label(run_ids(path)["variant"]),
            np.asarray(run["contexts"]),
            np.asarray(run["classes"]),
            np.asarray(run["kmeans_contexts"]),
            run["class_names"],
            np.asarray(run["class_expert_counts"]),
            scores,
        )
    )
fig = plot_fig6(panels, f"SCCTS contexts, PCA ({sm.params.scale} scale)", row_labels=ROW)
fig.savefig(sm.output.fig, dpi=130)
log.info("\n%s", table.to_string())
