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
