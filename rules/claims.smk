# Which of the paper's findings this run reproduces (the claims table), and the learning curves
# of every experiment; both built only from files under results/.

# The run file holding the numbers the claims read: per-run metrics.json for the IVP
# experiments, the downstream analyses' own files for SCCTS and Epilepsy2.
CLAIM_RUN_FILES = {"sccts": "clustering.json", "epilepsy2": "classification.json"}

# The claims table's files, part of the `all` target (all_experiment_targets, common.smk).
CLAIMS_TABLES = [f"results/tables/claims.{ext}" for ext in ("csv", "md", "html")]


rule claims:
    """The claims table: one row per finding of the paper, its evidence, our numbers and a
    verdict (mixer/claims/); the comparisons behind each claim in claims_comparisons.csv."""
    input:
        # the run files of every experiment this config builds, named by experiment
        unpack(lambda wc: {name: run_files(name, CLAIM_RUN_FILES.get(name, "metrics.json"))
                           for name in enabled_experiments()}),
    output:
        csv="results/tables/claims.csv",
        comparisons="results/tables/claims_comparisons.csv",
        md=report(
            "results/tables/claims.md",
            caption="../workflow/report/claims.rst",
            category="Claims",
        ),
        html=report(
            "results/tables/claims.html",
            caption="../workflow/report/claims.rst",
            category="Claims",
        ),
    params:
        experiments=lambda wc: list(enabled_experiments()),
        scale=config["scale"],
    log:
        "results/logs/tables/claims.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/claims.py"


rule plot_learning_curves:
    """Validation score against outer step and wall time, per model and seed. Wall time: the
    history's per-step seconds when it has them, else the progress lines of train.log."""
    input:
        histories=lambda wc: run_files(wc.experiment, "history.zarr"),
        logs=lambda wc: run_files(wc.experiment, "train.log"),
    output:
        report(
            "results/figures/learning_curves_{experiment}.png",
            caption="../workflow/report/learning_curves.rst",
            category="Learning curves",
        ),
    params:
        scale=config["scale"],
    log:
        "results/logs/figures/learning_curves_{experiment}.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_learning_curves.py"
