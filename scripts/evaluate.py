"""Rule script: test-split metrics of a trained run (trained contexts; the TRAIN columns)."""

from mixer.envdata import EnvData
from mixer.experiment import load_trained, score
from mixer.io.datasets import read_dataset
from mixer.io.runs import write_json
from mixer.runlog import configure_logging

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
spec = sm.params.run["spec"]
model, contexts = load_trained(spec, sm.input.model)
test_ds = read_dataset(sm.input.test)
# Trajectories in chunks of the validation split's count: the training job compiled that.
val_traj = read_dataset(sm.input.val).sizes["traj"]
result = score(model, contexts, EnvData.from_dataset(test_ds), test_ds["family"].values,
               spec.train.solver, traj_chunk=val_traj)
write_json(sm.output[0], {"split": "test", **result})
log.info("test rel. MSE %.4g, MSE %.4g", result["rel_mse"], result["mse"])
