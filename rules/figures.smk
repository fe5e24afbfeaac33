# Tables and figures of the experiments, built only from files under results/.


rule aggregate:
    """Mean ± std over seeds of every run of an experiment."""
    input:
        lambda wc: run_files(wc.experiment, "metrics.json"),
    output:
        csv="results/tables/{experiment}.csv",
        md=report(
            "results/tables/{experiment}.md",
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
    """Fig. 2: test relative L2 per model (top), validation loss during training (bottom)."""
    input:
        metrics=lambda wc: run_files(wc.experiment, "metrics.json"),
        histories=lambda wc: run_files(wc.experiment, "history.zarr"),
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
    """Fig. 8: gate heatmaps at four training moments, naive MoE above MixER."""
    input:
        histories=lambda wc: fig8_histories(wc.experiment),
    output:
        report(
            "results/figures/fig8_routing_{experiment}.png",
            caption="../workflow/report/fig8.rst",
            category="Figures",
        ),
    params:
        moments=lambda wc: config["experiments"][wc.experiment]["routing_moments"],
        scale=config["scale"],
    log:
        "results/logs/figures/fig8_{experiment}.log",
    conda:
        "../environment.yml"
    script:
        "../scripts/plot_fig8.py"
