# The analysis of one converted scan, as one job: organs on the PET grid (checked against the
# scan) and the normal-liver reference, tumour segmentation (and DICOM SEG), lesion and scan
# features, radiomics and the QC picture.
#
# One job rather than five: each job starts Python and imports the imaging stack (about 1 s),
# more than most of these steps take on a 96 x 96 PET (BENCHMARKS.md).  The conversion stays a
# job of its own: it reads the DICOM (the slowest step on clinical scans) and TotalSegmentator,
# when it runs, sits between the two.  Changing any setting of these steps re-runs the job.


rule scan_analysis:
    input:
        unpack(organ_map_input),
        unpack(tumour_mask_input),
        pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
        anatomy="results/images/{patient}/{timepoint}/anatomy",
        suv_provenance="results/images/{patient}/{timepoint}/suv.json",
        **dicom_seg_inputs(),
        **radiomics_inputs(),
    output:
        **scan_analysis_outputs(),
    params:
        organ_labels=lambda wildcards: organ_map(wildcards)[1],
        origin=lambda wildcards: organ_map(wildcards)[0],
        check=lambda wildcards: scan_row(wildcards).get("check_organ_labels", "yes") != "no",
        liver_reference=config["organs"]["liver_reference"],
        checks=config["organs"]["checks"],
        segmentation=config["segmentation"],
        radiomics=config["radiomics"],
        qc_suv_max=config["report"]["mip_suv_max"],
        krenning=config["krenning"],
    log:
        "results/logs/scan_analysis/{patient}_{timepoint}.log",
    benchmark:
        "results/benchmarks/scan_analysis/{patient}_{timepoint}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/scan_analysis.py"
