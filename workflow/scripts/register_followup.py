"""Registration of a follow-up scan to its patient's baseline (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.longitudinal import register_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        register_step(
            patient_id=snakemake.wildcards.patient,
            baseline=snakemake.params.baseline,
            timepoint=snakemake.wildcards.timepoint,
            baseline_images_dir=Path(snakemake.input.baseline_pet).parent,
            followup_images_dir=Path(snakemake.input.followup_pet).parent,
            followup_lesions_path=snakemake.input.followup_lesions,
            settings=dict(snakemake.params.settings),
            suv_max=snakemake.params.suv_max,
            transform_out=snakemake.output.transform,
            record_out=snakemake.output.record,
            lesions_out=snakemake.output.lesions,
            qc_out=snakemake.output.qc,
            failed_qc_out=Path(snakemake.log[0]).with_suffix(".png"),
        )
