"""Rule script: one run's metrics.json (summary of train, test, adaptation and routing)."""

from mixer.io.runs import read_json, write_json
from mixer.runlog import configure_logging, run_label

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
log.info("wrote %s", sm.output[0])
