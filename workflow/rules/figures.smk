# Figures and paper tables of the study.


rule mip_figure:
    input:
        images="results/images/{patient}",
        segmentation="results/segmentation/{patient}",
    output:
        report(
            "results/figures/mip_{patient}.png",
            caption="../report/mip.rst",
            category="Images",
            labels={"figure": "maximum-intensity projections", "patient": "{patient}"},
        ),
    params:
        timepoints=lambda wildcards: PATIENT_TIMEPOINTS[wildcards.patient],
        suv_max=config["report"]["mip_suv_max"],
    log:
        "results/logs/mip_figure/{patient}.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/mip_figure.py"


TABLES = {
    "table1": "Table 1: patient characteristics",
    "table2": "Table 2: PET parameters and their changes",
    "table3": "Table 3: univariate Cox models",
    "table4": f"Table 4: Cox models adjusted for {ADJUSTMENT}",
    "tableS1": "Table S1: cut-point search",
}


rule paper_tables:
    input:
        patients="results/stats/patients.tsv",
        scans="results/features/scans.tsv",
        cutpoints="results/stats/cutpoints.tsv",
        cox_univariate="results/stats/cox_univariate.tsv",
        cox_adjusted="results/stats/cox_adjusted.tsv",
        bootstrap="results/stats/bootstrap.tsv",
    output:
        **{
            name: report(
                f"results/tables/{name}.html",
                caption="../report/table.rst",
                category="Tables",
                labels={"table": title},
            )
            for name, title in TABLES.items()
        },
        tsv=expand("results/tables/{name}.tsv", name=TABLES),
        other=expand(
            "results/tables/{name}.{ext}",
            name=TABLES,
            ext=[f for f in config["report"]["table_formats"] if f != "html"],
        ),
    params:
        stats=config["stats"],
        baseline=BASELINE,
        followups=FOLLOWUPS,
        formats=["tsv", *config["report"]["table_formats"]],
        stems={name: f"results/tables/{name}" for name in TABLES},
    log:
        "results/logs/paper_tables.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/paper_tables.py"


rule kaplan_meier_figure:
    input:
        patients="results/stats/patients.tsv",
        cutpoints="results/stats/cutpoints.tsv",
        cox_univariate="results/stats/cox_univariate.tsv",
    output:
        report(
            "results/figures/km_{column}.png",
            caption="../report/km.rst",
            category="Figures",
            subcategory="Kaplan-Meier",
            labels={"figure": "Kaplan-Meier", "parameter": "{column}"},
        ),
    params:
        stats=config["stats"],
        confidence_band=config["report"]["km_confidence_band"],
        endpoint=ENDPOINT.name,
        time_unit=ENDPOINT.time_unit,
    wildcard_constraints:
        column="|".join(FIGURE_COLUMNS),
    log:
        "results/logs/kaplan_meier_figure/{column}.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/kaplan_meier_figure.py"


rule summary_figures:
    input:
        patients="results/stats/patients.tsv",
        cutpoints="results/stats/cutpoints.tsv",
        curves="results/stats/cutpoint_curves.tsv",
        cox_univariate="results/stats/cox_univariate.tsv",
        cox_adjusted="results/stats/cox_adjusted.tsv",
    output:
        forest=report(
            "results/figures/forest.png",
            caption="../report/forest.rst",
            category="Figures",
            labels={"figure": "forest plot"},
        ),
        waterfall=report(
            "results/figures/waterfall.png",
            caption="../report/waterfall.rst",
            category="Figures",
            labels={"figure": "waterfall plots"},
        ),
        cutpoints=report(
            "results/figures/cutpoints.png",
            caption="../report/cutpoint_curves.rst",
            category="Figures",
            labels={"figure": "cut-point search"},
        ),
    params:
        stats=config["stats"],
        columns=FIGURE_COLUMNS,
        clip_pct=config["report"]["waterfall_clip_pct"],
        adjustment=ADJUSTMENT,
    log:
        "results/logs/summary_figures.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/summary_figures.py"
