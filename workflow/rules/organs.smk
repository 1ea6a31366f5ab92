# Organ label maps on the PET grid and the normal-liver reference region.


rule organs:
    input:
        unpack(scan_files("organ_labels", synthetic_dir="labels")),
        pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
    output:
        organs="results/organs/{patient}/{timepoint}/organs_on_pet.nii.gz",
        liver_json="results/organs/{patient}/{timepoint}/liver_reference.json",
        liver_mask="results/organs/{patient}/{timepoint}/liver_reference.nii.gz",
    params:
        settings=config["organs"]["liver_reference"],
    log:
        "results/logs/organs/{patient}_{timepoint}.log",
    benchmark:
        "results/benchmarks/organs/{patient}_{timepoint}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/organs.py"
