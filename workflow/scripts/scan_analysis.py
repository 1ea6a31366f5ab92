"""Organs, segmentation, features, radiomics and QC picture of one scan (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.scan import scan_analysis

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        inputs, outputs, params = snakemake.input, snakemake.output, snakemake.params
        scan_analysis(
            patient_id=snakemake.wildcards.patient,
            timepoint=snakemake.wildcards.timepoint,
            pet_suv_path=inputs.pet_suv,
            anatomy_dir=inputs.anatomy,
            suv_provenance_path=inputs.suv_provenance,
            organ_labels_path=params.organ_labels,
            organ_labels_origin=params.origin,
            check_organ_labels=params.check,
            liver_reference_settings=dict(params.liver_reference),
            organ_checks=dict(params.checks),
            segmentation_settings=dict(params.segmentation),
            tumour_mask_path=inputs.get("tumour_mask"),
            pet_slices_path=inputs.get("pet_slices"),
            uid_salt_path=inputs.get("uid_salt"),
            radiomics_params_path=inputs.get("radiomics_params"),
            radiomics_settings=dict(params.radiomics),
            qc_suv_max=params.qc_suv_max,
            krenning_settings=dict(params.krenning),
            outputs=dict(outputs.items()),
        )
