# Tumour segmentation (method from the config, or masks imported from other tools).


rule segment:
    input:
        unpack(tumour_mask_input),
        pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
        suv_provenance="results/images/{patient}/{timepoint}/suv.json",
        organs="results/organs/{patient}/{timepoint}/organs_on_pet.nii.gz",
        liver_json="results/organs/{patient}/{timepoint}/liver_reference.json",
        liver_mask="results/organs/{patient}/{timepoint}/liver_reference.nii.gz",
        **dicom_seg_inputs(),
    output:
        **segmentation_outputs(),
    params:
        settings=config["segmentation"],
    log:
        "results/logs/segment/{patient}_{timepoint}.log",
    benchmark:
        "results/benchmarks/segment/{patient}_{timepoint}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/segment.py"
