"""Rule script: everything after training, in one job that loads the model once: test-split
metrics with the trained contexts (TRAIN columns), the routing of the training environments,
adaptation of contexts on adapt_train scored on adapt_test (ADAPT columns), the run's
metrics.json, and those metrics added to the training's MLflow run."""

import time

import numpy as np

from mixer.envdata import EnvData
from mixer.experiment import adapt_run, load_trained, routing_summary, score
from mixer.io.datasets import read_dataset
from mixer.io.runs import read_json, tracking_reference, write_json
from mixer.run_summary import run_metrics, tracked_metrics
from mixer.runlog import configure_logging, run_label, warn_nonfinite
from mixer.tracking import log_to_run

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
run = sm.params.run["spec"]
label = run_label(sm.params.run["experiment"], run.backbone, run.variant, run.seed)
log = configure_logging(sm.log[0], run=label)
model, contexts = load_trained(run, sm.input.model)
identity = run.identity(sm.params.run["experiment"]).as_dict()

# TRAIN: the test split of the training environments, in chunks of the validation split's
# trajectory count (the training job compiled that). The adaptation split is scored by the
# same program (groups of as many environments as training has): one compilation, not two.
test_ds = read_dataset(sm.input.test)
chunks = {"traj_chunk": read_dataset(sm.input.val).sizes["traj"], "env_chunk": test_ds.sizes["env"]}
test = score(
    model,
    contexts,
    EnvData.from_dataset(test_ds),
    test_ds["family"].values,
    run.train.solver,
    **chunks,
)
write_json(sm.output.eval, {"split": "test", "run": identity, **test})
warn_nonfinite(log, label, "test", test)
log.info("test rel. MSE %.4g, MSE %.4g", test["rel_mse"], test["mse"])

families = read_dataset(sm.input.train)["family"].values
routing = routing_summary(model, contexts, families)
write_json(sm.output.routing, {"run": identity, "families": families.tolist(), **routing})
log.info("routes %s; purity %.3f, ARI %.3f", routing["routes"], routing["purity"], routing["ari"])

# ADAPT: new contexts on adapt_train (model and gate frozen), scored on adapt_test.
fit_ds, adapt_ds = read_dataset(sm.input.adapt_train), read_dataset(sm.input.adapt_test)
start = time.perf_counter()
adapted, losses = adapt_run(run, model, EnvData.from_dataset(fit_ds))
seconds = time.perf_counter() - start
adapt_families = adapt_ds["family"].values
adapt = score(
    model, adapted, EnvData.from_dataset(adapt_ds), adapt_families, run.adapt.solver, **chunks
)
adapt = {
    "split": "adapt_test",
    "run": identity,
    "adapt_seconds": seconds,
    "final_adapt_loss": np.asarray(losses[-1]).tolist(),
    "contexts": np.asarray(adapted).tolist(),
    "routing": routing_summary(model, adapted, adapt_families),
    **adapt,
}
write_json(sm.output.adapt, adapt)
warn_nonfinite(log, label, "adapt_test", adapt)
log.info(
    "adapted %d envs in %.1f s; adapt_test rel. MSE %.4g",
    adapted.shape[0],
    seconds,
    adapt["rel_mse"],
)

write_json(sm.output.metrics, run_metrics(read_json(sm.input.summary), test, adapt, routing))
metrics, tags = tracked_metrics(test, adapt, routing)
left_out = log_to_run(tracking_reference(sm.input.model), metrics, tags=tags)
if left_out:
    log.warning("not logged to MLflow (unknown or not finite): %s", ", ".join(left_out))
log.info("wrote %s", sm.output.metrics)
