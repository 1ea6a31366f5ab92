"""MIPs of one patient's PET at every time point (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

import SimpleITK as sitk

from netpet.figures.mip import mip_timepoints_figure
from netpet.logs import log_to

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        mip_timepoints_figure(
            [sitk.ReadImage(path) for path in snakemake.input.pet_suv],
            snakemake.params.timepoints,
            patient_id=snakemake.wildcards.patient,
            labels=[sitk.ReadImage(path) for path in snakemake.input.get("lesions", [])] or None,
            suv_max=snakemake.config["report"]["mip_suv_max"],
            path=snakemake.output[0],
        )
