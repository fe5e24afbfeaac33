"""Rule script: create the MLflow store and one experiment per dataset, once."""

from pathlib import Path

from mixer.runlog import configure_logging
from mixer.tracking import ensure_store

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
db = Path(sm.output[0])  # relative to the working directory, like the artifact locations
ids = ensure_store(f"sqlite:///{db}", db.parent / "mlartifacts", sm.params.experiments)
log.info(
    "MLflow store %s with experiments %s (artifacts under %s)", db, ids, db.parent / "mlartifacts"
)
