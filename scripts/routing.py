"""Rule script: routing of the training environments (experts, gate, purity, ARI)."""

from mixer.experiment import load_trained, routing_summary
from mixer.io.datasets import read_dataset
from mixer.io.runs import tracking_reference, write_json
from mixer.runlog import configure_logging, run_label
from mixer.tracking import log_to_run

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
run = sm.params.run["spec"]
label = run_label(sm.params.run["experiment"], run.backbone, run.variant, run.seed)
log = configure_logging(sm.log[0], run=label)
model, contexts = load_trained(run, sm.input.model)
families = read_dataset(sm.input.train)["family"].values
result = routing_summary(model, contexts, families)
identity = run.identity(sm.params.run["experiment"]).as_dict()
write_json(sm.output[0], {"run": identity, "families": families.tolist(), **result})
log_to_run(
    tracking_reference(sm.input.model),
    {
        "routing/purity": result["purity"],
        "routing/ari": result["ari"],
        "routing/experts_used": result["experts_used"],
    },
)
log.info("routes %s; purity %.3f, ARI %.3f", result["routes"], result["purity"], result["ari"])
