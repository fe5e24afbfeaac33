"""Rule script: Epilepsy2 classification table (mean ± std over seeds, confusion matrices
summed over seeds) as CSV, Markdown and HTML, and Fig. 7 (first seed)."""

from typing import Any

import numpy as np

from mixer.io.runs import read_json, run_ids, runs_frame
from mixer.plotting.downstream import Fig7Panel, plot_fig7
from mixer.runlog import configure_logging
from mixer.tables import count_frame, seeds_note, summary_table, variant_label, write_report

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
METRICS = {
    "accuracy": "CV accuracy",
    "balanced_accuracy": "CV balanced accuracy",
    "routing_purity": "Routing purity (co-trained contexts)",
}
runs = [read_json(p) for p in sm.input.runs]
table = summary_table(
    runs_frame(list(sm.input.runs), list(METRICS)), list(METRICS), sm.params.scale
)
first = runs[0]
note = (
    f"Scale: {sm.params.scale}. {seeds_note(table['seeds'])} The context of every series "
    f"(the model's training series and the held-out ones alike) is re-inferred from 0 by "
    f"{first['adapt_steps']} adaptation steps of the frozen model; a standardised logistic "
    f"regression is scored by stratified {first['folds']}-fold cross-validation over all "
    f"{first['n_series']} series (pooled out-of-fold predictions; folds and classifier "
    f"seeded by the run's seed). Majority-class baseline: always "
    f"'{first['majority_label']}', accuracy {first['majority_accuracy']:.3f}, balanced "
    f"accuracy {first['majority_balanced_accuracy']:.3f}. Adaptation converged in "
    f"{sum(r['adaptation']['converged'] for r in runs)} of {len(runs)} runs. Held-out set: "
    f"{first['heldout']}. Labels: {first['label_polarity']}."
)
confusion: dict[str, tuple[Any, int]] = {}
for path, run in zip(sm.input.runs, runs, strict=True):
    ids = run_ids(path)
    key = f"{variant_label(ids['variant'])} ({ids['backbone']})"
    total, seeds = confusion.get(key, (0, 0))
    confusion[key] = (total + np.asarray(run["confusion_matrix"]), seeds + 1)
labels = first["labels"]
counts = [
    (
        key,
        f"confusion matrix summed over {seeds} seed(s), rows true, columns predicted",
        count_frame(labels, labels, total, "true \\ predicted"),
    )
    for key, (total, seeds) in confusion.items()
]
write_report(table, METRICS, note, "Epilepsy2 classification", dict(sm.output), counts)
panels = [
    Fig7Panel(
        variant_label(run_ids(p)["variant"]),
        np.asarray(r["train_contexts"]),
        np.asarray(r["train_labels"]),
        np.asarray(r["heldout_contexts"]),
        np.asarray(r["heldout_labels"]),
        r["accuracy"],
    )
    for p, r in zip(sm.input.first_seed, map(read_json, sm.input.first_seed), strict=True)
]
fig = plot_fig7(panels, {k: k for k in labels}, f"Epilepsy2 contexts ({sm.params.scale} scale)")
fig.savefig(sm.output.fig, dpi=130)
log.info("\n%s", table.to_string())
