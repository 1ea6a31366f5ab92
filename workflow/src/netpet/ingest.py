"""One scan from DICOM to NIfTI: the PET in SUV, the CT, the CT on the PET grid.

Ties together series discovery (:mod:`netpet.dicom`), SUV (:mod:`netpet.suv`) and the samples
sheet's overrides, and writes the outputs atomically.  Outputs carry only the study's IDs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from netpet import dicom
from netpet.config import load_sheet
from netpet.errors import InputError
from netpet.io import write_image, write_json
from netpet.suv import OVERRIDE_KEYS

log = logging.getLogger(__name__)

# CT value outside the CT field of view when resampled to the PET grid: air.
CT_OUTSIDE_HU = -1000.0


def sample_row(samples: pd.DataFrame, patient_id: str, timepoint: str, *, source: str) -> dict:
    """The samples-sheet row of one scan, as a dict; an error if it is absent or repeated."""
    rows = samples[(samples["patient_id"] == patient_id) & (samples["timepoint"] == timepoint)]
    if len(rows) != 1:
        raise InputError(
            f"{source}: expected one row with patient_id {patient_id!r} and timepoint "
            f"{timepoint!r}, found {len(rows)}"
        )
    return {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].items()}


def read_sample(samples_path: str | os.PathLike, patient_id: str, timepoint: str) -> dict:
    """The validated samples sheet's row of one scan (see :func:`sample_row`)."""
    samples = load_sheet(samples_path, "samples")
    return sample_row(samples, patient_id, timepoint, source=str(samples_path))


def ingest_scan(
    *,
    samples_path: str | os.PathLike,
    patient_id: str,
    timepoint: str,
    suv_type: str,
    pet_suv_path: str | os.PathLike,
    ct_path: str | os.PathLike,
    ct_on_pet_path: str | os.PathLike,
    provenance_path: str | os.PathLike,
) -> None:
    """Convert one scan's PET (to SUV) and CT from DICOM to NIfTI.

    Parameters
    ----------
    samples_path
        The samples sheet; its row for ``patient_id`` / ``timepoint`` gives the DICOM folders
        (``pet_dicom``, ``ct_dicom``), an optional ``pet_series_uid`` and SUV overrides.
    suv_type
        ``bw``, ``lbm`` or ``bsa`` (see :func:`netpet.suv.suv_scale_factors`).
    pet_suv_path, ct_path, ct_on_pet_path
        NIfTI outputs: SUV (float32, PET grid), CT in HU (its own grid) and CT resampled
        linearly onto the PET grid (air outside the CT field of view).
    provenance_path
        JSON with the non-identifying acquisition facts and how SUV was computed.
    """
    row = read_sample(samples_path, patient_id, timepoint)
    scan = f"{patient_id}/{timepoint}"
    folders = {Path(row["pet_dicom"]), Path(row["ct_dicom"])}
    for folder in folders:
        if not folder.is_dir():
            raise InputError(
                f"{samples_path}: scan {scan}: DICOM folder {folder} does not exist; "
                "fix pet_dicom / ct_dicom"
            )
    # Each folder's headers are read once, even when PET and CT share the folder.
    found = {folder: dicom.scan_folders([folder]) for folder in sorted(folders)}
    for content in found.values():
        log.info(
            "%s: %d DICOM files in %d series (%d other files, %d DICOMDIR)",
            scan,
            content.n_dicom_files,
            len(content.series),
            content.n_non_dicom_files,
            content.n_dicomdir_files,
        )
    source = f"{scan} ({row['pet_dicom']})"
    pet = dicom.select_pet(
        found[Path(row["pet_dicom"])].series, source=source, series_uid=row.get("pet_series_uid")
    )
    ct = dicom.select_ct(
        found[Path(row["ct_dicom"])].series, pet=pet, source=f"{scan} ({row['ct_dicom']})"
    )
    overrides = {k: row.get(k) for k in OVERRIDE_KEYS}
    pet_suv, provenance = dicom.read_pet_suv(
        pet, suv_type=suv_type, overrides=overrides, source=source
    )
    ct_image = dicom.read_ct(ct)
    ct_on_pet = dicom.resample_to(ct_image, pet_suv, default_value=CT_OUTSIDE_HU)
    write_image(pet_suv_path, pet_suv)
    write_image(ct_path, ct_image)
    write_image(ct_on_pet_path, ct_on_pet)
    summary = {
        "patient_id": patient_id,
        "timepoint": timepoint,
        "pet": dicom.scan_header_summary(pet, provenance=provenance),
        "ct": dicom.scan_header_summary(ct),
    }
    write_json(provenance_path, summary)
    log.info("%s: SUV%s written, uptake %.0f s", scan, suv_type, provenance.uptake_time_s)
