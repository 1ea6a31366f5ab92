"""Organ labels on the PET grid and the liver reference of one scan (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.scan import organs_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        organs_step(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            pet_suv_path=snakemake.input.pet_suv,
            anatomy_dir=snakemake.input.anatomy,
            organ_labels_path=snakemake.params.organ_labels,
            organ_labels_origin=snakemake.params.origin,
            check_organ_labels=snakemake.params.check,
            liver_reference_settings=dict(snakemake.params.liver_reference),
            checks=dict(snakemake.params.checks),
            organs_out=snakemake.output.organs,
            suv_provenance_path=snakemake.input.suv_provenance,
            liver_json_out=snakemake.output.liver_json,
            liver_mask_out=snakemake.output.liver_mask,
        )
