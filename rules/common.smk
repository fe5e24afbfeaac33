# Shared helpers: config validation (before any job runs) and target lists.

import sys
from pathlib import Path

import yaml

from mixer.config import ConfigError, config_hash, validate_config
from mixer.data.registry import epilepsy2_available, split_names

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
