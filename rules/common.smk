# Shared helpers: config validation (before any job runs) and target lists.

import sys
from pathlib import Path

import yaml

from mixer.config import ConfigError, config_hash, validate_config
from mixer.data.registry import epilepsy2_available, split_names
from mixer.experiment import parse_variant

RESULTS = Path("results")

with open(workflow.source_path("../workflow/schemas/config.schema.yaml")) as _fh:
    _SCHEMA = yaml.safe_load(_fh)

try:
    validate_config(config, _SCHEMA)
except ConfigError as _err:
    raise WorkflowError(str(_err)) from None


def dataset_section(dataset):
    """The config section that fully determines a dataset (rerun trigger and provenance)."""
    section = dict(config["data"][dataset])
    if dataset not in ("sccts", "epilepsy2"):
        section.update(config["simulation"])
    return section


def active_datasets():
    """Configured datasets, without Epilepsy2 when its files are absent (said once)."""
    names = list(config["datasets"])
    if "epilepsy2" in names:
        directory = config["data"]["epilepsy2"]["directory"]
        if not epilepsy2_available(directory):
            names.remove("epilepsy2")
            print(
                f"[mixer] Epilepsy2 skipped: no Epilepsy2_TRAIN.ts in '{directory}'. To include it, "
                "download Epilepsy2 from the UEA/UCR time-series classification archive "
                "(https://www.timeseriesclassification.com, dataset 'Epilepsy2', .ts format), "
                "unpack it and set data.epilepsy2.directory to the folder holding the .ts files.",
                file=sys.stderr,
            )
    return names


ACTIVE_DATASETS = active_datasets()



def dataset_splits(dataset):
    return split_names(dataset)


def data_targets():
    zarrs = [
        RESULTS / "data" / d / f"{s}.zarr" for d in ACTIVE_DATASETS for s in dataset_splits(d)
    ]
    figures = [RESULTS / "figures" / f"data_{d}.png" for d in ACTIVE_DATASETS]
    return [str(p) for p in zarrs + figures]


def epilepsy2_files(directory):
    """The .ts files the Epilepsy2 dataset is read from (a change in them reruns the rule)."""
    names = ["Epilepsy2_TRAIN.ts", "Epilepsy2_TEST.ts"]
    return [str(Path(directory) / n) for n in names if (Path(directory) / n).exists()]


# --------------------------------------------------------------------------- experiments

RUN_DIR = "results/runs/{experiment}/{backbone}/{variant}/seed{seed}"


wildcard_constraints:
    experiment="[a-z0-9]+",
    backbone="[a-z]+",
    variant="(mixer|naive)[0-9]+",
    seed="[0-9]+",


def enabled_experiments():
    """Experiments switched on whose dataset is built by this config."""
    return {
        name: exp
        for name, exp in config["experiments"].items()
        if exp["enabled"] and exp["dataset"] in ACTIVE_DATASETS
    }


def run_params(wc):
    """The resolved settings of one run: a change reruns exactly the runs it touches."""
    from mixer.experiment import run_spec

    exp = config["experiments"][wc.experiment]
    spec = run_spec(config["models"], exp, wc.backbone, wc.variant, int(wc.seed))
    return {"spec": spec, "hash": spec.hash(), "experiment": wc.experiment}


def run_dirs(experiment):
    exp = config["experiments"][experiment]
    return [
        RUN_DIR.format(experiment=experiment, backbone=b, variant=v, seed=s)
        for b in exp["backbones"]
        for v in exp["variants"]
        for s in exp["seeds"]
    ]


def run_files(experiment, name):
    return [f"{d}/{name}" for d in run_dirs(experiment)]


def fig8_histories(experiment):
    """Histories of the first seed, for every backbone and every M > 1 variant."""
    exp = config["experiments"][experiment]
    seed = exp["seeds"][0]
    return [
        f"{RUN_DIR}/history.zarr".format(experiment=experiment, backbone=b, variant=v, seed=seed)
        for b in exp["backbones"]
        for v in exp["variants"]
        if parse_variant(v)[0] > 1
    ]


def mlflow_store_input(wc):
    return [ancient("results/mlflow.db")] if config["tracking"]["mlflow"] else []


def experiment_targets(experiment):
    """Every table and figure of one experiment."""
    return [
        f"results/tables/{experiment}.csv",
        f"results/tables/{experiment}.md",
        f"results/figures/fig2_{experiment}.png",
        f"results/figures/fig2_{experiment}.pdf",
        f"results/figures/fig8_routing_{experiment}.png",
    ]


def all_experiment_targets():
    return [t for name in enabled_experiments() for t in experiment_targets(name)]
