"""Rule script: train one (experiment, backbone, variant, seed) run and store its results."""

import dataclasses
from pathlib import Path

import numpy as np

from mixer.envdata import EnvData
from mixer.experiment import train_run
from mixer.io.datasets import read_dataset
from mixer.io.runs import read_json, save_model, write_history, write_json
from mixer.io.training_key import checkpoint_dir, training_key
from mixer.layer import active_param_count
from mixer.plotting.runs import plot_training_curves
from mixer.provenance import provenance
from mixer.runlog import configure_logging, keep_attempts, run_label, run_name
from mixer.tracking import MlflowTracker, NullTracker, Tracker
from mixer.train import validation_metric

sm = snakemake  # type: ignore[name-defined]  # noqa: F821  (injected by Snakemake)
run, experiment = sm.params.spec, sm.wildcards.experiment
name = run_name(run.backbone, run.variant, run.seed)
label = run_label(experiment, run.backbone, run.variant, run.seed)
log = configure_logging(sm.log[0], run=label)
record = provenance(
    sm.params.training, run.seed, sm.params.scale, device=sm.config["device"]
)  # stops here when that device is absent
train_ds = read_dataset(sm.input.train)
train, val = EnvData.from_dataset(train_ds), EnvData.from_dataset(read_dataset(sm.input.val))
key = training_key(run.training_hash(), train, val)  # data, seed, settings, code (not adaptation)
record.update(key.metadata())
identity = run.identity(experiment)  # recorded in every result file of the run
run_dir = Path(sm.output.model).parent
checkpoints = checkpoint_dir(run_dir / "checkpoints", key)  # logs stale folders of other keys
keep_attempts(log, sm.log[0], checkpoints / "train.log")  # train.log: every attempt
log.info("training key %s (%s)", key.digest, key)
# One MLflow run per training, over every attempt: its reference is kept next to the checkpoint.
reference_file = checkpoints / "tracking.json"
earlier = read_json(reference_file) if reference_file.exists() else {}
tracker: Tracker
if sm.params.mlflow:  # relative to the working directory: results/ can move
    tracker = MlflowTracker(
        # the store's ready marker (rule mlflow_ready) holds the store's path
        sm.config["tracking"].get("uri")
        or f"sqlite:///{Path(sm.input.store[0]).read_text().strip()}",
        experiment,
        name,
        resume_run_id=earlier.get("mlflow_run_id"),
    )
else:
    tracker = NullTracker()

with tracker:
    write_json(reference_file, tracker.reference())
    tracker.log_params({"run": dataclasses.asdict(run), "dataset": run.dataset})
    tracker.set_tags({**record, "backbone": run.backbone, "variant": run.variant})
    result = train_run(
        run, train, val, tracker=tracker, checkpoint_dir=str(checkpoints), logger=log
    )
    metric = validation_metric(result.model, run.train)  # what best_val_rel_mse holds
    save_model(
        sm.output.model,
        result.model,
        result.contexts,
        {
            "num_envs": train.num_envs,
            "state_size": int(train.x.shape[-1]),
            "tracking": tracker.reference(),
            "run": identity.as_dict(),
            **record,
        },
    )
    families = train_ds["family"].values
    write_history(
        sm.output.history,
        result.history,
        np.asarray(result.contexts),
        families,
        {
            "best_step": result.best_step,
            "selection_metric": metric,
            "run": identity.to_json(),
            **record,
        },
    )
    summary = {
        "best_step": result.best_step,
        "best_val_rel_mse": result.best_val_rel_mse,
        "selection_metric": metric,
        "train_seconds": result.train_seconds,
        "active_params": active_param_count(result.model),
        "run": identity.as_dict(),
        **tracker.reference(),
        **record,
    }
    write_json(sm.output.summary, summary)
    figure = sm.output.curves
    plot_training_curves(result.history, title=f"{experiment} {name}").savefig(figure, dpi=100)
    tracker.log_artifact(str(figure))
    tracker.log_metrics(
        {"best_val_rel_mse": result.best_val_rel_mse, "train_seconds": result.train_seconds},
        step=result.best_step,
    )
log.info(
    "done: %.1f s of training over every attempt; best validation %s %.4g at outer step %d",
    result.train_seconds,
    metric,
    result.best_val_rel_mse,
    result.best_step,
)
