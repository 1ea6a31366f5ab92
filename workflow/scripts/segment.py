"""Tumour segmentation of one scan (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.scan import segment_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        segment_step(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            suv_provenance_path=snakemake.input.suv_provenance,
            tumour_mask_path=snakemake.input.get("tumour_mask"),
            pet_suv_path=snakemake.input.pet_suv,
            organs_path=snakemake.input.organs,
            liver_json_path=snakemake.input.liver_json,
            liver_mask_path=snakemake.input.liver_mask,
            settings=dict(snakemake.params.settings),
            labels_out=snakemake.output.labels,
            info_out=snakemake.output.info,
            dicom_seg_out=snakemake.output.get("dicom_seg"),
            pet_slices_path=snakemake.input.get("pet_slices"),
            uid_salt_path=snakemake.input.get("uid_salt"),
            uid_map_out=snakemake.output.get("uid_map"),
        )
