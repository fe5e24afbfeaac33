# Training stage: one job per (experiment, backbone, variant, seed).


rule mlflow_store:
    """Create the embedded MLflow store and experiments once, before training jobs start.

    Its params list every experiment of the schema (enabled or not), so switching experiments
    on or off never reruns it (a rerun would delete the store with its runs)."""
    output:
        "results/mlflow.db",
    params:
        experiments=sorted(config["experiments"]),
    log:
        "results/logs/mlflow_store.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/mlflow_store.py"


rule train:
    """Train one run; resumes from its checkpoint folder after an interruption."""
    input:
        train="results/data/{experiment}/train.zarr",
        val=val_input,
        store=mlflow_store_input,
    output:
        model=f"{RUN_DIR}/model.eqx",
        history=directory(f"{RUN_DIR}/history.zarr"),
        summary=f"{RUN_DIR}/train.json",
    params:
        run=run_params,
        scale=config["scale"],
        mlflow=config["tracking"]["mlflow"],
    resources:
        gpu=lambda wc: 1 if config["device"] == "gpu" else 0,
    threads: config["threads_per_job"]
    log:
        f"{RUN_DIR}/train.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/train.py"
