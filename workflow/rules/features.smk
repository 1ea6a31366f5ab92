# The cohort tables of per-lesion and per-scan PET parameters and of radiomics features.


rule feature_tables:
    input:
        lesions=per_scan("results/features/scans/{patient}_{timepoint}_lesions.tsv"),
        scans=per_scan("results/features/scans/{patient}_{timepoint}_scan.tsv"),
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
            per_scan("results/features/scans/{patient}_{timepoint}_radiomics.tsv"),
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
