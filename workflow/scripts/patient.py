"""Every per-patient step: conversion, analysis, registration and tracks (Snakemake adapter)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))

from netpet.logs import log_to
from netpet.steps.patient import patient_step

if __name__ == "__main__":
    with log_to(snakemake.log[0]):
        inputs, params = snakemake.input, snakemake.params
        patient_step(
            patient_id=snakemake.wildcards.patient,
            scans=list(params.scans),
            baseline=params.baseline,
            outputs=dict(snakemake.output.items()),
            suv_type=params.suv_type,
            max_uptake_half_lives=params.max_uptake_half_lives,
            liver_reference_settings=dict(params.liver_reference),
            organ_checks=dict(params.checks),
            totalsegmentator_settings=dict(params.totalsegmentator),
            segmentation_settings=dict(params.segmentation),
            radiomics_settings=dict(params.radiomics),
            krenning_settings=dict(params.krenning),
            qc_suv_max=params.qc_suv_max,
            registration_settings=dict(params.registration),
            track_settings=dict(params.tracks),
            threads=snakemake.threads,
            uid_salt_path=inputs.get("uid_salt"),
            radiomics_params_path=inputs.get("radiomics_params"),
            failed_qc_dir=Path(snakemake.log[0]).parent,
        )
