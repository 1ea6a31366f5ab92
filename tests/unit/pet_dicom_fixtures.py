"""Builders of tiny synthetic PET/CT DICOM series for the tests of netpet.imaging.dicom and suv.

Headers are written by hand here (not by netpet) so that the tests compare netpet against an
independent description of the data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

IDENTITY = {
    "PatientName": "SECRET^PATIENT",
    "PatientID": "MRN-987654",
    "PatientBirthDate": "19591231",
    "AccessionNumber": "ACC-55555",
    "InstitutionName": "Secret Hospital",
    "ReferringPhysicianName": "DOCTOR^WHO",
    "PerformingPhysicianName": "PHYS^ONE",
}
"""Identifying values written into every fixture, which must never reach outputs."""


def ibsi_dro_root() -> Path:
    """Where the IBSI SUV reference objects live: ``<repo parent>/shared/data/ibsi_suv_dro``."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ibsi_suv_dro"


def pet_header(
    *,
    weight_kg: float | None = 80.0,
    height_m: float | None = 1.80,
    sex: str = "M",
    dose: float | None = 200.0e6,
    half_life_s: float | None = 4000.0,
    series_date: str = "20250301",
    series_time: str = "110640",
    acquisition_time: str | None = None,
    injection_datetime: str | None = "20250301100000",
    injection_time: str | None = "100000",
    units: str = "BQML",
    decay_correction: str = "START",
) -> Dataset:
    """A PET header (no pixel or geometry attributes) with the SUV-relevant attributes.

    The defaults give an uptake time of 4000 s = one half-life, so the decayed dose is exactly
    half the injected 200 MBq, and the SUVbw factor is 80000 g / 100e6 Bq = 8e-4 g/Bq.
    """
    ds = Dataset()
    ds.Modality = "PT"
    ds.SOPClassUID = PET_STORAGE
    ds.Manufacturer = "Synthetic"
    ds.SeriesDate = series_date
    ds.SeriesTime = series_time
    ds.AcquisitionDate = series_date
    ds.AcquisitionTime = acquisition_time or series_time
    ds.Units = units
    ds.DecayCorrection = decay_correction
    ds.CorrectedImage = ["NORM", "ATTN", "SCAT", "DECY"]
    ds.PatientSex = sex
    if weight_kg is not None:
        ds.PatientWeight = weight_kg
    if height_m is not None:
        ds.PatientSize = height_m
    item = Dataset()
    if dose is not None:
        item.RadionuclideTotalDose = dose
    if half_life_s is not None:
        item.RadionuclideHalfLife = half_life_s
    if injection_datetime is not None:
        item.RadiopharmaceuticalStartDateTime = injection_datetime
    if injection_time is not None:
        item.RadiopharmaceuticalStartTime = injection_time
    item.Radiopharmaceutical = "Ga68DOTATOC"
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([item])
    return ds


def write_series(
    folder: Path,
    *,
    pixels: np.ndarray,
    modality: str = "PT",
    header: Dataset | None = None,
    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    origin: Sequence[float] = (-10.0, -20.0, 30.0),
    pixel_spacing: tuple[float, float] = (2.0, 3.0),
    slice_positions: Sequence[float] | None = None,
    slice_gap: float = 4.0,
    slopes: Sequence[float] | None = None,
    intercepts: Sequence[float] | None = None,
    series_uid: str | None = None,
    study_uid: str = "1.2.826.0.1.3680043.8.498.1",
    frame_uid: str = "1.2.826.0.1.3680043.8.498.2",
    description: str = "fixture series",
    per_slice: Callable[[Dataset, int], None] | None = None,
    name: Callable[[int], str] = lambda k: f"slice_{k:03d}.dcm",
    extra: Mapping | None = None,
    preamble: bool = True,
) -> tuple[str, list[Path]]:
    """Write ``pixels`` (z, y, x) of stored integers as a single-frame series; return UID, paths.

    Slice ``k`` is at ``origin + slice_positions[k] * normal`` (default ``k * slice_gap``), with
    ``normal = row x column`` of ``orientation``.  ``pixel_spacing`` is DICOM's (row spacing,
    column spacing).  ``per_slice(ds, k)`` may change any attribute of slice ``k``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    orientation = np.asarray(orientation, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    n_slices, rows, columns = pixels.shape
    positions = (
        slice_positions if slice_positions is not None else [k * slice_gap for k in range(n_slices)]
    )
    paths = []
    for k in range(n_slices):
        ds = Dataset()
        if header is not None:
            for element in header:
                ds.add(element)
        for keyword, value in IDENTITY.items():
            setattr(ds, keyword, value)
        ds.Modality = modality
        ds.SOPClassUID = (
            header.SOPClassUID
            if header is not None and "SOPClassUID" in header
            else (PET_STORAGE if modality == "PT" else CT_STORAGE)
        )
        ds.SOPInstanceUID = generate_uid()
        ds.SeriesInstanceUID = series_uid
        ds.StudyInstanceUID = study_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesDescription = description
        ds.InstanceNumber = k + 1
        position = np.asarray(origin, dtype=float) + positions[k] * normal
        ds.ImagePositionPatient = [float(v) for v in position]
        ds.ImageOrientationPatient = [float(v) for v in orientation]
        ds.PixelSpacing = list(pixel_spacing)
        ds.SliceThickness = slice_gap
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleSlope = slopes[k] if slopes is not None else 1.0
        ds.RescaleIntercept = intercepts[k] if intercepts is not None else 0.0
        ds.PixelData = np.ascontiguousarray(pixels[k], dtype=np.int16).tobytes()
        for keyword, value in (extra or {}).items():
            setattr(ds, keyword, value)
        if per_slice is not None:
            per_slice(ds, k)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        path = folder / name(k)
        if preamble:
            ds.save_as(path, enforce_file_format=True)
        else:
            ds.file_meta = FileMetaDataset()
            ds.preamble = None
            pydicom.dcmwrite(path, ds, implicit_vr=True, little_endian=True)
        paths.append(path)
    return series_uid, paths


def write_dicomdir_like(path: Path) -> None:
    """A file named DICOMDIR with the Media Storage Directory SOP class (enough to be skipped)."""
    ds = Dataset()
    ds.FileSetID = "FIXTURE"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
