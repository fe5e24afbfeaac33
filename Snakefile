# mixer-pipeline: regenerate every table and figure of the MixER paper from simulated data.
# Targets: `all` (default), `data`, one per experiment (e.g. `odebench2`). See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        data_targets(),
        all_experiment_targets(),


rule data:
    input:
        data_targets(),


rule odebench2:
    input:
        experiment_targets("odebench2"),
