# Shared helpers: config validation (before any job runs) and target lists.

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import yaml

from mixer.config import ConfigError, config_hash, validate_config
from mixer.data.registry import epilepsy2_available, split_names
from mixer.experiment import parse_variant
from mixer.jobenv import apply_job_environment

RESULTS = Path("results")

with open(workflow.source_path("../workflow/schemas/config.schema.yaml")) as _fh:
    _SCHEMA = yaml.safe_load(_fh)

try:
    validate_config(config, _SCHEMA)
except ConfigError as _err:
    raise WorkflowError(str(_err)) from None


# Every job inherits the persistent XLA compilation cache and, with `device: cpu`, a JAX pinned
# to the CPU (mixer/jobenv.py).
apply_job_environment(os.environ, config.get("jax_cache_dir"), config["device"])


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
    # the config's experiment names only (the schema lists all of them), so that
    # results/tables/claims.{csv,md} (rules/claims.smk) is not an experiment's table
    experiment="|".join(sorted(config["experiments"])),
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


def resolved_spec(wc):
    """The RunSpec of one run (every setting, adaptation included)."""
    from mixer.experiment import run_spec

    exp = config["experiments"][wc.experiment]
    return run_spec(config["models"], exp, wc.backbone, wc.variant, int(wc.seed))


def run_params(wc):
    """The resolved settings of one run: a change reruns exactly the runs it touches."""
    return {"spec": resolved_spec(wc), "experiment": wc.experiment}


def training_params(wc):
    """What the train job depends on, as plain data: the settings training uses (data set
    name, seed, model, TrainConfig), not the adaptation settings. Snakemake compares plain-data
    params only, so this is the train rule's rerun trigger; the data is its input."""
    return resolved_spec(wc).training_settings()


def run_dir(experiment, backbone, variant, seed):
    return RUN_DIR.format(experiment=experiment, backbone=backbone, variant=variant, seed=seed)


def run_dirs(experiment):
    from mixer.experiment import experiment_runs

    runs = experiment_runs(config["experiments"][experiment])
    return [run_dir(experiment, b, v, s) for b, v, s in runs]


def run_files(experiment, name):
    return [f"{d}/{name}" for d in run_dirs(experiment)]


def first_seed_file(experiment, backbone, variant, name):
    """A file of the first seed's run of (backbone, variant) in ``experiment``."""
    exp = config["experiments"][experiment]
    return f"{run_dir(experiment, backbone, variant, exp['seeds'][0])}/{name}"


def largest_mixer(experiment, backbone, m=None):
    """The run variant shown in the gating figures: mixer<m>, or the largest MixER variant."""
    from mixer.experiment import experiment_runs

    variants = {v for b, v, _ in experiment_runs(config["experiments"][experiment]) if b == backbone}
    mixers = sorted((parse_variant(v)[0], v) for v in variants if not parse_variant(v)[1])
    if m is not None and f"mixer{m}" in variants:
        return f"mixer{m}"
    if not mixers or mixers[-1][0] < 2:
        raise WorkflowError(f"experiment '{experiment}' has no MixER-M (M > 1) run with backbone "
                            f"'{backbone}' (config key figures.backbone or experiments.{experiment})")
    return mixers[-1][1]


def val_input(wc):
    """Validation split of a run's environments; series datasets (no held-out initial
    conditions) select on their training series."""
    dataset = config["experiments"][wc.experiment]["dataset"]
    split = "val" if "val" in dataset_splits(dataset) else "train"
    return f"results/data/{wc.experiment}/{split}.zarr"


def fig8_histories(experiment):
    """Histories of the first seed, for every backbone and every M > 1 variant."""
    from mixer.experiment import experiment_runs

    exp = config["experiments"][experiment]
    seed = exp["seeds"][0]
    return [
        f"{run_dir(experiment, b, v, seed)}/history.zarr"
        for b, v, s in experiment_runs(exp)
        if s == seed and parse_variant(v)[0] > 1
    ]


def mlflow_store_input(wc):
    return [ancient("results/mlflow.db")] if config["tracking"]["mlflow"] else []


def fig10_wildcards():
    """The run drawn in Figs. 10-11: MixER-10 of figures.backbone, first seed, ODEBench-10B."""
    exp = config["experiments"]["odebench10b"]
    backbone = config["figures"]["backbone"]
    return dict(
        experiment="odebench10b",
        backbone=backbone,
        variant=largest_mixer("odebench10b", backbone, 10),
        seed=exp["seeds"][0],
    )


def first_seed_runs(experiment, name):
    """``name`` in the run folders of the experiment's first seed."""
    exp = config["experiments"][experiment]
    return [f for f in run_files(experiment, name) if f"/seed{exp['seeds'][0]}/" in f]


TABLE4_EXPERIMENTS = ("lv", "go", "sm")


def table4_experiments():
    return [e for e in TABLE4_EXPERIMENTS if e in enabled_experiments()]


def experiment_targets(experiment):
    """Every table and figure an experiment contributes to."""
    targets = {
        "odebench2": ["tables/odebench2.csv", "tables/odebench2.md", "figures/fig2_odebench2.png",
                      "figures/fig2_odebench2.pdf", "figures/fig8_routing_odebench2.png"],
        "odebench10a": ["tables/table2_odebench10a.csv", "tables/table2_odebench10a.md"],
        "odebench10b": ["tables/table3_odebench10b.csv", "tables/table3_odebench10b.md",
                        "figures/fig5_gating_odebench10b.png",
                        "figures/fig10_trajectories_odebench10b.png",
                        "figures/fig11_trajectories_odebench10b.png"],
        "sccts": ["tables/sccts_clustering.csv", "tables/sccts_clustering.md",
                  "figures/fig6_sccts.png"],
        "epilepsy2": ["tables/epilepsy2_classification.csv",
                      "tables/epilepsy2_classification.md", "figures/fig7_epilepsy2.png"],
    }
    for name in TABLE4_EXPERIMENTS:
        targets[name] = ["tables/table4_lv_go_sm.csv", "tables/table4_lv_go_sm.md",
                         "figures/fig9_gating_lv_go_sm.png"]
    learning_curves = f"figures/learning_curves_{experiment}.png"  # rules/claims.smk
    return [f"results/{t}" for t in [*targets[experiment], learning_curves]]


def target_inputs(experiment):
    """The files of the named target ``experiment``; an error saying why when this config does
    not build it (its dataset is not in `datasets:`, Epilepsy2's files are missing, or the
    experiment is switched off), rather than a silent "Nothing to be done"."""
    if experiment in enabled_experiments():
        return experiment_targets(experiment)
    dataset = config["experiments"][experiment]["dataset"]
    if dataset not in config["datasets"]:
        why = f"its dataset '{dataset}' is not in `datasets:` {list(config['datasets'])}"
    elif dataset not in ACTIVE_DATASETS:
        why = f"the files of its dataset '{dataset}' are missing (see the message above)"
    else:
        why = f"experiments.{experiment}.enabled is false"
    raise WorkflowError(f"target '{experiment}' builds nothing with this config: {why}")


def all_experiment_targets():
    """Every experiment's targets and the claims table (CLAIMS_TABLES, rules/claims.smk)."""
    names = enabled_experiments()
    targets = [t for name in names for t in experiment_targets(name)]
    return list(dict.fromkeys(targets + CLAIMS_TABLES))
