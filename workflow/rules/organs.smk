# Organ label maps on the PET grid, checked against the scan, and the normal-liver reference.


rule organs:
    input:
        unpack(organ_map_input),
        pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
        anatomy="results/images/{patient}/{timepoint}/anatomy",
        suv_provenance="results/images/{patient}/{timepoint}/suv.json",
    output:
        organs="results/organs/{patient}/{timepoint}/organs_on_pet.nii.gz",
        liver_json="results/organs/{patient}/{timepoint}/liver_reference.json",
        liver_mask="results/organs/{patient}/{timepoint}/liver_reference.nii.gz",
    params:
        organ_labels=lambda wildcards: organ_map(wildcards)[1],
        origin=lambda wildcards: organ_map(wildcards)[0],
        check=lambda wildcards: scan_row(wildcards).get("check_organ_labels", "yes") != "no",
        liver_reference=config["organs"]["liver_reference"],
        checks=config["organs"]["checks"],
    log:
        "results/logs/organs/{patient}_{timepoint}.log",
    benchmark:
        "results/benchmarks/organs/{patient}_{timepoint}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/organs.py"
