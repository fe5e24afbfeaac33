"""Rule script: one run's metrics.json (summary of train, test, adaptation and routing), and the
same test, adaptation and routing metrics added to the run's MLflow run."""

from mixer.io.runs import read_json, tracking_reference, write_json
from mixer.runlog import configure_logging, run_label
from mixer.tracking import log_to_run

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
wc = sm.wildcards
log = configure_logging(sm.log[0], run=run_label(wc.experiment, wc.backbone, wc.variant, wc.seed))
train, test = read_json(sm.input.train), read_json(sm.input.eval)
adapt, routing = read_json(sm.input.adapt), read_json(sm.input.routing)
metrics = {
    **train,
    "test_rel_mse": test["rel_mse"],
    "test_mse": test["mse"],
    "test_tprmse": test["tprmse"],
    "adapt_rel_mse": adapt["rel_mse"],
    "adapt_mse": adapt["mse"],
    "adapt_tprmse": adapt["tprmse"],
    "routing_purity": routing["purity"],
    "routing_ari": routing["ari"],
    "experts_used": routing["experts_used"],
    "test_per_family_rel_mse": test["per_family_rel_mse"],
    "adapt_per_family_rel_mse": adapt["per_family_rel_mse"],
}
write_json(sm.output[0], metrics)
left_out = log_to_run(
    tracking_reference(sm.input.model),
    {
        "test/rel_mse": test["rel_mse"],
        "test/mse": test["mse"],
        "test/tprmse": test["tprmse"],
        "adapt/rel_mse": adapt["rel_mse"],
        "adapt/mse": adapt["mse"],
        "adapt/tprmse": adapt["tprmse"],
        "adapt/seconds": adapt["adapt_seconds"],
        "routing/purity": routing["purity"],
        "routing/ari": routing["ari"],
        "routing/experts_used": routing["experts_used"],
    },
    tags={"test/finite": test["finite"], "adapt/finite": adapt["finite"]},
)
if left_out:
    log.warning("not logged to MLflow (unknown or not finite): %s", ", ".join(left_out))
log.info("wrote %s", sm.output[0])
