# Which of the paper's findings this run reproduces (the claims table), and the learning curves
# of every experiment; both built only from files under results/.


rule claims:
    """The claims table: one row per finding of the paper, its evidence, our numbers and a
    verdict (mixer/claims/); the comparisons behind each claim in claims_comparisons.csv."""
    input:
        # the run files of every experiment this config builds, named by experiment: per-run
        # metrics.json, the downstream analyses' own files for SCCTS and Epilepsy2
        unpack(lambda wc: PLAN.claim_inputs()),
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
        experiments=lambda wc: list(PLAN.enabled_experiments()),
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
        histories=lambda wc: PLAN.run_files(wc.experiment, "history.zarr"),
        logs=lambda wc: PLAN.run_files(wc.experiment, "train.log"),
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
