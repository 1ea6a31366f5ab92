# The patient table and the survival statistics.
from netpet.report.labels import adjustment_label, endpoint

STATS = config["stats"]
ANALYSED = analysed_columns(STATS["parameters"], baseline=BASELINE, followups=FOLLOWUPS)
# How captions name the survival endpoint ("progression-free survival") and the adjustment.
ENDPOINT = endpoint(STATS["time"], STATS["event"])
ADJUSTMENT = adjustment_label(STATS["adjust_for"])


rule patient_table:
    input:
        scans="results/features/scans.tsv",
        clinical=CLINICAL_SHEET,
        heterogeneity="results/longitudinal/patients.tsv",
    output:
        report(
            "results/stats/patients.tsv",
            caption="../report/patients.rst",
            category="Survival statistics",
            labels={"table": "patients"},
        ),
    params:
        baseline=BASELINE,
        followups=FOLLOWUPS,
        parameters=STATS["parameters"],
        time=STATS["time"],
        event=STATS["event"],
    log:
        "results/logs/patient_table.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/patient_table.py"


rule cutpoints:
    input:
        "results/stats/patients.tsv",
    output:
        cutpoints=report(
            "results/stats/cutpoints.tsv",
            caption="../report/cutpoints.rst",
            category="Survival statistics",
            labels={"table": "cut-points"},
        ),
        curves="results/stats/cutpoint_curves.tsv",
    params:
        columns=ANALYSED,
        stats=STATS,
    log:
        "results/logs/cutpoints.log",
    benchmark:
        "results/benchmarks/cutpoints.tsv"
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/cutpoints.py"


rule cox:
    input:
        patients="results/stats/patients.tsv",
        cutpoints="results/stats/cutpoints.tsv",
    output:
        report(
            "results/stats/cox_{model}.tsv",
            caption="../report/cox.rst",
            category="Survival statistics",
            labels={"table": "Cox {model}"},
        ),
    params:
        columns=ANALYSED,
        stats=STATS,
        adjust_for=lambda wildcards: STATS["adjust_for"] if wildcards.model == "adjusted" else None,
        endpoint=ENDPOINT.name,
        adjustment=ADJUSTMENT,
    wildcard_constraints:
        model="univariate|adjusted",
    log:
        "results/logs/cox_{model}.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/cox.py"


rule bootstrap:
    input:
        "results/stats/patients.tsv",
    output:
        summary=report(
            "results/stats/bootstrap.tsv",
            caption="../report/bootstrap.rst",
            category="Survival statistics",
            labels={"table": "bootstrap validation"},
        ),
        frequencies="results/stats/bootstrap_cutpoints.tsv",
    params:
        columns=ANALYSED,
        stats=STATS,
    log:
        "results/logs/bootstrap.log",
    benchmark:
        "results/benchmarks/bootstrap.tsv"
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/bootstrap.py"
