"""Rule script: build one dataset (all its splits) and write each split to Zarr atomically."""

from mixer.data.registry import build_dataset, spec_from_config
from mixer.io.datasets import write_dataset
from mixer.provenance import provenance
from mixer.runlog import configure_logging

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
name, seed, scale = sm.params.name, int(sm.params.seed), sm.params.scale
spec = spec_from_config(name, sm.params.spec)
log.info("building %s (seed %d, scale %s): %s", name, seed, scale, spec)

splits = build_dataset(name, spec, seed)
record = provenance(sm.params.spec, seed, scale)
for split, path in zip(sm.params.splits, sm.output, strict=True):
    if split not in splits:
        raise KeyError(f"{name}: the builder produced no split {split!r} (got {sorted(splits)})")
    ds = splits[split]
    ds.attrs.update(record)
    write_dataset(ds, path)
    log.info("wrote %s %s: %s", split, dict(ds.sizes), path)
