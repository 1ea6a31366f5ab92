# Organ label map by TotalSegmentator for scans without organ_labels in the samples sheet:
# task total on the CT, total_mr on the MR of a PET/MR ({modality}: ct or mr); netpet's label
# numbers on the input image's grid.  The conda env holds the glue only: TotalSegmentator
# itself (with PyTorch and its weights) is organs.totalsegmentator.executable.


rule totalsegmentator:
    input:
        anatomy="results/images/{patient}/{timepoint}/anatomy",
    output:
        labels="results/organs/{patient}/{timepoint}/totalsegmentator_{modality}.nii.gz",
        record="results/organs/{patient}/{timepoint}/totalsegmentator_{modality}.json",
    params:
        settings={
            key: value
            for key, value in config["organs"]["totalsegmentator"].items()
            if key not in ("enabled", "threads", "mem_mb")
        },
    wildcard_constraints:
        modality="ct|mr",
    threads: config["organs"]["totalsegmentator"]["threads"]
    resources:
        mem_mb=config["organs"]["totalsegmentator"]["mem_mb"],
    log:
        "results/logs/totalsegmentator/{patient}_{timepoint}_{modality}.log",
    benchmark:
        "results/benchmarks/totalsegmentator/{patient}_{timepoint}_{modality}.tsv"
    conda:
        "../../envs/imaging.yaml"
    script:
        "../scripts/totalsegmentator.py"
