"""Write synthetic PET and CT series as DICOM files, one file per slice.

Explicit VR little endian with valid file meta; PET Image Storage and CT Image Storage.
PET pixels are int16 with a per-slice RescaleSlope (slice maximum / 32767).  The header
variants (``siemens``, ``ge``, ``philips``, ``midnight``, ``time_only``) differ in the tags
the SUV stage must read to get back the intended SUV (see :class:`ScanHeader`).  The opt-in
variant ``ge_jitter`` is ``ge`` with the slice positions of a GE Discovery ST whole-body PET
(see :func:`pet_slice_positions_mm`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    PositronEmissionTomographyImageStorage,
)

from netpet.synthetic.anatomy import Grid

GA68_HALF_LIFE_S = 4062.6  # header value (literature 4057.7-4070 s)
GA68_POSITRON_FRACTION = 0.8911
IMPLEMENTATION_UID = "2.25.237164103245436317226716446413404632551"
PHILIPS_ACTIVITY_FACTOR = 2.7182  # Bq/mL per rescaled count (arbitrary, fixed)
INT16_MAX = 32767
GE_BED_LENGTH_MM = 144.0
"""New axial coverage per bed of the ``ge_jitter`` variant (Discovery ST: 47 slices of 3.27 mm,
3 of them overlapping the next bed)."""
GE_BED_OFFSETS_MM = (0.0, -0.08, -0.06, -0.04, -0.02)
"""Per-bed offsets of ``ge_jitter`` slice positions, cycled: the steps at bed boundaries are
0.08 mm shorter or 0.02 mm longer than the slice spacing (3.19 or 3.29 mm for 3.27 mm)."""
GE_POSITION_DECIMALS = 2
"""``ge_jitter`` positions are rounded to 0.01 mm, as GE scanners write them."""


def make_uid(*parts) -> str:
    """Deterministic DICOM UID ``2.25.<128-bit int>`` from the hash of ``parts``."""
    digest = hashlib.sha256(repr(parts).encode()).digest()[:16]
    return "2.25." + str(int.from_bytes(digest, "big"))


def ds_str(value: float) -> str:
    """A DS string (<= 16 characters) that parses back to ``value`` within 1e-10 relative."""
    text = format(value, ".10g")
    if len(text) > 16:
        text = format(value, ".9g")
    return text


def da(t: dt.datetime) -> str:
    return t.strftime("%Y%m%d")


def tm(t: dt.datetime) -> str:
    return t.strftime("%H%M%S.%f")[:13]  # HHMMSS.ffffff cut to 6 decimals max -> 4


@dataclass
class ScanHeader:
    """Everything the headers of one scan say (times are naive local datetimes).

    ``scan_start`` is the true scan start (decay-correction reference, START);
    ``series_time`` is what SeriesDate/Time hold (after the acquisition for ``ge``);
    ``acquisition_times`` maps PET slice index -> AcquisitionDateTime.
    """

    variant: str
    identity: dict[str, str]  # PatientName, PatientID, PatientBirthDate, AccessionNumber, ...
    sex: str
    age_years: int
    weight_kg: float
    height_m: float
    study_uid: str
    frame_uid: str
    uid_seed: tuple
    injection: dt.datetime
    scan_start: dt.datetime
    series_time: dt.datetime
    dose_bq: float
    bed_seconds: float
    crosses_midnight: bool

    @property
    def is_ge(self) -> bool:
        """GE headers (``ge`` and ``ge_jitter``)."""
        return self.variant in ("ge", "ge_jitter")

    @property
    def manufacturer(self) -> tuple[str, str]:
        return {
            "ge": ("GE MEDICAL SYSTEMS", "Discovery MI"),
            "ge_jitter": ("GE MEDICAL SYSTEMS", "Discovery ST"),
            "philips": ("Philips Medical Systems", "Vereos PET/CT"),
        }.get(self.variant, ("SIEMENS", "Biograph128_Vision 600 Edge"))

    def dose_at_scan_start_bq(self) -> float:
        """Injected dose decayed to the scan start, Bq: ``D * 2 ** (-(t_scan - t_inj) / T)``."""
        elapsed = (self.scan_start - self.injection).total_seconds()
        return self.dose_bq * 2.0 ** (-elapsed / GA68_HALF_LIFE_S)

    def bqml_per_suv(self) -> float:
        """Activity concentration (Bq/mL) of SUVbw 1 at scan start: dose / weight in g."""
        return self.dose_at_scan_start_bq() / (self.weight_kg * 1000.0)


def _base(header: ScanHeader, modality: str, sop_class: str, series_number: int, desc: str):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = "NETPET_SYNTH"
    meta.FileMetaInformationVersion = b"\x00\x01"
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.StudyDate = da(header.scan_start)
    ds.StudyTime = tm(header.scan_start)
    ds.SeriesDate = da(header.series_time)
    ds.SeriesTime = tm(header.series_time)
    ds.Modality = modality
    manufacturer, model = header.manufacturer
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = model
    ds.StationName = header.identity["StationName"]
    ds.InstitutionName = header.identity["InstitutionName"]
    ds.InstitutionAddress = header.identity["InstitutionAddress"]
    ds.ReferringPhysicianName = header.identity["ReferringPhysicianName"]
    ds.PerformingPhysicianName = header.identity["PerformingPhysicianName"]
    ds.OperatorsName = header.identity["OperatorsName"]
    ds.AccessionNumber = header.identity["AccessionNumber"]
    ds.StudyDescription = "PET^WB DOTATOC"
    ds.SeriesDescription = desc
    ds.PatientName = header.identity["PatientName"]
    ds.PatientID = header.identity["PatientID"]
    ds.PatientBirthDate = header.identity["PatientBirthDate"]
    ds.PatientSex = header.sex
    ds.PatientAge = f"{header.age_years:03d}Y"
    ds.PatientSize = ds_str(header.height_m)
    ds.PatientWeight = ds_str(header.weight_kg)
    ds.StudyInstanceUID = header.study_uid
    ds.SeriesInstanceUID = make_uid(*header.uid_seed, "series", series_number)
    ds.StudyID = header.identity["AccessionNumber"][-6:]
    ds.SeriesNumber = series_number
    ds.FrameOfReferenceUID = header.frame_uid
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "FFS" if header.is_ge else "HFS"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    return ds


def _encode(elements) -> list[tuple[int, bytes]]:
    """Explicit VR little endian bytes of each data element, with its tag."""
    out = []
    for elem in elements:
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = False
        write_data_element(fp, elem)
        out.append((int(elem.tag), fp.getvalue()))
    return out


def _write_slices(ds: Dataset, folder: Path, names: list[str], per_slice: Iterable) -> None:
    """Write one file per slice; ``per_slice`` yields (dict of element updates, pixel bytes).

    The elements common to all slices are encoded once; per slice only the updated elements,
    the pixel data and the file meta are encoded (pydicom's ``dcmwrite`` gives the same bytes,
    ten times slower).
    """
    static = None
    meta = ds.file_meta
    for name, (updates, pixels) in zip(names, per_slice, strict=True):
        dynamic = Dataset()
        for key, value in updates.items():
            setattr(dynamic, key, value)
        dynamic.PixelData = pixels
        dynamic["PixelData"].VR = "OW"
        if static is None:
            keys = set(dynamic.keys())
            static = _encode(e for e in ds if e.tag not in keys)
        meta.MediaStorageSOPInstanceUID = updates["SOPInstanceUID"]
        meta_elems = _encode(e for e in meta if e.tag != 0x00020000)
        body_meta = b"".join(b for _, b in meta_elems)
        group_length = b"\x02\x00\x00\x00UL\x04\x00" + len(body_meta).to_bytes(4, "little")
        parts = sorted(static + _encode(iter(dynamic)), key=lambda item: item[0])
        data = b"".join([b"\x00" * 128, b"DICM", group_length, body_meta, *(b for _, b in parts)])
        (folder / name).write_bytes(data)


def quantise_int16(values: np.ndarray) -> tuple[np.ndarray, float]:
    """int16 pixels and the DS slope with ``values ~= pixels * slope`` (slope = max / 32767).

    The slope is rounded to its DS text first, so the pixels are exact for the written slope.
    """
    vmax = float(values.max())
    slope = float(ds_str(vmax / INT16_MAX)) if vmax > 0 else 1.0
    pixels = np.clip(np.rint(values / slope), 0, INT16_MAX).astype("<i2")
    return pixels, slope


def write_pet(
    folder: Path,
    names: list[str],
    suv: np.ndarray,
    grid: Grid,
    header: ScanHeader,
    *,
    series_number: int,
    attenuation_corrected: bool = True,
) -> None:
    """Write a PET series of SUV image ``suv`` (z, y, x) on ``grid``.

    Stored value per voxel: Bq/mL (Units BQML) = SUV x :meth:`ScanHeader.bqml_per_suv`;
    for ``philips`` counts (Units CNTS) = Bq/mL / ``PHILIPS_ACTIVITY_FACTOR`` with private
    (7053,1000) SUV factor and (7053,1009) activity factor.  Per slice: int16 with
    RescaleSlope = slice max / 32767, RescaleIntercept 0.
    """
    desc = "PET WB DOTATOC AC" if attenuation_corrected else "PET WB DOTATOC NAC"
    ds = _base(header, "PT", PositronEmissionTomographyImageStorage, series_number, desc)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    philips = header.variant == "philips"
    ds.Units = "CNTS" if philips else "BQML"
    ds.CountsSource = "EMISSION"
    ds.SeriesType = ["WHOLE BODY", "IMAGE"]
    corrections = ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]
    if not attenuation_corrected:
        corrections = ["NORM", "DTIM", "DECY", "RAN"]
    ds.CorrectedImage = corrections
    ds.RandomsCorrectionMethod = "DLYD"
    ds.AttenuationCorrectionMethod = "CT-derived mu-map" if attenuation_corrected else ""
    ds.DecayCorrection = "START"
    ds.ReconstructionMethod = "OSEM3D 4i20s"
    ds.NumberOfSlices = suv.shape[0]
    ds.NumberOfTimeSlices = 1
    ds.SliceThickness = ds_str(grid.spacing_mm[2])
    ds.PixelSpacing = [ds_str(grid.spacing_mm[1]), ds_str(grid.spacing_mm[0])]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.Rows, ds.Columns = suv.shape[1], suv.shape[2]
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "0"
    ds.RescaleType = "BQML" if not philips else "CNTS"
    ds.ActualFrameDuration = round(header.bed_seconds * 1000)
    info = Dataset()
    info.Radiopharmaceutical = "DOTATOC" if header.is_ge else "Ga68Dotatoc"
    info.RadiopharmaceuticalVolume = "1.5"
    info.RadiopharmaceuticalStartTime = tm(header.injection)
    if header.variant != "time_only":
        info.RadiopharmaceuticalStartDateTime = header.injection.strftime("%Y%m%d%H%M%S.%f")
    info.RadionuclideTotalDose = ds_str(header.dose_bq)
    info.RadionuclideHalfLife = ds_str(GA68_HALF_LIFE_S)
    info.RadionuclidePositronFraction = ds_str(GA68_POSITRON_FRACTION)
    code = Dataset()
    if header.variant == "siemens":
        code.CodeValue, code.CodingSchemeDesignator = "C-131A3", "SRT"
    else:
        code.CodeValue, code.CodingSchemeDesignator = "35337001", "SCT"
    code.CodeMeaning = "^68^Gallium"
    info.RadionuclideCodeSequence = Sequence([code])
    ds.RadiopharmaceuticalInformationSequence = Sequence([info])
    if header.is_ge:
        ds.add_new(0x00090010, "LO", "GEMS_PETD_01")
        ds.add_new(0x0009100D, "DT", header.scan_start.strftime("%Y%m%d%H%M%S.%f"))

    bqml_per_suv = header.bqml_per_suv()
    scale = bqml_per_suv / PHILIPS_ACTIVITY_FACTOR if philips else bqml_per_suv
    if philips:
        ds.add_new(0x70530010, "LO", "Philips PET Private Group")
        ds.add_new(0x70531000, "DS", ds_str(1.0 / scale))  # SUVbw per rescaled count
        ds.add_new(0x70531009, "DS", ds_str(PHILIPS_ACTIVITY_FACTOR))  # Bq/mL per count
    n = suv.shape[0]
    x0, y0, _ = grid.origin_mm
    z = grid.axis(2)
    z_header = pet_slice_positions_mm(header, z, grid.spacing_mm[2])
    if header.variant == "ge_jitter":
        x0, y0 = (round(v, GE_POSITION_DECIMALS) for v in (x0, y0))
    half_life = GA68_HALF_LIFE_S

    def slices():
        for k in range(n):
            pixels, slope = quantise_int16(suv[k].astype(np.float64) * scale)
            acq = acquisition_time(header, k, n, grid)
            decay = 2.0 ** ((acq - header.scan_start).total_seconds() / half_life)
            index = n - k  # slice 1 at the top (head), as scanners list them
            updates = {
                "SOPInstanceUID": make_uid(*header.uid_seed, "pet", series_number, k),
                "InstanceNumber": index,
                "ImageIndex": index,
                "ImagePositionPatient": [ds_str(x0), ds_str(y0), ds_str(z_header[k])],
                "SliceLocation": ds_str(z_header[k]),
                "RescaleSlope": ds_str(slope),
                "AcquisitionDate": da(acq),
                "AcquisitionTime": tm(acq),
                "ContentDate": da(header.series_time),
                "ContentTime": tm(header.series_time),
                "FrameReferenceTime": ds_str((acq - header.scan_start).total_seconds() * 1000),
                "DecayFactor": ds_str(decay),
            }
            yield updates, pixels.tobytes()

    _write_slices(ds, folder, names, slices())


def pet_slice_positions_mm(header: ScanHeader, z_mm: np.ndarray, slice_mm: float) -> list[float]:
    """The z of ImagePositionPatient of each PET slice (0 = lowest z), mm.

    The true positions ``z_mm`` (the truth grid), except for ``ge_jitter``: beds of
    :data:`GE_BED_LENGTH_MM`, each shifted by the next of :data:`GE_BED_OFFSETS_MM`, and
    rounded to 0.01 mm.  The pixel data stay the truth grid's slices, so the header positions
    are off the true ones by at most 0.085 mm, as with a scanner's bed positioning and rounding.
    """
    if header.variant != "ge_jitter":
        return [float(v) for v in z_mm]
    per_bed = max(2, round(GE_BED_LENGTH_MM / slice_mm))
    return [
        round(float(v) + GE_BED_OFFSETS_MM[(k // per_bed) % len(GE_BED_OFFSETS_MM)], 2)
        for k, v in enumerate(z_mm)
    ]


def acquisition_time(header: ScanHeader, k: int, n: int, grid: Grid) -> dt.datetime:
    """AcquisitionDateTime of PET slice ``k`` (0 = lowest z).

    ``ge`` and ``ge_jitter``: feet-first bed positions of 160 mm, each ``bed_seconds`` long, the
    first starting at the scan start; other variants: the scan start on every slice.
    """
    if not header.is_ge:
        return header.scan_start
    bed = int((k * grid.spacing_mm[2]) // 160.0)
    return header.scan_start + dt.timedelta(seconds=bed * header.bed_seconds)


def write_ct(
    folder: Path,
    names: list[str],
    slabs: Iterable[np.ndarray],
    grid: Grid,
    header: ScanHeader,
    *,
    series_number: int,
) -> None:
    """Write a CT series; ``slabs`` yields HU arrays (z, y, x) in slice order (lowest z first).

    Pixels: uint16 = HU + 1024 (clipped to 0..4095), RescaleIntercept -1024, slope 1.
    """
    ds = _base(header, "CT", CTImageStorage, series_number, "CT WB 5.0 B30f")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.KVP = "120"
    ds.SliceThickness = ds_str(grid.spacing_mm[2])
    ds.PixelSpacing = [ds_str(grid.spacing_mm[1]), ds_str(grid.spacing_mm[0])]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.Rows, ds.Columns = grid.shape[1], grid.shape[2]
    ds.PixelRepresentation = 0
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.ConvolutionKernel = "B30f"
    ds.AcquisitionDate = da(header.scan_start - dt.timedelta(minutes=2))
    ds.AcquisitionTime = tm(header.scan_start - dt.timedelta(minutes=2))
    x0, y0, _ = grid.origin_mm
    z = grid.axis(2)
    n = grid.shape[0]

    def slices():
        k = 0
        for slab in slabs:
            for plane in slab:
                pixels = np.clip(np.rint(plane) + 1024, 0, 4095).astype("<u2")
                yield (
                    {
                        "SOPInstanceUID": make_uid(*header.uid_seed, "ct", series_number, k),
                        "InstanceNumber": n - k,
                        "ImagePositionPatient": [ds_str(x0), ds_str(y0), ds_str(float(z[k]))],
                        "SliceLocation": ds_str(float(z[k])),
                    },
                    pixels.tobytes(),
                )
                k += 1

    _write_slices(ds, folder, names, slices())


def write_scout(folder: Path, name: str, header: ScanHeader, *, series_number: int) -> None:
    """Write a one-image CT localizer (topogram) series: irrelevant to the analysis."""
    ds = _base(header, "CT", CTImageStorage, series_number, "Topogram 0.6 T20f")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "0", "-1"]
    ds.ImagePositionPatient = ["-250", "0", "600"]
    ds.PixelSpacing = ["2", "2"]
    ds.SliceThickness = "1"
    ds.Rows, ds.Columns = 64, 64
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.InstanceNumber = 1
    yy, xx = np.mgrid[0:64, 0:64]
    pixels = (1024 + 600 * np.exp(-((xx - 32) ** 2) / 300.0) * (yy < 60)).astype("<u2")
    updates = {"SOPInstanceUID": make_uid(*header.uid_seed, "scout", series_number)}
    _write_slices(ds, folder, [name], [(updates, pixels.tobytes())])


def slice_names(layout: str, prefix: str, n: int, start: int) -> list[str]:
    """File names of ``n`` slices: ``<prefix>_0001.dcm`` or ``IM<counter>`` (no extension)."""
    if layout == "noext":
        return [f"IM{start + k:05d}" for k in range(n)]
    return [f"{prefix}_{k + 1:04d}.dcm" for k in range(n)]


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a finished temporary folder onto ``final`` (removing an older one first)."""
    import shutil

    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def age_at(birth: dt.date, when: dt.date) -> int:
    """Whole years from ``birth`` to ``when``."""
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))
