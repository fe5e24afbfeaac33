"""Rule script: routing of the training environments (experts, gate, purity, ARI)."""

from mixer.experiment import load_trained, routing_summary
from mixer.io.datasets import read_dataset
from mixer.io.runs import write_json
from mixer.runlog import configure_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
spec = sm.params.run["spec"]
model, contexts = load_trained(spec, sm.input.model)
families = read_dataset(sm.input.train)["family"].values
result = routing_summary(model, contexts, families)
write_json(sm.output[0], {"families": families.tolist(), **result})
log.info("routes %s; purity %.3f, ARI %.3f", result["routes"], result["purity"], result["ari"])
