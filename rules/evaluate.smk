# Evaluation stage: one job per run after training (test split, routing, adaptation to new
# environments, the run's metrics.json and its MLflow metrics), loading the model once.


rule evaluate:
    """Everything after training, in one job: test-split metrics with the trained contexts
    (TRAIN columns), the routing of the training environments (experts, gate probabilities,
    purity, ARI), contexts adapted on adapt_train (model and gate frozen) scored on adapt_test
    (ADAPT columns), the run's metrics.json (with provenance), and the test, adaptation and
    routing metrics added to the training's MLflow run (one store write per run).

    Its params are the run's settings with adaptation: an adaptation-only change reruns this
    job and no training."""
    input:
        model=f"{RUN_DIR}/model.eqx",
        summary=f"{RUN_DIR}/train.json",
        train="results/data/{experiment}/train.zarr",
        test="results/data/{experiment}/test.zarr",
        val=val_input,
        adapt_train="results/data/{experiment}/adapt_train.zarr",
        adapt_test="results/data/{experiment}/adapt_test.zarr",
    output:
        eval=f"{RUN_DIR}/eval.json",
        routing=f"{RUN_DIR}/routing.json",
        adapt=f"{RUN_DIR}/adapt.json",
        metrics=f"{RUN_DIR}/metrics.json",
    params:
        run=run_params,
    threads: config["threads_per_job"]
    log:
        f"{RUN_DIR}/evaluate.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/evaluate.py"
