# Shared helpers: config validation (before any job runs), the job environment and the plan of
# what this config builds (mixer/workflow_plan.py).

import os
import sys

import yaml

from mixer.config import ConfigError, validate_config
from mixer.jobenv import apply_job_environment
from mixer.run_id import VARIANT_PATTERN
from mixer.workflow_plan import (
    RUN_DIR,
    PlanError,
    WorkflowPlan,
    active_datasets,
    epilepsy2_files,
    run_dir,
)

with open(workflow.source_path("../workflow/schemas/config.schema.yaml")) as _fh:
    _SCHEMA = yaml.safe_load(_fh)

try:
    validate_config(config, _SCHEMA)
except ConfigError as _err:
    raise WorkflowError(str(_err)) from None


# Every job inherits the persistent XLA compilation cache and, with `device: cpu`, a JAX pinned
# to the CPU (mixer/jobenv.py).
apply_job_environment(os.environ, config.get("jax_cache_dir"), config["device"])


# What this config builds (targets, run folders, params): mixer/workflow_plan.py. Epilepsy2 is
# left out, with a message, when its files are absent.
_datasets, _skipped = active_datasets(config)
if _skipped:
    print(_skipped, file=sys.stderr)
PLAN = WorkflowPlan(config, _datasets)


wildcard_constraints:
    # the config's experiment names only (the schema lists all of them), so that
    # results/tables/claims.{csv,md} (rules/claims.smk) is not an experiment's table
    experiment="|".join(sorted(config["experiments"])),
    backbone="[a-z]+",
    variant=VARIANT_PATTERN,
    seed="[0-9]+",


# Wildcards -> library calls; a PlanError (a target this config cannot build) stops the
# workflow with its message.


def _run(wc):
    return dict(experiment=wc.experiment, backbone=wc.backbone, variant=wc.variant, seed=wc.seed)


def resolved_spec(wc):
    """The RunSpec of one run (every setting, adaptation included)."""
    return PLAN.run_spec(**_run(wc))


def run_params(wc):
    """The resolved settings of one run: a change reruns exactly the runs it touches."""
    return PLAN.run_params(**_run(wc))


def training_params(wc):
    """What the train job depends on, as plain data (no adaptation settings). Snakemake
    compares plain-data params only, so this is the train rule's rerun trigger."""
    return PLAN.training_params(**_run(wc))


def val_input(wc):
    return PLAN.val_path(wc.experiment)


MLFLOW_STORE = "results/mlflow.db"
MLFLOW_READY = "results/mlflow.ready"


def mlflow_store_input(wc):
    """The store's ready marker (rule mlflow_ready), never the store that jobs write to."""
    return [ancient(MLFLOW_READY)] if config["tracking"]["mlflow"] else []


def largest_mixer(experiment, backbone, m=None):
    try:
        return PLAN.largest_mixer(experiment, backbone, m)
    except PlanError as err:
        raise WorkflowError(str(err)) from None


def fig10_run():
    try:
        return PLAN.fig10_run()
    except PlanError as err:
        raise WorkflowError(str(err)) from None


def target_inputs(experiment):
    """The files of the named target, or an error saying why this config does not build it
    (rather than a silent "Nothing to be done")."""
    try:
        return PLAN.target_inputs(experiment)
    except PlanError as err:
        raise WorkflowError(str(err)) from None
