"""Rule script: Fig. 8 (gate heatmaps during training, naive MoE above MixER)."""

from pathlib import Path

from mixer.io.runs import read_history
from mixer.plotting.labels import family_names
from mixer.plotting.runs import plot_fig8
from mixer.runlog import configure_logging
from mixer.tables import backbone_label, variant_label

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
histories = {}
for path in sorted(sm.input.histories, key=lambda p: ("mixer" in Path(p).parts[-3], p)):
    backbone, variant, seed = Path(path).parts[-4:-1]
    label = f"{backbone_label(backbone)} {variant_label(variant)}, seed {seed[4:]}"
    histories[label] = read_history(path)
fig = plot_fig8(
    histories,
    sm.params.moments,
    f"{sm.wildcards.experiment}: gate probabilities ({sm.params.scale} scale)",
    family_names(sm.params.dataset),
)
fig.savefig(sm.output[0], dpi=130)
log.info("wrote %s", sm.output[0])
