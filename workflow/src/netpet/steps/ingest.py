"""One scan from DICOM to NIfTI: the PET in SUV and, when the scan has one, its CT (or MR).

Ties together series discovery (:mod:`netpet.imaging.dicom`), SUV (:mod:`netpet.imaging.suv`)
and the samples sheet's overrides, and writes the outputs atomically.  Outputs carry only the
study's IDs.

The CT is optional: a PET without CT (PET/MR, a CT archived elsewhere, reference objects) gets
its SUV image, and the anatomy folder records that there is no CT.  A PET/MR scan names its MR
folder in ``mr_dicom``; the MR then stands where the CT would (organ masks from MR).

pandas and the sheet validation are imported only by the functions that read a samples sheet:
the workflow's conversion job (:func:`ingest_scan`) needs neither, and their import time is a
good part of a whole-process conversion (benchmarks/conversion.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from netpet.errors import InputError
from netpet.imaging import dicom, seg_io
from netpet.imaging.suv import OVERRIDE_KEYS
from netpet.io import atomic_dir, write_image, write_json

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# Value outside the CT field of view when resampled to the PET grid: air.
CT_OUTSIDE_HU = -1000.0
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"

# Files of the anatomy folder (results/images/{patient}/{timepoint}/anatomy/).
ANATOMY_FILES = {
    "ct": ("ct.nii.gz", "ct_on_pet.nii.gz"),
    "mr": ("mr.nii.gz", "mr_on_pet.nii.gz"),
}
ANATOMY_RECORD = "anatomy.json"


def sample_row(samples: pd.DataFrame, patient_id: str, timepoint: str, *, source: str) -> dict:
    """The samples-sheet row of one scan, as a dict; an error if it is absent or repeated."""
    import pandas as pd

    rows = samples[(samples["patient_id"] == patient_id) & (samples["timepoint"] == timepoint)]
    if len(rows) != 1:
        raise InputError(
            f"{source}: expected one row with patient_id {patient_id!r} and timepoint "
            f"{timepoint!r}, found {len(rows)}"
        )
    return {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].items()}


def read_sample(samples_path: str | os.PathLike, patient_id: str, timepoint: str) -> dict:
    """The validated samples sheet's row of one scan (see :func:`sample_row`)."""
    from netpet.config import load_sheet

    samples = load_sheet(samples_path, "samples")
    return sample_row(samples, patient_id, timepoint, source=str(samples_path))


def anatomy_modality(row: dict) -> str | None:
    """``"ct"``, ``"mr"`` or None: the anatomical image a samples-sheet row names."""
    if row.get("ct_dicom"):
        return "ct"
    if row.get("mr_dicom"):
        return "mr"
    return None


def select_mr(series, *, pet: dicom.SeriesInfo, source: str, series_uid: str | None = None):
    """The MR series of a PET/MR scan: MR Image Storage in the PET's frame of reference.

    PET/MR studies hold many MR series (Dixon in/opposed phase, water, fat, diagnostic
    sequences); a single candidate is taken, several need ``mr_series_uid``.
    """
    mrs = [s for s in series if s.modality == "MR" and s.sop_class_uid == MR_IMAGE_STORAGE]
    if series_uid is not None:
        chosen = [s for s in mrs if s.uid == str(series_uid)]
        if not chosen:
            raise InputError(
                f"{source}: mr_series_uid {series_uid} is not an MR series (MR Image Storage) "
                f"of the folder; MR series found:\n{dicom._listing(mrs)}"
            )
        return chosen[0]
    same_frame = [
        s
        for s in mrs
        if pet.frame_of_reference_uid and s.frame_of_reference_uid == pet.frame_of_reference_uid
    ]
    if len(same_frame) == 1:
        return same_frame[0]
    if not same_frame:
        raise InputError(
            f"{source}: no MR series (MR Image Storage) shares the PET's FrameOfReferenceUID. "
            f"MR series found:\n{dicom._listing(mrs)}\npoint mr_dicom to the PET/MR's MR "
            "folder, or leave mr_dicom empty for a PET-only scan"
        )
    raise InputError(
        f"{source}: {len(same_frame)} MR series share the PET's frame of reference; choose the "
        f"one for organ masks with the samples-sheet column mr_series_uid (a T1 Dixon "
        f"in-phase or water image suits TotalSegmentator's MR task):\n{dicom._listing(same_frame)}"
    )


