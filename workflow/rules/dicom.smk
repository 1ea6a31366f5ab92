# DICOM ingest: find the PET and the CT (or MR) series of each scan, compute SUV, write NIfTI.


rule pet_ct_to_nifti:
    input:
        unpack(dicom_inputs),
    output:
        pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
        # ct.nii.gz and ct_on_pet.nii.gz (or mr.*), and anatomy.json saying which: a PET
        # without CT has only anatomy.json.
        anatomy=directory("results/images/{patient}/{timepoint}/anatomy"),
        suv_provenance="results/images/{patient}/{timepoint}/suv.json",
        pet_slices=PET_SLICES,
    params:
        folders=dicom_folders,
        modality=anatomy_modality,
        pet_series_uid=lambda wildcards: scan_row(wildcards).get("pet_series_uid"),
        mr_series_uid=lambda wildcards: scan_row(wildcards).get("mr_series_uid"),
        overrides=suv_overrides,
        suv_type=config["suv"]["type"],
        max_uptake_half_lives=config["suv"]["max_uptake_half_lives"],
    log:
        "results/logs/pet_ct_to_nifti/{patient}_{timepoint}.log",
    benchmark:
        "results/benchmarks/pet_ct_to_nifti/{patient}_{timepoint}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/pet_ct_to_nifti.py"
