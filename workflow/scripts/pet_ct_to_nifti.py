"""Convert one scan's PET (to SUV) and CT or MR from DICOM to NIfTI (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.ingest import ingest_scan

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        ingest_scan(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            pet_dicom=snakemake.params.folders["pet"],
            anatomy_dicom=snakemake.params.folders.get("anatomy"),
            anatomy_modality=snakemake.params.modality,
            pet_series_uid=snakemake.params.pet_series_uid,
            mr_series_uid=snakemake.params.mr_series_uid,
            overrides=dict(snakemake.params.overrides),
            suv_type=snakemake.params.suv_type,
            max_uptake_half_lives=snakemake.params.max_uptake_half_lives,
            pet_suv_path=snakemake.output.pet_suv,
            anatomy_dir=snakemake.output.anatomy,
            provenance_path=snakemake.output.suv_provenance,
            pet_slices_path=snakemake.output.pet_slices,
        )
