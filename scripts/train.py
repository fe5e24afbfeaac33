"""Rule script: train one (experiment, backbone, variant, seed) run and store its results."""

import dataclasses
import time
from pathlib import Path

from mixer.envdata import EnvData
from mixer.experiment import train_run
from mixer.io.datasets import read_dataset
from mixer.io.runs import save_model, write_history, write_json
from mixer.io.training_key import checkpoint_dir, training_key
from mixer.layer import active_param_count
from mixer.plotting.runs import plot_training_curves
from mixer.provenance import provenance
from mixer.runlog import configure_logging
from mixer.tracking import MlflowTracker, NullTracker

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = configure_logging(sm.log[0])
spec, experiment = sm.params.spec, sm.wildcards.experiment
record = provenance(sm.params.training, spec.seed, sm.params.scale)
train_ds = read_dataset(sm.input.train)
train, val = EnvData.from_dataset(train_ds), EnvData.from_dataset(read_dataset(sm.input.val))
key = training_key(spec.training_hash(), train, val)  # data, seed, settings, code (not adaptation)
record.update(key.metadata())
run_dir = Path(sm.output.model).parent
name = f"{spec.backbone}-{spec.variant}-seed{spec.seed}"
if sm.params.mlflow:
    db = Path(sm.input.store[0]).resolve()
    tracker = MlflowTracker(f"sqlite:///{db}", experiment, name)
else:
    tracker = NullTracker()
log.info("run %s (training key %s: %s): %s", name, key.digest, key, spec)
checkpoints = checkpoint_dir(run_dir / "checkpoints", key)  # logs stale folders of other keys

with tracker:
    tracker.log_params({"run": dataclasses.asdict(spec), "dataset": spec.dataset})
    tracker.set_tags({**record, "backbone": spec.backbone, "variant": spec.variant})
    start = time.perf_counter()
    result = train_run(spec, train, val, tracker=tracker,
                       checkpoint_dir=str(checkpoints), logger=log)
    seconds = time.perf_counter() - start
    save_model(sm.output.model, result.model, result.contexts,
               {"num_envs": train.num_envs, "state_size": int(train.x.shape[-1]), **record})
    families = train_ds["family"].values
    write_history(sm.output.history, result.history, result.contexts, families,
                  {"best_step": result.best_step, **record})
    summary = {"best_step": result.best_step, "best_val_rel_mse": result.best_val_rel_mse,
               "train_seconds": seconds, "active_params": active_param_count(result.model),
               **record}
    write_json(sm.output.summary, summary)
    figure = run_dir / "training_curves.png"
    plot_training_curves(result.history, title=f"{experiment} {name}").savefig(figure, dpi=100)
    tracker.log_artifact(str(figure))
    tracker.log_metrics({"best_val_rel_mse": result.best_val_rel_mse}, step=result.best_step)
log.info("done in %.1f s; best validation rel. MSE %.4g at outer step %d", seconds,
         result.best_val_rel_mse, result.best_step)
