"""Rule script: sanity figure of a dataset (a few training trajectories per family)."""

from mixer.io.datasets import read_dataset
from mixer.plotting.data import plot_trajectory_dataset
from mixer.runlog import configure_logging

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
ds = read_dataset(sm.input[0])
fig = plot_trajectory_dataset(ds, n_per_family=int(sm.params.per_family))
fig.suptitle(f"{ds.attrs.get('dataset', '')} train split ({sm.params.scale} scale)")
fig.savefig(sm.output[0], dpi=120, bbox_inches="tight")
log.info("wrote %s", sm.output[0])
