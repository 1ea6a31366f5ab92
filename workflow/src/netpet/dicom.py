"""DICOM ingest: find series in folders, pick the PET and CT, check geometry, read images.

Series are grouped by SeriesInstanceUID, never by folder or file name: files may lack
extensions and one series may span folders.  Every header is read once (without pixels) while
scanning; reading an image reads each of its files once more, with pixels.

Geometry conventions: DICOM and SimpleITK use LPS patient coordinates in mm; SimpleITK origin
and spacing are (x, y, z); numpy arrays from SimpleITK are (z, y, x).  Slices are sorted along
the slice normal ``n = row direction x column direction`` so that the image's z axis points
along ``n``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from netpet import suv as suv_module
from netpet.errors import InputError

log = logging.getLogger(__name__)

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.130"
ENHANCED_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"

SPACING_REL_TOL = 0.01
"""Slice gaps may differ from the median gap by 1 % (or :data:`SPACING_ABS_TOL_MM`)."""
SPACING_ABS_TOL_MM = 0.01
MISSING_SLICE_FACTOR = 1.5
"""A gap above 1.5 x the median gap means missing slices."""
ORIENTATION_TOL = 1e-4
DUPLICATE_TOL_MM = 1e-3


@dataclass(frozen=True)
class SliceHeader:
    """Geometry of one image file: position (x, y, z) mm LPS, orientation, matrix, spacing."""

    path: Path
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    rows: int | None
    columns: int | None
    pixel_spacing: tuple[float, float] | None
    instance_number: int | None


@dataclass(frozen=True)
class SeriesInfo:
    """One DICOM series found on disk, its files sorted along the slice normal.

    ``header`` is the header (no pixels) of the first file in that order.  ``slices`` holds the
    per-file geometry used by :func:`check_geometry`.  ``folders`` are the folders holding the
    files (for messages only: grouping is by ``uid``).
    """

    uid: str
    modality: str
    sop_class_uid: str
    files: tuple[Path, ...]
    study_uid: str | None
    frame_of_reference_uid: str | None
    series_description: str
    corrected_image: tuple[str, ...]
    image_type: tuple[str, ...]
    manufacturer: str
    n_files: int
    header: pydicom.Dataset = field(repr=False, compare=False)
    slices: tuple[SliceHeader, ...] = field(repr=False, compare=False, default=())
    folders: tuple[Path, ...] = ()

    def describe(self) -> str:
        """Short human-readable name for messages: description, UID, file count, folders."""
        folders = ", ".join(str(f) for f in self.folders[:3])
        if len(self.folders) > 3:
            folders += ", ..."
        return (
            f"series '{self.series_description}' (SeriesInstanceUID {self.uid}, "
            f"{self.modality}, {self.n_files} files in {folders})"
        )


@dataclass(frozen=True)
class FolderScan:
    """Result of :func:`scan_folders`: the series and how many files were skipped."""

    series: list[SeriesInfo]
    n_dicom_files: int
    n_non_dicom_files: int
    n_dicomdir_files: int


@dataclass(frozen=True)
class Geometry:
    """Checked geometry of a series; spacing and origin (x, y, z) in mm, LPS."""

    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    direction: tuple[float, ...]
    size: tuple[int, int, int]


# ---------------------------------------------------------------------------------------------
# Finding series


def _read_header(path: Path) -> pydicom.Dataset | None:
    """Header without pixels, or None for a non-DICOM file.

    A file is DICOM when it has the ``DICM`` preamble, or (raw data sets without preamble)
    when it starts with an element of group 0002 or 0008 and reads with ``force=True`` to a
    data set holding SOP Class UID and Series Instance UID.
    """
    try:
        with open(path, "rb") as handle:
            start = handle.read(132)
    except OSError:
        return None
    preamble = start[128:132] == b"DICM"
    if not preamble and start[:2] not in (b"\x02\x00", b"\x08\x00"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom's guesses about raw files are expected
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=not preamble)
    except Exception:  # truncated or garbled file: not usable DICOM
        return None
    if "SOPClassUID" not in ds or "SeriesInstanceUID" not in ds:
        return ds if getattr(ds, "file_meta", None) is not None and preamble else None
    return ds


def _floats(value, n: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == n else None


def _slice_header(path: Path, ds: pydicom.Dataset) -> SliceHeader:
    instance = ds.get("InstanceNumber")
    return SliceHeader(
        path=path,
        position=_floats(ds.get("ImagePositionPatient"), 3),
        orientation=_floats(ds.get("ImageOrientationPatient"), 6),
        rows=int(ds.Rows) if "Rows" in ds else None,
        columns=int(ds.Columns) if "Columns" in ds else None,
        pixel_spacing=_floats(ds.get("PixelSpacing"), 2),
        instance_number=int(instance) if instance not in (None, "") else None,
    )


def _normal(orientation: Sequence[float]) -> np.ndarray:
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    return np.cross(row, column)


def _sort_key(normal: np.ndarray | None):
    def key(item):
        header: SliceHeader = item[0]
        if normal is not None and header.position is not None:
            along = float(np.dot(normal, header.position))
        else:
            along = 0.0
        number = header.instance_number if header.instance_number is not None else 0
        return (along, number, str(header.path))

    return key


def scan_folders(folders: Iterable[str | os.PathLike]) -> FolderScan:
    """Walk ``folders`` recursively and group DICOM files into series by SeriesInstanceUID.

    Each file's header is read once, without pixels.  Non-DICOM files and DICOMDIR files are
    skipped and counted.  Walk order is sorted, so the result is deterministic.
    """
    groups: dict[str, list[tuple[SliceHeader, pydicom.Dataset]]] = {}
    n_dicom = n_other = n_dicomdir = 0
    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if not folder.exists():
            raise InputError(f"DICOM folder {folder} does not exist; fix the samples sheet path")
        paths = [folder] if folder.is_file() else _walk(folder)
        for path in paths:
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if path.name.upper() == "DICOMDIR":
                n_dicomdir += 1
                continue
            ds = _read_header(path)
            if ds is None:
                n_other += 1
                continue
            meta_class = getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", None)
            if meta_class == MEDIA_STORAGE_DIRECTORY:
                n_dicomdir += 1
                continue
            uid = str(ds.get("SeriesInstanceUID", "") or "")
            if not uid:
                n_other += 1
                continue
            n_dicom += 1
            groups.setdefault(uid, []).append((_slice_header(path, ds), ds))
    series = [_series_info(uid, items) for uid, items in groups.items()]
    series.sort(key=lambda s: (s.modality, s.series_description, s.uid))
    log.info(
        "found %d series in %d DICOM files; skipped %d non-DICOM and %d DICOMDIR files",
        len(series),
        n_dicom,
        n_other,
        n_dicomdir,
    )
    return FolderScan(series, n_dicom, n_other, n_dicomdir)


def _walk(folder: Path) -> list[Path]:
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths.extend(Path(root) / name for name in sorted(files))
    return paths


def _series_info(uid: str, items: list[tuple[SliceHeader, pydicom.Dataset]]) -> SeriesInfo:
    """Sort one series' files along the normal; keep the first file's header only."""
    orientation = next((h.orientation for h, _ in items if h.orientation is not None), None)
    normal = _normal(orientation) if orientation is not None else None
    items = sorted(items, key=_sort_key(normal))
    slices = tuple(h for h, _ in items)
    header = items[0][1]
    return SeriesInfo(
        uid=uid,
        modality=str(header.get("Modality", "") or ""),
        sop_class_uid=str(header.get("SOPClassUID", "") or ""),
        files=tuple(h.path for h in slices),
        study_uid=str(header.get("StudyInstanceUID")) if header.get("StudyInstanceUID") else None,
        frame_of_reference_uid=(
            str(header.get("FrameOfReferenceUID")) if header.get("FrameOfReferenceUID") else None
        ),
        series_description=str(header.get("SeriesDescription", "") or ""),
        corrected_image=tuple(str(v).upper() for v in _multi(header.get("CorrectedImage"))),
        image_type=tuple(str(v).upper() for v in _multi(header.get("ImageType"))),
        manufacturer=str(header.get("Manufacturer", "") or ""),
        n_files=len(slices),
        header=header,
        slices=slices,
        folders=tuple(sorted({h.path.parent for h in slices})),
    )


def _multi(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def find_series(folders: Iterable[str | os.PathLike]) -> list[SeriesInfo]:
    """All DICOM series under ``folders`` (recursive), grouped by SeriesInstanceUID.

    See :func:`scan_folders`, which also returns the counts of skipped files.
    """
    return scan_folders(folders).series


# ---------------------------------------------------------------------------------------------
# Choosing the PET and the CT


def is_attenuation_corrected_pet(info: SeriesInfo) -> bool:
    """PT modality, PET Image Storage, and CorrectedImage (0028,0051) containing ATTN."""
    return (
        info.modality == "PT"
        and info.sop_class_uid == PET_IMAGE_STORAGE
        and "ATTN" in info.corrected_image
    )


def _listing(series: Iterable[SeriesInfo]) -> str:
    lines = [f"  - {s.describe()}, CorrectedImage {list(s.corrected_image)}" for s in series]
    return "\n".join(lines) if lines else "  (none)"


def select_pet(
    series: Sequence[SeriesInfo], *, source: str, series_uid: str | None = None
) -> SeriesInfo:
    """The attenuation-corrected PET series among ``series``.

    Parameters
    ----------
    series : sequence of SeriesInfo
    source : str
        Names the scan in error messages (e.g. ``"P01/basal (/data/P01)"``).
    series_uid : str, optional
        The SeriesInstanceUID to use (samples-sheet column ``pet_series_uid``) when several
        attenuation-corrected PET series are present.

    Raises
    ------
    InputError
        No AC PET (a PET without ATTN in CorrectedImage is not attenuation corrected), several
        AC PET without ``series_uid``, or ``series_uid`` not found / not an AC PET.
    """
    pets = [s for s in series if s.modality == "PT"]
    if series_uid is not None:
        match = [s for s in series if s.uid == str(series_uid)]
        if not match:
            raise InputError(
                f"{source}: pet_series_uid {series_uid} is not among the series found; "
                f"PET series present:\n{_listing(pets)}\nfix pet_series_uid in the samples sheet"
            )
        if not is_attenuation_corrected_pet(match[0]):
            raise InputError(
                f"{source}: pet_series_uid {series_uid} is not an attenuation-corrected PET "
                f"(needs Modality PT, PET Image Storage, CorrectedImage with ATTN): "
                f"{match[0].describe()}, CorrectedImage {list(match[0].corrected_image)}"
            )
        return match[0]
    corrected = [s for s in series if is_attenuation_corrected_pet(s)]
    if len(corrected) == 1:
        return corrected[0]
    if not corrected:
        enhanced = [s for s in series if s.sop_class_uid == ENHANCED_PET_IMAGE_STORAGE]
        hint = (
            " (Enhanced PET multi-frame objects are not supported: export classic PET images)"
            if enhanced
            else ""
        )
        raise InputError(
            f"{source}: no attenuation-corrected PET series (Modality PT, PET Image Storage, "
            f"CorrectedImage (0028,0051) containing ATTN){hint}. PET series found:\n"
            f"{_listing(pets)}\nadd the AC PET to the folder given in pet_dicom"
        )
    raise InputError(
        f"{source}: {len(corrected)} attenuation-corrected PET series; choose one with the "
        f"samples-sheet column pet_series_uid:\n{_listing(corrected)}"
    )


def select_ct(
    series: Sequence[SeriesInfo], *, pet: SeriesInfo, source: str | None = None
) -> SeriesInfo:
    """The CT series of the PET/CT: same FrameOfReferenceUID (else same study), most slices.

    Only CT Image Storage series count, and never a localizer (ImageType containing LOCALIZER).
    Ties in slice count go to the smaller SeriesInstanceUID, so the choice is deterministic.
    """
    source = source or pet.describe()
    cts = [
        s
        for s in series
        if s.modality == "CT"
        and s.sop_class_uid == CT_IMAGE_STORAGE
        and "LOCALIZER" not in s.image_type
    ]
    same_frame = [
        s
        for s in cts
        if pet.frame_of_reference_uid and s.frame_of_reference_uid == pet.frame_of_reference_uid
    ]
    candidates = same_frame or [s for s in cts if pet.study_uid and s.study_uid == pet.study_uid]
    if not candidates:
        others = [s for s in series if s.modality == "CT"]
        raise InputError(
            f"{source}: no CT series (CT Image Storage, not a localizer) shares the PET's "
            f"FrameOfReferenceUID or StudyInstanceUID. CT series found:\n{_listing(others)}\n"
            "point ct_dicom in the samples sheet to the folder with the PET/CT's CT"
        )
    return sorted(candidates, key=lambda s: (-s.n_files, s.uid))[0]


# ---------------------------------------------------------------------------------------------
# Geometry


def check_geometry(info: SeriesInfo) -> Geometry:
    """Check that a series forms one regular 3-D grid and return that grid.

    One ImageOrientationPatient; the same Rows, Columns and PixelSpacing; no two slices at the
    same position; no missing slices (gap > 1.5 x the median gap); uniform gaps (within 1 % of
    the median or 0.01 mm); slices stacked straight along the normal (no gantry tilt).
    Positions are along the slice normal, in mm.

    Raises
    ------
    InputError
        Naming the series (description, SeriesInstanceUID, folders), the problem and the slice
        positions and files involved.
    """
    slices = info.slices
    name = info.describe()
    if not slices:
        raise InputError(f"{name}: no image files")
    missing = [s.path.name for s in slices if s.position is None or s.orientation is None]
    if missing:
        raise InputError(
            f"{name}: files without ImagePositionPatient/ImageOrientationPatient "
            f"(0020,0032)/(0020,0037): {missing[:5]}; not an image volume"
        )
    reference = np.asarray(slices[0].orientation)
    odd = [
        s for s in slices if np.max(np.abs(np.asarray(s.orientation) - reference)) > ORIENTATION_TOL
    ]
    if odd:
        raise InputError(
            f"{name}: mixed ImageOrientationPatient (0020,0037): {list(reference)} in "
            f"{slices[0].path.name} but {list(odd[0].orientation)} in {odd[0].path.name} "
            f"({len(odd)} files differ); the series is not one volume: export it again or "
            "remove the extra images"
        )
    for attribute in ("rows", "columns", "pixel_spacing"):
        values = {getattr(s, attribute) for s in slices}
        if len(values) > 1 or None in values:
            raise InputError(
                f"{name}: {attribute} differs between files or is missing: "
                f"{sorted(map(str, values))}; the series is not one volume"
            )
    normal = _normal(reference)
    along = np.array([float(np.dot(normal, s.position)) for s in slices])
    if len(slices) > 1:
        gaps = np.diff(along)
        duplicates = np.flatnonzero(gaps < DUPLICATE_TOL_MM)
        if duplicates.size:
            i = int(duplicates[0])
            raise InputError(
                f"{name}: duplicate slice position {along[i]:.3f} mm along the normal "
                f"({slices[i].path.name}, {slices[i + 1].path.name}; "
                f"{duplicates.size} duplicate(s)); "
                "remove the duplicate images"
            )
        median = float(np.median(gaps))
        missing_gaps = np.flatnonzero(gaps > MISSING_SLICE_FACTOR * median)
        if missing_gaps.size:
            where = ", ".join(
                f"{along[i]:.3f}-{along[i + 1]:.3f} mm" for i in missing_gaps[:5].tolist()
            )
            raise InputError(
                f"{name}: missing slices: gap(s) larger than {MISSING_SLICE_FACTOR} x the "
                f"median spacing {median:.3f} mm between positions {where}; export the "
                "complete series"
            )
        tolerance = max(SPACING_REL_TOL * median, SPACING_ABS_TOL_MM)
        uneven = np.flatnonzero(np.abs(gaps - median) > tolerance)
        if uneven.size:
            where = ", ".join(
                f"{along[i]:.3f}-{along[i + 1]:.3f} mm ({gaps[i]:.3f} mm)"
                for i in uneven[:5].tolist()
            )
            raise InputError(
                f"{name}: non-uniform slice spacing (median {median:.3f} mm, tolerance "
                f"{tolerance:.3f} mm) at {where}; resample the series or export it again"
            )
        # Positions must lie on the line origin + k * spacing * normal.
        first = np.asarray(slices[0].position)
        offsets = np.array([np.asarray(s.position) - first for s in slices])
        in_plane = offsets - np.outer(offsets @ normal, normal)
        if np.max(np.abs(in_plane)) > max(tolerance, 0.01):
            k = int(np.argmax(np.max(np.abs(in_plane), axis=1)))
            raise InputError(
                f"{name}: slices are shifted in-plane (gantry tilt or mixed stacks): "
                f"{slices[k].path.name} is offset by {in_plane[k].round(3).tolist()} mm; "
                "tilted series are not supported: export a tilt-corrected series"
            )
        spacing_z = median
    else:
        thickness = info.header.get("SliceThickness")
        spacing_z = float(thickness) if thickness else 1.0
    row_spacing, column_spacing = slices[0].pixel_spacing
    direction = np.column_stack([reference[:3], reference[3:], normal])
    return Geometry(
        origin=tuple(float(v) for v in slices[0].position),
        spacing=(column_spacing, row_spacing, spacing_z),
        direction=tuple(float(v) for v in direction.ravel()),
        size=(int(slices[0].columns), int(slices[0].rows), len(slices)),
    )


def _image(array_zyx: np.ndarray, geometry: Geometry) -> sitk.Image:
    image = sitk.GetImageFromArray(array_zyx)
    image.SetOrigin(geometry.origin)
    image.SetSpacing(geometry.spacing)
    image.SetDirection(geometry.direction)
    return image


def _read_pixels(
    info: SeriesInfo, geometry: Geometry, *, dtype, int16_if_exact: bool = False
) -> tuple[np.ndarray, list]:
    """Read every file once: rescaled pixels (z, y, x) and the headers (pixel data dropped).

    With ``int16_if_exact`` the volume stays int16 while every slice's rescaled values are
    integers within int16 (CT in HU), and switches to ``dtype`` at the first slice that is not.
    """
    columns, rows, n = geometry.size
    volume = np.empty((n, rows, columns), dtype=np.int16 if int16_if_exact else dtype)
    headers = []
    for k, path in enumerate(info.files):
        ds = pydicom.dcmread(path, force=True)
        if str(ds.get("SeriesInstanceUID", "")) != info.uid:
            raise InputError(f"{path}: changed on disk since the folder scan (other series)")
        if int(ds.get("NumberOfFrames", 1) or 1) != 1:
            raise InputError(f"{path}: multi-frame images are not supported; export single frames")
        try:
            pixels = ds.pixel_array
        except Exception as error:
            raise InputError(
                f"{path}: cannot decode pixel data (transfer syntax "
                f"{ds.file_meta.get('TransferSyntaxUID', '?')}): {error}"
            ) from error
        if pixels.shape != (rows, columns):
            raise InputError(f"{path}: pixel data shape {pixels.shape} != ({rows}, {columns})")
        slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
        intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
        if volume.dtype == np.int16:
            if slope == 1.0 and intercept.is_integer():
                values = pixels.astype(np.int32) + int(intercept)
                if values.min() >= -32768 and values.max() <= 32767:
                    volume[k] = values
                    del ds.PixelData
                    headers.append(ds)
                    continue
            volume = volume.astype(dtype)
        volume[k] = pixels * slope + intercept
        del ds.PixelData
        headers.append(ds)
    return volume, headers


# ---------------------------------------------------------------------------------------------
# Reading images


def read_pet_suv(
    series: SeriesInfo,
    *,
    suv_type: str = "bw",
    overrides: Mapping | None = None,
    source: str | None = None,
) -> tuple[sitk.Image, suv_module.SuvProvenance]:
    """Read a PET series as an SUV image (float32, LPS) with the provenance of its SUV.

    Each file is read once; per-slice RescaleSlope/Intercept are applied in floating point and
    the per-slice SUV factors of :func:`netpet.suv.suv_scale_factors` multiply the slices.

    Parameters
    ----------
    series : SeriesInfo
        The PET series (see :func:`select_pet`); its geometry is checked first.
    suv_type : {"bw", "lbm", "bsa"}
        SUVbw (default), SUL (Janmahasatian) or SUVbsa.
    overrides : mapping, optional
        Samples-sheet values winning over the header (see :func:`netpet.suv.suv_scale_factors`).
    source : str, optional
        Names the scan in error messages; defaults to the series description.

    Returns
    -------
    image : SimpleITK.Image
        float32 SUV, origin/spacing (x, y, z) in mm, direction from ImageOrientationPatient.
    provenance : SuvProvenance
    """
    source = source or series.describe()
    geometry = check_geometry(series)
    volume, headers = _read_pixels(series, geometry, dtype=np.float64)
    factors, provenance = suv_module.suv_scale_factors(
        headers, suv_type=suv_type, overrides=overrides, source=source
    )
    volume *= factors[:, None, None]
    return _image(volume.astype(np.float32), geometry), provenance


def read_ct(series: SeriesInfo) -> sitk.Image:
    """Read a CT series in Hounsfield units, (z, y, x) slices along the normal, LPS geometry.

    int16 when every slice's rescale is integral and the values fit, else float32 (keeps a
    whole-body CT at half the memory).
    """
    geometry = check_geometry(series)
    volume, _ = _read_pixels(series, geometry, dtype=np.float32, int16_if_exact=True)
    return _image(volume, geometry)


_INTERPOLATORS = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}


def resample_to(
    image: sitk.Image,
    reference: sitk.Image,
    *,
    interpolator: str = "linear",
    default_value: float = 0.0,
) -> sitk.Image:
    """Resample ``image`` onto the grid (origin, spacing, direction, size) of ``reference``.

    Physical (LPS mm) coordinates are matched with the identity transform.  ``"linear"``
    returns float32 (use it for CT HU and PET SUV), ``"nearest"`` keeps the pixel type (use it
    for label maps).  Points outside ``image`` get ``default_value`` (e.g. -1000 HU for CT).
    """
    if interpolator not in _INTERPOLATORS:
        raise ValueError(f"interpolator must be one of {sorted(_INTERPOLATORS)}")
    pixel_type = image.GetPixelID() if interpolator == "nearest" else sitk.sitkFloat32
    if interpolator == "linear" and image.GetPixelID() != sitk.sitkFloat32:
        image = sitk.Cast(image, sitk.sitkFloat32)
    return sitk.Resample(
        image,
        reference,
        sitk.Transform(),
        _INTERPOLATORS[interpolator],
        float(default_value),
        pixel_type,
    )


# ---------------------------------------------------------------------------------------------
# Provenance


def scan_header_summary(
    series: SeriesInfo, *, provenance: suv_module.SuvProvenance | None = None
) -> dict:
    """Non-identifying acquisition facts of a series, for provenance files.

    Only whitelisted technical attributes: modality, manufacturer and model, series
    description, units, decay correction, reconstruction, matrix and voxel size, radionuclide,
    and (from ``provenance``) dose, weight, times relative to injection in seconds.  Never
    patient name, ID, birth date, accession number, institution, physicians, UIDs or dates.
    """
    ds = series.header
    item = suv_module._radiopharmaceutical(ds)
    nuclide = None
    if item is not None and item.get("RadionuclideCodeSequence"):
        nuclide = str(item.RadionuclideCodeSequence[0].get("CodeMeaning", "") or "") or None

    def text(keyword, dataset=ds):
        value = dataset.get(keyword) if dataset is not None else None
        return None if value in (None, "") else str(value)

    def number(keyword, dataset=ds):
        value = dataset.get(keyword) if dataset is not None else None
        try:
            return None if value in (None, "") else float(value)
        except (TypeError, ValueError):
            return None

    geometry = None
    try:
        geometry = check_geometry(series)
    except InputError:
        pass
    summary = {
        "modality": series.modality,
        "manufacturer": series.manufacturer or None,
        "manufacturer_model_name": text("ManufacturerModelName"),
        "series_description": series.series_description or None,
        "n_slices": series.n_files,
        "corrected_image": list(series.corrected_image),
        "units": text("Units"),
        "decay_correction": text("DecayCorrection"),
        "reconstruction_method": text("ReconstructionMethod"),
        "convolution_kernel": text("ConvolutionKernel"),
        "radiopharmaceutical": text("Radiopharmaceutical", item),
        "radionuclide": nuclide,
        "header_half_life_s": number("RadionuclideHalfLife", item),
        "frame_duration_s": (
            None if number("ActualFrameDuration") is None else number("ActualFrameDuration") / 1000
        ),
        "slice_thickness_mm": number("SliceThickness"),
        "spacing_xyz_mm": None if geometry is None else list(geometry.spacing),
        "size_xyz": None if geometry is None else list(geometry.size),
    }
    if provenance is not None:
        summary.update(
            {
                "suv_type": provenance.suv_type,
                "dose_bq": provenance.dose_bq,
                "decayed_dose_bq": provenance.decayed_dose_bq,
                "weight_kg": provenance.weight_kg,
                "height_m": provenance.height_m,
                "half_life_s": provenance.half_life_s,
                "uptake_time_s": provenance.uptake_time_s,
                "scan_reference_time_source": provenance.scan_reference_time_source,
                "injection_time_source": provenance.injection_time_source,
                "overrides_applied": list(provenance.overrides_applied),
            }
        )
    return summary
