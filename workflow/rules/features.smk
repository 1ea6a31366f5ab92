# The cohort tables of per-lesion and per-scan PET parameters and of radiomics features
# (the patients' tables joined, in patient order).


rule feature_tables:
    input:
        lesions=expand("results/features/patients/{patient}_lesions.tsv", patient=PATIENTS),
        scans=expand("results/features/patients/{patient}_scans.tsv", patient=PATIENTS),
    output:
        lesions=report(
            "results/features/lesions.tsv",
            caption="../report/lesions.rst",
            category="Features",
            labels={"table": "lesions"},
        ),
        scans=report(
            "results/features/scans.tsv",
            caption="../report/scans.rst",
            category="Features",
            labels={"table": "scans"},
        ),
    log:
        "results/logs/feature_tables.log",
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/feature_tables.py"


if config["radiomics"]["enabled"]:

    rule radiomics_table:
        input:
            expand("results/features/patients/{patient}_radiomics.tsv", patient=PATIENTS),
        output:
            report(
                "results/features/radiomics.tsv",
                caption="../report/radiomics.rst",
                category="Features",
                labels={"table": "radiomics"},
            ),
        log:
            "results/logs/radiomics_table.log",
        conda:
            "../../envs/imaging.yaml"
        script:
            "../scripts/feature_tables.py"
