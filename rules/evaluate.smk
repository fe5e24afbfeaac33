# Evaluation stage: test split, adaptation to new environments, routing analysis, per-run metrics.


rule evaluate:
    """Test-split metrics of the trained model with the trained contexts (TRAIN columns), and
    the routing of the training environments (experts, gate probabilities, purity, ARI): one
    job loads the model once for both."""
    input:
        model=f"{RUN_DIR}/model.eqx",
        train="results/data/{experiment}/train.zarr",
        test="results/data/{experiment}/test.zarr",
        val=val_input,
    output:
        eval=f"{RUN_DIR}/eval.json",
        routing=f"{RUN_DIR}/routing.json",
    params:
        run=run_params,
    log:
        f"{RUN_DIR}/evaluate.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/evaluate.py"


rule adapt:
    """Adapt contexts on adapt_train (model and gate frozen), score on adapt_test (ADAPT columns)."""
    input:
        model=f"{RUN_DIR}/model.eqx",
        adapt_train="results/data/{experiment}/adapt_train.zarr",
        adapt_test="results/data/{experiment}/adapt_test.zarr",
    output:
        f"{RUN_DIR}/adapt.json",
    params:
        run=run_params,
    threads: config["threads_per_job"]
    log:
        f"{RUN_DIR}/adapt.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/adapt.py"


rule run_metrics:
    """Gather one run's results into metrics.json (with provenance) and add the test,
    adaptation and routing metrics to the run's MLflow run (one store write per run)."""
    input:
        model=f"{RUN_DIR}/model.eqx",
        train=f"{RUN_DIR}/train.json",
        eval=f"{RUN_DIR}/eval.json",
        adapt=f"{RUN_DIR}/adapt.json",
        routing=f"{RUN_DIR}/routing.json",
    output:
        f"{RUN_DIR}/metrics.json",
    log:
        f"{RUN_DIR}/metrics.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/run_metrics.py"
