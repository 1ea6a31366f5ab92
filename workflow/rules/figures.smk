# Figures of the study.


rule mip_figure:
    input:
        pet_suv=expand(
            "results/images/{{patient}}/{timepoint}/pet_suv.nii.gz", timepoint=TIMEPOINTS
        ),
        lesions=expand(
            "results/segmentation/{{patient}}/{timepoint}/lesions.nii.gz", timepoint=TIMEPOINTS
        ),
    output:
        report(
            "results/figures/mip_{patient}.png",
            caption="../report/mip.rst",
            category="Images",
            labels={"figure": "maximum-intensity projections", "patient": "{patient}"},
        ),
    params:
        timepoints=TIMEPOINTS,
    log:
        "results/logs/mip_figure/{patient}.log",
    script:
        "../scripts/mip_figure.py"
