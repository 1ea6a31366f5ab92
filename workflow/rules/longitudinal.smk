# Lesions over time: each follow-up scan registered to its patient's baseline, lesion tracks
# and figures per patient, then the cohort's tracks, response heterogeneity and response
# criteria (STUDY.md sections 2 and 3.6).

LONGITUDINAL = config["longitudinal"]
check_registration_settings(LONGITUDINAL["registration"])


rule register_followup:
    input:
        baseline_pet=f"results/images/{{patient}}/{BASELINE}/pet_suv.nii.gz",
        baseline_anatomy=f"results/images/{{patient}}/{BASELINE}/anatomy",
        followup_pet="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
        followup_anatomy="results/images/{patient}/{timepoint}/anatomy",
        followup_lesions="results/segmentation/{patient}/{timepoint}/lesions.nii.gz",
    output:
        transform="results/longitudinal/registration/{patient}/{timepoint}/transform.tfm",
        record="results/longitudinal/registration/{patient}/{timepoint}/registration.json",
        lesions="results/longitudinal/registration/{patient}/{timepoint}/lesions_in_baseline.nii.gz",
        qc=report(
            "results/qc/registration/{patient}_{timepoint}.png",
            caption="../report/registration_qc.rst",
            category="Quality control",
            subcategory="registration",
            labels={"patient": "{patient}", "time point": "{timepoint}"},
        ),
    params:
        baseline=BASELINE,
        settings=LONGITUDINAL["registration"],
        suv_max=config["report"]["mip_suv_max"],
    wildcard_constraints:
        timepoint="|".join(map(re.escape, FOLLOWUPS)),
    log:
        "results/logs/register_followup/{patient}_{timepoint}.log",
    benchmark:
        "results/benchmarks/register_followup/{patient}_{timepoint}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/register_followup.py"


rule lesion_tracks:
    input:
        labels=lesions_in_baseline_space,
        lesions=patient_scan_files("results/features/scans/{patient}_{timepoint}_lesions.tsv"),
        pet_suv=patient_scan_files("results/images/{patient}/{timepoint}/pet_suv.nii.gz"),
        pet_slices=patient_scan_files(PET_SLICES),
    output:
        tracks="results/longitudinal/patients/{patient}_tracks.tsv",
        scan_times="results/longitudinal/patients/{patient}_scan_times.tsv",
        track_figure=report(
            "results/figures/tracks/{patient}.png",
            caption="../report/tracks.rst",
            category="Lesion response",
            subcategory="lesion tracks",
            labels={"patient": "{patient}"},
        ),
        mip_figure=report(
            "results/figures/lesion_mip/{patient}.png",
            caption="../report/lesion_mip.rst",
            category="Lesion response",
            subcategory="lesion maps",
            labels={"patient": "{patient}"},
        ),
    params:
        timepoints=lambda wildcards: PATIENT_TIMEPOINTS[wildcards.patient],
        settings=LONGITUDINAL["tracks"],
        suv_max=config["report"]["mip_suv_max"],
        transforms=lambda wildcards: [
            f"results/longitudinal/registration/{wildcards.patient}/{t}/transform.tfm"
            for t in PATIENT_TIMEPOINTS[wildcards.patient][1:]
        ],
    log:
        "results/logs/lesion_tracks/{patient}.log",
    benchmark:
        "results/benchmarks/lesion_tracks/{patient}.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/lesion_tracks.py"


rule longitudinal_tables:
    input:
        tracks=expand(
            "results/longitudinal/patients/{patient}_tracks.tsv", patient=tracked_patients()
        ),
        scan_times=expand(
            "results/longitudinal/patients/{patient}_scan_times.tsv", patient=tracked_patients()
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
            segmentations=per_scan("results/segmentation/{patient}/{timepoint}/lesions.nii.gz"),
        output:
            report(
                "results/validation/track_accuracy.tsv",
                caption="../report/track_accuracy.rst",
                category="Validation",
                labels={"table": "lesion track accuracy"},
            ),
        params:
            scans=scan_pairs(),
            timepoints=TIMEPOINTS,
        log:
            "results/logs/track_accuracy.log",
        conda:
            "../../envs/imaging.yaml"
        script:
            "../scripts/track_accuracy.py"
