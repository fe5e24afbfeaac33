"""Rule script: test-split metrics of a trained run (trained contexts; the TRAIN columns) and
the routing of its training environments (experts, gate, purity, ARI)."""

from mixer.envdata import EnvData
from mixer.experiment import load_trained, routing_summary, score
from mixer.io.datasets import read_dataset
from mixer.io.runs import write_json
from mixer.runlog import configure_logging, run_label, warn_nonfinite

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
run = sm.params.run["spec"]
label = run_label(sm.params.run["experiment"], run.backbone, run.variant, run.seed)
log = configure_logging(sm.log[0], run=label)
model, contexts = load_trained(run, sm.input.model)
identity = run.identity(sm.params.run["experiment"]).as_dict()

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
write_json(sm.output.eval, {"split": "test", "run": identity, **result})
warn_nonfinite(log, label, "test", result)
log.info("test rel. MSE %.4g, MSE %.4g", result["rel_mse"], result["mse"])

families = read_dataset(sm.input.train)["family"].values
routing = routing_summary(model, contexts, families)
write_json(sm.output.routing, {"run": identity, "families": families.tolist(), **routing})
log.info("routes %s; purity %.3f, ARI %.3f", routing["routes"], routing["purity"], routing["ari"])
