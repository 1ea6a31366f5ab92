"""Organ label map of one scan by TotalSegmentator, in netpet label numbers (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.imaging.totalsegmentator import totalsegmentator_step
from netpet.logs import log_to

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        totalsegmentator_step(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            modality=snakemake.wildcards.modality,
            image_path=f"{snakemake.input.anatomy}/{snakemake.wildcards.modality}.nii.gz",
            settings=dict(snakemake.params.settings),
            threads=snakemake.threads,
            labels_out=snakemake.output.labels,
            record_out=snakemake.output.record,
        )
