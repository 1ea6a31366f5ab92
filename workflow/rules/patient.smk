# Everything per patient, as one job: each scan converted from DICOM to SUV (and its CT or MR
# to NIfTI), its organ map made by TotalSegmentator when configured, organs and the
# normal-liver reference, tumour segmentation (and DICOM SEG), lesion and scan features,
# radiomics and the QC picture; then each follow-up registered to the baseline and the
# patient's lesion tracks with their figures.
#
# One job per patient, not per step or per scan: Snakemake's own cost per job (about 3 ms
# each to build the DAG, and a Python start-up with the imaging imports, about 1 s, to run it)
# dominated both the default study and the DAG of large cohorts (BENCHMARKS.md).  Per-scan
# files keep their places in the patient's folders; the folders and the patient's tables are
# the job's outputs.  Changing any setting of these steps re-runs the patients' jobs,
# conversion included.


rule patient:
    input:
        unpack(patient_inputs),
    output:
        **patient_outputs(),
    params:
        scans=patient_scans,
        baseline=BASELINE,
        suv_type=config["suv"]["type"],
        max_uptake_half_lives=config["suv"]["max_uptake_half_lives"],
        liver_reference=config["organs"]["liver_reference"],
        checks=config["organs"]["checks"],
        totalsegmentator=totalsegmentator_settings(),
        segmentation=config["segmentation"],
        radiomics=config["radiomics"],
        krenning=config["krenning"],
        qc_suv_max=config["report"]["mip_suv_max"],
        registration=config["longitudinal"]["registration"],
        tracks=config["longitudinal"]["tracks"],
    threads: patient_threads()
    resources:
        mem_mb=patient_mem_mb(),
        runtime=patient_runtime_min,
    log:
        "results/logs/patient/{patient}.log",
    benchmark:
        "results/benchmarks/patient/{patient}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/patient.py"
