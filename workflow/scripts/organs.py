"""Organ labels on the PET grid and the liver reference of one scan (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.scan_steps import organs_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        organs_step(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            samples_path=snakemake.input.samples,
            pet_suv_path=snakemake.input.pet_suv,
            liver_reference_settings=dict(snakemake.params.settings),
            organs_out=snakemake.output.organs,
            liver_json_out=snakemake.output.liver_json,
            liver_mask_out=snakemake.output.liver_mask,
        )
