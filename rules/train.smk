# Training stage: one job per (experiment, backbone, variant, seed).


rule mlflow_store:
    """Create the embedded MLflow store and experiments once, before training jobs start.

    Its params list every experiment of the schema (enabled or not), so switching experiments
    on or off never reruns it (a rerun would delete the store with its runs)."""
    output:
        MLFLOW_STORE,
    params:
        experiments=sorted(config["experiments"]),
    log:
        "results/logs/mlflow_store.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/mlflow_store.py"


rule mlflow_ready:
    """Mark the MLflow store as created: training jobs wait for this file, not for the store.

    Training and evaluation jobs write to results/mlflow.db while other jobs run. Had it been
    a training input, Snakemake's end-of-job check (every output newer than every input,
    `ancient` or not) failed a training whose outputs were written a few milliseconds before
    another job logged a metric (seen in a 2026-12-07 default run). The marker holds the
    store's path (what training jobs log to) and is written once, never again."""
    input:
        ancient(MLFLOW_STORE),
    output:
        MLFLOW_READY,
    log:
        "results/logs/mlflow_ready.log",
    localrule: True
    conda:
        "../environment.yml"
    shell:
        "echo {input:q} > {output:q} && echo 'MLflow store {input} ready' > {log:q}"


rule train:
    """Train one run; resumes from the checkpoint folder of its training key (data, seed,
    model and training settings, code; mixer/io/training_key.py) after an interruption."""
    input:
        train="results/data/{experiment}/train.zarr",
        val=val_input,
        store=mlflow_store_input,
    output:
        model=f"{RUN_DIR}/model.eqx",
        history=directory(f"{RUN_DIR}/history.zarr"),
        summary=f"{RUN_DIR}/train.json",
        curves=report(
            f"{RUN_DIR}/training_curves.png",
            caption="../workflow/report/training_curves.rst",
            category="Training curves",
            subcategory="{experiment}",
            labels={"backbone": "{backbone}", "variant": "{variant}", "seed": "{seed}"},
        ),
    params:
        # Snakemake compares only plain-data params: `training` (no adaptation settings) is
        # the rerun trigger; `spec`, the RunSpec object the script needs, is not compared.
        spec=resolved_spec,
        training=training_params,
        scale=config["scale"],
        mlflow=config["tracking"]["mlflow"],
    resources:
        # The SLURM plugin's resource name: `gpu=1` submits with --gpus=1 (and the profile's
        # partitions.yaml sends the job to a GPU partition); 0 requests none.
        gpu=1 if config["device"] == "gpu" else 0,
    threads: config["threads_per_job"]
    log:
        f"{RUN_DIR}/train.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/train.py"