def ingest_sample(samples_path: str | os.PathLike, patient_id: str, timepoint: str, **kwargs):
    """:func:`ingest_scan` of one row of a samples sheet (for scripts and tests; the workflow
    passes the row's values itself)."""
    row = read_sample(samples_path, patient_id, timepoint)
    modality = anatomy_modality(row)
    ingest_scan(
        patient_id=patient_id,
        timepoint=timepoint,
        pet_dicom=row["pet_dicom"],
        anatomy_dicom=row[f"{modality}_dicom"] if modality else None,
        anatomy_modality=modality,
        pet_series_uid=row.get("pet_series_uid"),
        mr_series_uid=row.get("mr_series_uid"),
        overrides={key: row[key] for key in OVERRIDE_KEYS if row.get(key) is not None},
        **kwargs,
    )


def ingest_scan(
    *,
    patient_id: str,
    timepoint: str,
    pet_dicom: str | os.PathLike,
    anatomy_dicom: str | os.PathLike | None = None,
    anatomy_modality: str | None = None,
    pet_series_uid: str | None = None,
    mr_series_uid: str | None = None,
    overrides: dict | None = None,
    suv_type: str,
    max_uptake_half_lives: float = 6.0,
    pet_suv_path: str | os.PathLike,
    anatomy_dir: str | os.PathLike,
    provenance_path: str | os.PathLike,
    pet_slices_path: str | os.PathLike | None = None,
) -> None:
    """Convert one scan's PET (to SUV) and its CT or MR, if any, from DICOM to NIfTI.

    Parameters
    ----------
    pet_dicom
        Folder holding the PET series (searched recursively; may hold other series).
    anatomy_dicom, anatomy_modality
        Folder holding the scan's CT (``"ct"``) or, for PET/MR, MR (``"mr"``); None for a PET
        without either.
    pet_series_uid, mr_series_uid
        SeriesInstanceUIDs choosing among several attenuation-corrected PET / MR series.
    overrides
        Samples-sheet values winning over the header (``weight_kg``, ...; see
        :data:`netpet.imaging.suv.OVERRIDE_KEYS`).
    suv_type
        ``bw``, ``lbm`` or ``bsa`` (see :func:`netpet.imaging.suv.suv_scale_factors`).
    max_uptake_half_lives
        Longest plausible uptake time in half-lives of the radionuclide (config
        ``suv.max_uptake_half_lives``; see :func:`netpet.imaging.dicom.read_pet_suv`).
    pet_suv_path
        SUV NIfTI (float32, PET grid).
    anatomy_dir
        Folder for the anatomical image: ``ct.nii.gz`` (HU, its own grid) and
        ``ct_on_pet.nii.gz`` (resampled linearly onto the PET grid, air outside the CT field of
        view), or ``mr.nii.gz`` and ``mr_on_pet.nii.gz``, and always ``anatomy.json`` saying
        which (``"modality": null`` for a PET-only scan).
    provenance_path
        JSON with the non-identifying acquisition facts and how SUV was computed, including
        ``suv_per_suvbw``: this scan's SUV of ``suv_type`` per SUVbw (1 for ``bw``), by which
        thresholds stated in SUVbw are converted.
    pet_slices_path
        JSON (private: it holds source UIDs) with what a DICOM SEG needs of each PET slice
        (:func:`netpet.imaging.seg_io.source_slice_record`) and how the slices lie on the image
        grid, so the segmentation step does not read the series again.
    """
    scan = f"{patient_id}/{timepoint}"
    modality = anatomy_modality
    pet_folder = Path(pet_dicom)
    anatomy_folder = Path(anatomy_dicom) if modality else None
    folders = {pet_folder} | ({anatomy_folder} if anatomy_folder else set())
    for folder in sorted(folders):
        if not folder.is_dir():
            column = "pet_dicom" if folder == pet_folder else f"{modality}_dicom"
            raise InputError(
                f"scan {scan}: DICOM folder {folder} ({column}) does not exist; "
                f"fix the {column} column of the samples sheet"
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
    source = f"{scan} ({pet_folder})"
    pet = dicom.select_pet(found[pet_folder].series, source=source, series_uid=pet_series_uid)
    anatomy = None
    if modality == "ct":
        anatomy = dicom.select_ct(
            found[anatomy_folder].series, pet=pet, source=f"{scan} ({anatomy_folder})"
        )
    elif modality == "mr":
        anatomy = select_mr(
            found[anatomy_folder].series,
            pet=pet,
            source=f"{scan} ({anatomy_folder})",
            series_uid=mr_series_uid,
        )
    del found  # the scan keeps every file's header: free the series not converted
    headers = []
    pet_suv, provenance = dicom.read_pet_suv(
        pet,
        suv_type=suv_type,
        overrides=overrides or {},
        source=source,
        max_uptake_half_lives=max_uptake_half_lives,
        headers_out=headers,
    )
    record = {"patient_id": patient_id, "timepoint": timepoint, "modality": modality}
    with atomic_dir(anatomy_dir) as tmp_dir:
        if anatomy is not None:
            image = dicom.read_ct(anatomy, source=f"{scan} {modality.upper()}")
            outside = CT_OUTSIDE_HU if modality == "ct" else 0.0
            on_pet = dicom.resample_to(image, pet_suv, default_value=outside)
            native_name, on_pet_name = ANATOMY_FILES[modality]
            write_image(tmp_dir / native_name, image)
            write_image(tmp_dir / on_pet_name, on_pet)
            record["files"] = [native_name, on_pet_name]
        else:
            record["files"] = []
            record["note"] = (
                "PET only: no ct_dicom or mr_dicom in the samples sheet; outputs that need "
                "the CT (organ masks made by the workflow, CT checks of organ maps) are skipped"
            )
        write_json(tmp_dir / ANATOMY_RECORD, record)
    write_image(pet_suv_path, pet_suv)
    summary = {
        "patient_id": patient_id,
        "timepoint": timepoint,
        "pet": dicom.scan_header_summary(pet, provenance=provenance),
        "suv_per_suvbw": suv_per_suvbw(provenance),
        "anatomy": modality,
        modality or "ct": None if anatomy is None else dicom.scan_header_summary(anatomy),
    }
    write_json(provenance_path, summary)
    if pet_slices_path is not None:
        geometry = dicom.check_geometry(pet)
        write_json(
            pet_slices_path,
            {
                "geometry": {
                    "resampled": geometry.resampled,
                    "positions_mm": [float(p) for p in geometry.positions_mm],
                    "spacing_z_mm": float(geometry.spacing[2]),
                    "n_image_slices": int(geometry.size[2]),
                    "max_position_error_mm": float(geometry.max_position_error_mm),
                },
                "slices": seg_io.source_slice_record(headers),
                # Private: the lesion tracks take the days between a patient's scans from it.
                "scan_datetime": _scan_datetime(headers, provenance.half_life_s, scan),
            },
        )
    if anatomy is None:
        log.info("%s: PET only (no CT or MR in the samples sheet)", scan)
    log.info("%s: SUV%s written, uptake %.0f s", scan, suv_type, provenance.uptake_time_s)


def suv_per_suvbw(provenance) -> float:
    """This scan's SUV of the configured type per SUVbw (1 for SUVbw itself).

    SUV = activity x normaliser / dose: the ratio of two SUV types of one scan is the ratio of
    their normalisers (lean body mass or body surface area, over body weight in g).
    """
    if provenance.suv_type == "bw":
        return 1.0
    return float(provenance.normaliser_value) / (1000.0 * float(provenance.weight_kg))


def _scan_datetime(headers, half_life_s, scan: str) -> str | None:
    """The PET's scan reference time (ISO 8601), or None when the headers give none."""
    from netpet.imaging.suv.times import scan_reference_datetime

    try:
        stamp, _ = scan_reference_datetime(headers, half_life_s=half_life_s, source=scan)
    except (InputError, ValueError):
        return None
    return stamp.isoformat()
