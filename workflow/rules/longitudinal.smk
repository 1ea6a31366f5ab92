# Lesions over time: each follow-up scan registered to its patient's baseline, lesion tracks
# and figures per patient, then the cohort's tracks, response heterogeneity and response
# criteria (STUDY.md sections 2 and 3.6).

LONGITUDINAL = config["longitudinal"]
check_registration_settings(LONGITUDINAL["registration"])


rule longitudinal_tables:
    input:
        tracks=expand("results/longitudinal/patients/{patient}_tracks.tsv", patient=PATIENTS),
        scan_times=expand(
            "results/longitudinal/patients/{patient}_scan_times.tsv", patient=PATIENTS
        ),
    output:
        tracks=report(
            "results/longitudinal/tracks.tsv",
            caption="../report/tracks_table.rst",
            category="Lesion response",
            labels={"table": "lesion tracks"},
        ),
        heterogeneity=report(
            "results/longitudinal/patients.tsv",
            caption="../report/heterogeneity.rst",
            category="Lesion response",
            labels={"table": "response heterogeneity"},
        ),
        scan_times="results/longitudinal/scan_times.tsv",
    params:
        scans=[(p, t) for p in tracked_patients() for t in PATIENT_TIMEPOINTS[p]],
        baseline=BASELINE,
    log:
        "results/logs/longitudinal_tables.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/longitudinal_tables.py"


rule lesion_response_figure:
    input:
        "results/longitudinal/patients.tsv",
    output:
        report(
            "results/figures/lesion_response.png",
            caption="../report/lesion_response.rst",
            category="Lesion response",
            labels={"figure": "response categories"},
        ),
    params:
        timepoints=TIMEPOINTS,
    log:
        "results/logs/lesion_response_figure.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/lesion_response_figure.py"


rule criteria:
    input:
        scans="results/features/scans.tsv",
        lesions="results/features/lesions.tsv",
        clinical=CLINICAL_SHEET,
        heterogeneity="results/longitudinal/patients.tsv",
    output:
        report(
            "results/stats/criteria.tsv",
            caption="../report/criteria.rst",
            category="Response criteria",
            labels={"table": "response by criterion"},
        ),
    params:
        baseline=BASELINE,
        followups=FOLLOWUPS,
        settings=config["criteria"],
    log:
        "results/logs/criteria.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/criteria.py"


rule criteria_outcomes:
    input:
        criteria="results/stats/criteria.tsv",
        clinical=CLINICAL_SHEET,
        patients="results/stats/patients.tsv",
        scan_times="results/longitudinal/scan_times.tsv",
    output:
        outcomes=report(
            "results/stats/criteria_outcomes.tsv",
            caption="../report/criteria_outcomes.rst",
            category="Response criteria",
            labels={"table": "criteria compared"},
        ),
        km="results/stats/criteria_km.tsv",
        swimmer=report(
            "results/figures/swimmer.png",
            caption="../report/swimmer.rst",
            category="Response criteria",
            labels={"figure": "swimmer plot"},
        ),
    params:
        settings=config["criteria"],
        time=config["stats"]["time"],
        event=config["stats"]["event"],
        timepoints=TIMEPOINTS,
    log:
        "results/logs/criteria_outcomes.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/criteria_outcomes.py"


if SYNTHETIC:

    rule track_accuracy:
        input:
            tracks="results/longitudinal/tracks.tsv",
            truth=f"{SYNTHETIC_DIR}/truth",
            segmentation_dirs=expand("results/segmentation/{patient}", patient=PATIENTS),
        output:
            report(
                "results/validation/track_accuracy.tsv",
                caption="../report/track_accuracy.rst",
                category="Validation",
                labels={"table": "lesion track accuracy"},
            ),
        params:
            scans=scan_pairs(),
            segmentations=per_scan("results/segmentation/{patient}/{timepoint}/lesions.nii.gz"),
            timepoints=TIMEPOINTS,
        log:
            "results/logs/track_accuracy.log",
        conda:
            "../../envs/imaging.yaml"
        script:
            "../scripts/track_accuracy.py"
