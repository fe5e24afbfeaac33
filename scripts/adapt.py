"""Rule script: adapt contexts on adapt_train (model frozen), score on adapt_test."""

import time

import numpy as np

from mixer.envdata import EnvData
from mixer.experiment import adapt_run, load_trained, routing_summary, score
from mixer.io.datasets import read_dataset
from mixer.io.runs import write_json
from mixer.runlog import configure_logging, run_label, warn_nonfinite

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
run = sm.params.run["spec"]
label = run_label(sm.params.run["experiment"], run.backbone, run.variant, run.seed)
log = configure_logging(sm.log[0], run=label)
model, _ = load_trained(run, sm.input.model)
fit_ds, test_ds = read_dataset(sm.input.adapt_train), read_dataset(sm.input.adapt_test)
start = time.perf_counter()
contexts, losses = adapt_run(run, model, EnvData.from_dataset(fit_ds))
seconds = time.perf_counter() - start
families = test_ds["family"].values
result = score(model, contexts, EnvData.from_dataset(test_ds), families, run.adapt.solver)
routing = routing_summary(model, contexts, families)
write_json(
    sm.output[0],
    {
        "split": "adapt_test",
        "run": run.identity(sm.params.run["experiment"]).as_dict(),
        "adapt_seconds": seconds,
        "final_adapt_loss": np.asarray(losses[-1]).tolist(),
        "contexts": np.asarray(contexts).tolist(),
        "routing": routing,
        **result,
    },
)
warn_nonfinite(log, label, "adapt_test", result)
log.info(
    "adapted %d envs in %.1f s; adapt_test rel. MSE %.4g",
    contexts.shape[0],
    seconds,
    result["rel_mse"],
)
