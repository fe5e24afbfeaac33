# The other experiments of the paper: Tables 2-4, Figs. 5, 9-11 (IVP datasets), SCCTS and
# Epilepsy2 analyses (Figs. 6-7), all built from files under results/.


rule table_odebench10:
    """Table 2 (ODEBench-10A) and Table 3 (ODEBench-10B, with TPRMSE) in the paper's layout."""
    input:
        lambda wc: PLAN.run_files(wc.experiment, "metrics.json"),
    output:
        csv="results/tables/{table}_{experiment}.csv",
        md="results/tables/{table}_{experiment}.md",
        html=report(
            "results/tables/{table}_{experiment}.html",
            caption="../workflow/report/table_odebench10.rst",
            category="Tables",
        ),
    wildcard_constraints:
        table="table2|table3",
        experiment="odebench10a|odebench10b",
    params:
        tprmse=lambda wc: wc.table == "table3",
        title=lambda wc: {"table2": "Table 2", "table3": "Table 3"}[wc.table],
        scale=config["scale"],
    log:
        "results/logs/tables/{table}_{experiment}.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/table_odebench10.py"


rule table4:
    """Table 4: active parameters, InD and OoD test MSE on LV, GO and SM."""
    input:
        lambda wc: [
            f for e in PLAN.table4_experiments() for f in PLAN.run_files(e, "metrics.json")
        ],
    output:
        csv="results/tables/table4_lv_go_sm.csv",
        md="results/tables/table4_lv_go_sm.md",
        html=report(
            "results/tables/table4_lv_go_sm.html",
            caption="../workflow/report/table4.rst",
            category="Tables",
        ),
    params:
        experiments=lambda wc: PLAN.table4_experiments(),
        scale=config["scale"],
    log:
        "results/logs/tables/table4_lv_go_sm.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/table4.py"


rule plot_fig5:
    """Fig. 5: gate heatmap and routed-expert histogram at the end of training (ODEBench-10B)."""
    input:
        lambda wc: PLAN.first_seed_file(
            "odebench10b",
            config["figures"]["backbone"],
            largest_mixer("odebench10b", config["figures"]["backbone"], 10),
            "routing.json",
        ),
    output:
        report(
            "results/figures/fig5_gating_odebench10b.png",
            caption="../workflow/report/fig5.rst",
            category="Figures",
        ),
    params:
        kind="fig5",
        dataset="odebench10b",
        scale=config["scale"],
    log:
        "results/logs/figures/fig5.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_gating.py"


rule plot_fig9:
    """Fig. 9: gate heatmaps of MixER-3 on LV, GO and SM."""
    input:
        lambda wc: [
            PLAN.first_seed_file(
                e,
                config["figures"]["backbone"],
                largest_mixer(e, config["figures"]["backbone"], 3),
                "routing.json",
            )
            for e in PLAN.table4_experiments()
        ],
    output:
        report(
            "results/figures/fig9_gating_lv_go_sm.png",
            caption="../workflow/report/fig9.rst",
            category="Figures",
        ),
    params:
        kind="fig9",
        scale=config["scale"],
    log:
        "results/logs/figures/fig9.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_gating.py"


rule plot_fig10_11:
    """Figs. 10-11: one test trajectory and phase portrait per family, truth vs MixER."""
    input:
        model=lambda wc: f"{run_dir(**fig10_run())}/model.eqx",
        test="results/data/odebench10b/test.zarr",
    output:
        report(
            "results/figures/fig10_trajectories_odebench10b.png",
            caption="../workflow/report/fig10_11.rst",
            category="Figures",
        ),
        report(
            "results/figures/fig11_trajectories_odebench10b.png",
            caption="../workflow/report/fig10_11.rst",
            category="Figures",
        ),
    params:
        run=lambda wc: PLAN.run_params(**fig10_run()),
        scale=config["scale"],
    log:
        "results/logs/figures/fig10_11.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_trajectories.py"


rule sccts_run:
    """One SCCTS run: routing vs the class pairs and the six classes (class x expert counts),
    K-means on contexts and on the raw series."""
    input:
        model=f"{RUN_DIR}/model.eqx",
        summary=f"{RUN_DIR}/train.json",
        train="results/data/{experiment}/train.zarr",
    output:
        f"{RUN_DIR}/clustering.json",
    wildcard_constraints:
        experiment="sccts",
    params:
        run=run_params,
    log:
        f"{RUN_DIR}/clustering.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/sccts_run.py"


rule epilepsy2_run:
    """One Epilepsy2 run: re-infer every series' context with the frozen model (training and
    held-out series alike), stratified k-fold CV of a logistic-regression probe."""
    input:
        model=f"{RUN_DIR}/model.eqx",
        summary=f"{RUN_DIR}/train.json",
        train="results/data/{experiment}/train.zarr",
        heldout="results/data/{experiment}/adapt_train.zarr",
    output:
        f"{RUN_DIR}/classification.json",
    wildcard_constraints:
        experiment="epilepsy2",
    params:
        run=run_params,
        classification=lambda wc: config["experiments"][wc.experiment]["classification"],
    threads: config["threads_per_job"]
    log:
        f"{RUN_DIR}/classification.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/epilepsy2_run.py"


rule sccts_outputs:
    """SCCTS clustering table and Fig. 6."""
    input:
        runs=lambda wc: PLAN.run_files("sccts", "clustering.json"),
        first_seed=lambda wc: PLAN.first_seed_runs("sccts", "clustering.json"),
    output:
        csv="results/tables/sccts_clustering.csv",
        md="results/tables/sccts_clustering.md",
        html=report(
            "results/tables/sccts_clustering.html",
            caption="../workflow/report/sccts.rst",
            category="Tables",
        ),
        fig=report(
            "results/figures/fig6_sccts.png",
            caption="../workflow/report/sccts.rst",
            category="Figures",
        ),
    params:
        scale=config["scale"],
    log:
        "results/logs/figures/sccts.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/sccts_outputs.py"


rule epilepsy2_outputs:
    """Epilepsy2 classification table and Fig. 7."""
    input:
        runs=lambda wc: PLAN.run_files("epilepsy2", "classification.json"),
        first_seed=lambda wc: PLAN.first_seed_runs("epilepsy2", "classification.json"),
    output:
        csv="results/tables/epilepsy2_classification.csv",
        md="results/tables/epilepsy2_classification.md",
        html=report(
            "results/tables/epilepsy2_classification.html",
            caption="../workflow/report/epilepsy2.rst",
            category="Tables",
        ),
        fig=report(
            "results/figures/fig7_epilepsy2.png",
            caption="../workflow/report/epilepsy2.rst",
            category="Figures",
        ),
    params:
        scale=config["scale"],
    log:
        "results/logs/figures/epilepsy2.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/epilepsy2_outputs.py"
