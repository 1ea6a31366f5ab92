# netpet: somatostatin-receptor PET/CT response analysis for NET patients treated with PRRT.
# The chain: DICOM -> SUV -> organs -> segmentation -> features -> patient table -> statistics
# -> tables and figures -> report.  See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/synthetic.smk"
include: "workflow/rules/patient.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/longitudinal.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/validation.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_outputs(),


# On a cluster only the patients' jobs are submitted: the cohort's tables, statistics and
# figures, and the synthetic cohort, run beside Snakemake, since as cluster jobs they would
# wait longer for the queue and their start-up than they compute (README.md, SLURM).
workflow.localrules(*(rule.name for rule in workflow.rules if rule.name != "patient"))
