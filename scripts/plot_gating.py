"""Rule script: Fig. 5 (one run: gate heatmap + routed-expert histogram) or Fig. 9 (one gate
heatmap per dataset), from routing.json files."""

import numpy as np

from mixer.io.runs import read_json, run_identity, run_ids
from mixer.plotting.gating import plot_gate_heatmap_histogram, plot_gate_heatmaps
from mixer.plotting.labels import family_names
from mixer.runlog import configure_logging
from mixer.tables import backbone_label, variant_label

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
scale = sm.params.scale
if sm.params.kind == "fig5":
    routing = read_json(sm.input[0])
    ids = run_ids(sm.input[0])
    title = (
        f"{backbone_label(ids['backbone'])} {variant_label(ids['variant'])} seed "
        f"{ids['seed']}: gate at the end of training ({scale} scale)"
    )
    fig = plot_gate_heatmap_histogram(
        np.asarray(routing["gate_probs"]),
        np.asarray(routing["routes"]),
        title,
        routing["families"],
        family_names(sm.params.dataset),
    )
else:
    panels = {
        run_identity(p).experiment.upper(): np.asarray(read_json(p)["gate_probs"]) for p in sm.input
    }
    ids = run_ids(sm.input[0])
    fig = plot_gate_heatmaps(
        panels,
        f"{backbone_label(ids['backbone'])} "
        f"{variant_label(ids['variant'])}: gate "
        f"probabilities ({scale} scale)",
    )
fig.savefig(sm.output[0], dpi=130)
log.info("wrote %s", sm.output[0])
