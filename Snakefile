# mixer-pipeline: regenerate every table and figure of the MixER paper from simulated data.
# Targets: `all` (default), `data`. See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"


rule all:
    default_target: True
    input:
        data_targets(),


rule data:
    input:
        data_targets(),
