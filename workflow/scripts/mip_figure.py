"""MIPs of one patient's PET at every time point (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.study import mip_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        timepoints = snakemake.params.timepoints
        images, segmentation = snakemake.input.images, snakemake.input.segmentation
        mip_step(
            patient_id=snakemake.wildcards.patient,
            timepoints=timepoints,
            pet_suv_paths=[f"{images}/{t}/pet_suv.nii.gz" for t in timepoints],
            lesion_paths=[f"{segmentation}/{t}/lesions.nii.gz" for t in timepoints],
            suv_provenance_paths=[f"{images}/{t}/suv.json" for t in timepoints],
            suv_max=snakemake.params.suv_max,
            out=snakemake.output[0],
        )
