# The synthetic reference cohort: DICOM PET/CT, organ label maps, sheets and ground truth.


if SYNTHETIC:

    rule synthetic_cohort:
        output:
            dicom=directory(f"{SYNTHETIC_DIR}/dicom"),
            labels=directory(f"{SYNTHETIC_DIR}/labels"),
            truth=directory(f"{SYNTHETIC_DIR}/truth"),
            samples=f"{SYNTHETIC_DIR}/samples.tsv",
            clinical=f"{SYNTHETIC_DIR}/clinical.tsv",
        params:
            settings=synthetic_settings(),
            out_dir=lambda wildcards, output: str(Path(output.samples).parent),
        # Scaled down to --cores; the files are identical whatever the number.
        threads: 8
        log:
            "results/logs/synthetic_cohort.log",
        benchmark:
            "results/benchmarks/synthetic_cohort.tsv"
        conda:
            "../../envs/imaging.yaml"
        script:
            "../scripts/synthetic_cohort.py"
