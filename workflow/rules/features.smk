# Per-lesion and per-scan PET parameters, radiomics, and the QC picture of every scan.


rule scan_features:
    input:
        pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
        labels="results/segmentation/{patient}/{timepoint}/lesions.nii.gz",
        segmentation="results/segmentation/{patient}/{timepoint}/segmentation.json",
        organs="results/organs/{patient}/{timepoint}/organs_on_pet.nii.gz",
        liver_json="results/organs/{patient}/{timepoint}/liver_reference.json",
        liver_mask="results/organs/{patient}/{timepoint}/liver_reference.nii.gz",
        suv_provenance="results/images/{patient}/{timepoint}/suv.json",
    output:
        lesions="results/features/scans/{patient}_{timepoint}_lesions.tsv",
        scan="results/features/scans/{patient}_{timepoint}_scan.tsv",
    log:
        "results/logs/scan_features/{patient}_{timepoint}.log",
    benchmark:
        "results/benchmarks/scan_features/{patient}_{timepoint}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/scan_features.py"


rule feature_tables:
    input:
        lesions=per_scan("results/features/scans/{patient}_{timepoint}_lesions.tsv"),
        scans=per_scan("results/features/scans/{patient}_{timepoint}_scan.tsv"),
    output:
        lesions=report(
            "results/features/lesions.tsv",
            caption="../report/lesions.rst",
            category="Features",
            labels={"table": "lesions"},
        ),
        scans=report(
            "results/features/scans.tsv",
            caption="../report/scans.rst",
            category="Features",
            labels={"table": "scans"},
        ),
    log:
        "results/logs/feature_tables.log",
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/feature_tables.py"


if config["radiomics"]["enabled"]:

    rule radiomics:
        input:
            pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
            labels="results/segmentation/{patient}/{timepoint}/lesions.nii.gz",
            params=config["radiomics"]["params"],
        output:
            "results/features/scans/{patient}_{timepoint}_radiomics.tsv",
        params:
            min_volume_ml=config["radiomics"]["min_volume_ml"],
            per_lesion=config["radiomics"]["per_lesion"],
        log:
            "results/logs/radiomics/{patient}_{timepoint}.log",
        benchmark:
            "results/benchmarks/radiomics/{patient}_{timepoint}.tsv"
        conda:
            "../../envs/imaging.yaml"
        script:
            "../scripts/radiomics.py"

    rule radiomics_table:
        input:
            per_scan("results/features/scans/{patient}_{timepoint}_radiomics.tsv"),
        output:
            report(
                "results/features/radiomics.tsv",
                caption="../report/radiomics.rst",
                category="Features",
                labels={"table": "radiomics"},
            ),
        log:
            "results/logs/radiomics_table.log",
        conda:
            "../../envs/imaging.yaml"
        script:
            "../scripts/feature_tables.py"


rule qc_picture:
    input:
        pet_suv="results/images/{patient}/{timepoint}/pet_suv.nii.gz",
        labels="results/segmentation/{patient}/{timepoint}/lesions.nii.gz",
        segmentation="results/segmentation/{patient}/{timepoint}/segmentation.json",
        liver_json="results/organs/{patient}/{timepoint}/liver_reference.json",
        liver_mask="results/organs/{patient}/{timepoint}/liver_reference.nii.gz",
        suv_provenance="results/images/{patient}/{timepoint}/suv.json",
    output:
        report(
            "results/qc/{patient}_{timepoint}.png",
            caption="../report/qc.rst",
            category="Quality control",
            subcategory="{timepoint}",
            labels={"patient": "{patient}", "time point": "{timepoint}"},
        ),
    params:
        suv_max=config["report"]["mip_suv_max"],
    log:
        "results/logs/qc_picture/{patient}_{timepoint}.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/qc_picture.py"
