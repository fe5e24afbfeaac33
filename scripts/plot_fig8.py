"""Rule script: Fig. 8 (gate heatmaps during training, naive MoE above MixER)."""

from mixer.io.runs import read_history, run_identity
from mixer.plotting.labels import family_names
from mixer.plotting.runs import plot_fig8
from mixer.runlog import configure_logging
from mixer.tables import backbone_label, variant_label

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
histories = {}
runs = [(run_identity(p), p) for p in sm.input.histories]
for run, path in sorted(runs, key=lambda item: (item[0].kind == "mixer", item[1])):  # naive on top
    label = f"{backbone_label(run.backbone)} {variant_label(run.variant)}, seed {run.seed}"
    histories[label] = read_history(path)
fig = plot_fig8(
    histories,
    sm.params.moments,
    f"{sm.wildcards.experiment}: gate probabilities ({sm.params.scale} scale)",
    family_names(sm.params.dataset),
)
fig.savefig(sm.output[0], dpi=130)
log.info("wrote %s", sm.output[0])
