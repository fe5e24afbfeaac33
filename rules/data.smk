# Data stage: simulate or load every dataset into results/data/{dataset}/{split}.zarr.

from mixer.data.registry import IVP_DATASETS
from mixer.data.splits import IVP_SPLITS


rule simulate_ivp:
    """Simulate an initial-value-problem dataset (ODEBench, LV, GO, SM), all splits at once."""
    output:
        [directory(f"results/data/{{dataset}}/{split}.zarr") for split in IVP_SPLITS],
    wildcard_constraints:
        dataset="|".join(IVP_DATASETS),
    params:
        name=lambda wc: wc.dataset,
        spec=lambda wc: PLAN.dataset_section(wc.dataset),
        seed=config["seed"],
        scale=config["scale"],
        splits=list(IVP_SPLITS),
    log:
        "results/logs/data/{dataset}.log",
    threads: 2
    conda:
        "../environment.yml"
    script:
        "../scripts/build_dataset.py"


rule simulate_sccts:
    """Generate (or read from the UCI file) the Synthetic Control Chart Time Series."""
    output:
        directory("results/data/sccts/train.zarr"),
    input:
        lambda wc: (
            [config["data"]["sccts"]["path"]]
            if config["data"]["sccts"]["source"] == "file"
            else []
        ),
    params:
        name="sccts",
        spec=lambda wc: PLAN.dataset_section("sccts"),
        seed=config["seed"],
        scale=config["scale"],
        splits=["train"],
    log:
        "results/logs/data/sccts.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/build_dataset.py"


rule load_epilepsy2:
    """Read the Epilepsy2 .ts files from the configured directory."""
    output:
        directory("results/data/epilepsy2/train.zarr"),
        directory("results/data/epilepsy2/adapt_train.zarr"),
    input:
        lambda wc: epilepsy2_files(config["data"]["epilepsy2"]["directory"]),
    params:
        name="epilepsy2",
        spec=lambda wc: PLAN.dataset_section("epilepsy2"),
        seed=config["seed"],
        scale=config["scale"],
        splits=["train", "adapt_train"],
    log:
        "results/logs/data/epilepsy2.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/build_dataset.py"


rule plot_data:
    """Sanity figure: a few training trajectories per family."""
    input:
        "results/data/{dataset}/train.zarr",
    output:
        report(
            "results/figures/data_{dataset}.png",
            caption="../workflow/report/data.rst",
            category="Data",
        ),
    params:
        per_family=config["figures"]["data_trajectories_per_family"],
        scale=config["scale"],
    log:
        "results/logs/figures/data_{dataset}.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_data.py"
