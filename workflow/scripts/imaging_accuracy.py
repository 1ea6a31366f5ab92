"""Accuracy of segmentation and features against the synthetic truth (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.accuracy import cohort_accuracy
from netpet.logs import log_to

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        cohort_accuracy(
            truth_dir=snakemake.input.truth,
            scans=snakemake.params.scans,
            seg_paths=snakemake.params.segmentations,
            organ_paths=snakemake.params.organs,
            scans_table=snakemake.input.scans,
            baseline=snakemake.params.baseline,
            followup=snakemake.params.followup,
            summary_out=snakemake.output.summary,
            lesions_out=snakemake.output.lesions,
        )
