# Accuracy of the imaging chain against the synthetic cohort's ground truth.


if SYNTHETIC:

    rule imaging_accuracy:
        input:
            truth=f"{SYNTHETIC_DIR}/truth",
            segmentation_dirs=expand("results/segmentation/{patient}", patient=PATIENTS),
            organ_dirs=expand("results/organs/{patient}", patient=PATIENTS),
            scans="results/features/scans.tsv",
        output:
            summary=report(
                "results/validation/imaging_accuracy.tsv",
                caption="../report/imaging_accuracy.rst",
                category="Validation",
                labels={"table": "imaging accuracy"},
            ),
            lesions="results/validation/lesion_matches.tsv",
        params:
            scans=scan_pairs(),
            segmentations=per_scan("results/segmentation/{patient}/{timepoint}/lesions.nii.gz"),
            organs=per_scan("results/organs/{patient}/{timepoint}/organs_on_pet.nii.gz"),
            baseline=BASELINE,
            followup=FOLLOWUPS[0],
        log:
            "results/logs/imaging_accuracy.log",
        conda:
            "../../envs/imaging.yaml"
        script:
            "../scripts/imaging_accuracy.py"

    rule hazard_ratio_recovery:
        input:
            patients="results/stats/patients.tsv",
            truth=f"{SYNTHETIC_DIR}/truth",
        output:
            report(
                "results/validation/hazard_ratio_recovery.tsv",
                caption="../report/hazard_ratio_recovery.rst",
                category="Validation",
                labels={"table": "hazard ratio recovery"},
            ),
        params:
            followup=FOLLOWUPS[0],
        log:
            "results/logs/hazard_ratio_recovery.log",
        conda:
            "../../envs/stats.yaml"
        script:
            "../scripts/hazard_ratio_recovery.py"
