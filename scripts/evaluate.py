"""Rule script: test-split metrics of a trained run (trained contexts; the TRAIN columns)."""

from mixer.envdata import EnvData
from mixer.experiment import load_trained, score
from mixer.io.datasets import read_dataset
from mixer.io.runs import tracking_reference, write_json
from mixer.runlog import configure_logging, run_label, warn_nonfinite
from mixer.tracking import log_to_run

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
run = sm.params.run["spec"]
label = run_label(sm.params.run["experiment"], run.backbone, run.variant, run.seed)
log = configure_logging(sm.log[0], run=label)
model, contexts = load_trained(run, sm.input.model)
test_ds = read_dataset(sm.input.test)
# Trajectories in chunks of the validation split's count: the training job compiled that.
val_traj = read_dataset(sm.input.val).sizes["traj"]
result = score(
    model,
    contexts,
    EnvData.from_dataset(test_ds),
    test_ds["family"].values,
    run.train.solver,
    traj_chunk=val_traj,
)
identity = run.identity(sm.params.run["experiment"]).as_dict()
write_json(sm.output[0], {"split": "test", "run": identity, **result})
warn_nonfinite(log, label, "test", result)
log_to_run(
    tracking_reference(sm.input.model),
    {"test/rel_mse": result["rel_mse"], "test/mse": result["mse"], "test/tprmse": result["tprmse"]},
    tags={"test/finite": result["finite"]},
)
log.info("test rel. MSE %.4g, MSE %.4g", result["rel_mse"], result["mse"])
