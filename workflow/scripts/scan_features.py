"""Per-lesion and per-scan PET parameters of one scan (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.scan import features_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        features_step(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            pet_suv_path=snakemake.input.pet_suv,
            labels_path=snakemake.input.labels,
            organs_path=snakemake.input.organs,
            liver_json_path=snakemake.input.liver_json,
            liver_mask_path=snakemake.input.liver_mask,
            segmentation_info_path=snakemake.input.segmentation,
            lesions_out=snakemake.output.lesions,
            scan_out=snakemake.output.scan,
            suv_provenance_path=snakemake.input.suv_provenance,
        )
