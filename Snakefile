# sslinv: why do self-supervised models transfer?
# The table of contents of the workflow; every stage lives in workflow/rules/.
import os

from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the default experiment; `--configfile other.yaml` replaces it whole
# (Snakemake would otherwise merge the two, silently keeping datasets the other one left out).
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/imports.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/invariance.smk"
include: "workflow/rules/probes.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
