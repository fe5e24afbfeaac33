# Tables and figures of the experiments, built only from files under results/.


rule aggregate:
    """Mean ± std over seeds of every run of an experiment: CSV, Markdown and HTML (the
    report shows the HTML table)."""
    input:
        lambda wc: PLAN.run_files(wc.experiment, "metrics.json"),
    output:
        csv="results/tables/{experiment}.csv",
        md="results/tables/{experiment}.md",
        html=report(
            "results/tables/{experiment}.html",
            caption="../workflow/report/table.rst",
            category="Tables",
        ),
    params:
        scale=config["scale"],
    log:
        "results/logs/tables/{experiment}.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/aggregate.py"


rule plot_fig2:
    """Fig. 2: test relative MSE per model (top), validation relative MSE during training
    (bottom)."""
    input:
        metrics=lambda wc: PLAN.run_files(wc.experiment, "metrics.json"),
        histories=lambda wc: PLAN.run_files(wc.experiment, "history.zarr"),
    output:
        png=report(
            "results/figures/fig2_{experiment}.png",
            caption="../workflow/report/fig2.rst",
            category="Figures",
        ),
        pdf="results/figures/fig2_{experiment}.pdf",
    params:
        scale=config["scale"],
    log:
        "results/logs/figures/fig2_{experiment}.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_fig2.py"


rule plot_fig8:
    """Fig. 8: gate heatmaps at distinct recorded steps nearest the routing moments, naive
    MoE above MixER, environments grouped by family."""
    input:
        histories=lambda wc: PLAN.fig8_histories(wc.experiment),
    output:
        report(
            "results/figures/fig8_routing_{experiment}.png",
            caption="../workflow/report/fig8.rst",
            category="Figures",
        ),
    params:
        moments=lambda wc: config["experiments"][wc.experiment]["routing_moments"],
        dataset=lambda wc: config["experiments"][wc.experiment]["dataset"],
        scale=config["scale"],
    log:
        "results/logs/figures/fig8_{experiment}.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_fig8.py"
