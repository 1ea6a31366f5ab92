"""DICOM ingest: find series in folders, pick the PET and CT, check geometry, read images.

Series are grouped by SeriesInstanceUID, never by folder or file name: files may lack
extensions and one series may span folders.  Every header is parsed once, while scanning; the
scan keeps each file's header and where its Pixel Data element starts, so reading an image
reads only the pixel bytes of each file (uncompressed little-endian data are taken straight
from the file, with the values ``Dataset.pixel_array`` gives; other transfer syntaxes are
decoded by pydicom).  Files that are not DICOM or cannot be read are skipped, but remembered by
name: an error about a missing slice lists the skipped files of the series' folders.

Geometry conventions: DICOM and SimpleITK use LPS patient coordinates in mm; SimpleITK origin
and spacing are (x, y, z); numpy arrays from SimpleITK are (z, y, x).  Slices are sorted along
the slice normal ``n = row direction x column direction`` so that the image's z axis points
along ``n``.

Slice positions (:func:`check_geometry`)
----------------------------------------
Scanners write ImagePositionPatient rounded (GE: to 0.01 mm) and whole-body PET is stitched
from bed positions, so the steps between slices jitter (a GE Discovery ST: 3.27 mm slices,
3.19 or 3.29 mm at bed boundaries).  How the reference readers treat this:

* ITK's ImageSeriesReader (SimpleITK) spaces the slices evenly from the first to the last
  position, ``(last - first) / (n - 1)``, and only warns ("Non uniform sampling or missing
  slices detected") when a step differs from that by more than SpacingWarningRelThreshold
  (1e-4) x the spacing; it never refuses, not even for a missing slice.
* dcm2niix takes the first step as the spacing and accepts, silently, every step within
  0.2 mm of it; beyond that it warns "Interslice distance varies in this volume" and writes,
  besides the evenly spaced volume, an ``_Eq`` volume linearly interpolated onto equidistant
  slices.
* 3D Slicer measures how far each slice lies from the even grid (tolerance 0.001 mm) and
  above that adds a transform that regularises (resamples) the volume.

netpet's rule, for PET and CT alike: the even grid is ITK's, from the first to the last slice
(a grid of the median step would let the error grow along the series: 0.4 mm at the end of
the GE example, against 0.14 mm for ITK's grid).

1. Every slice within :data:`POSITION_TOL_FRACTION` (10 %) of the spacing of that grid
   (``max_position_error_mm <= position_tolerance_mm``): the image is the slices themselves on
   that grid, no interpolation, the same voxel values as SimpleITK and dcm2niix give.  No
   voxel is then placed more than a tenth of a slice from where the scanner put it (the GE
   example: at most 0.14 mm of 3.27 mm).
2. Otherwise, when no step exceeds 1.5 x the median step (e.g. a bed-overlap region with
   another step): the slices are resampled along z by linear interpolation in physical
   position (values of the PET activity or CT HU between the two neighbouring slices) onto an
   even grid from the first to the last slice whose step is closest to the median step, as
   dcm2niix's ``_Eq`` volume and Slicer's regularisation do.  The warning is recorded in
   :attr:`Geometry.warning` (the provenance, the log and the QC picture).
3. Refused, naming the series and the files: a step above 1.5 x the median (missing slices,
   where ITK would stretch the volume), two images at one position with different content
   (identical copies of an image are ignored, with a warning), mixed orientation or matrix,
   in-plane shifts beyond 10 % of the pixel spacing (gantry tilt or mixed stacks), and a
   slice count that contradicts NumberOfSlices (0054,0081) when the header gives it.

Rescale (:func:`read_pet_suv`, :func:`read_ct`)
-----------------------------------------------
RescaleSlope (0028,1053) is Type 1 in the PET Image module: a PET file without it is an error
naming the files (no default of 1 is assumed; one unscaled slice would be off by its slope).
RescaleIntercept (0028,1052) of PET "shall be 0", so a missing one is 0.  For CT a missing
slope/intercept means 1/0 only when every file lacks it; missing in some files only is an
error naming them.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from netpet.errors import InputError
from netpet.imaging import suv as suv_module

log = logging.getLogger(__name__)

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.130"
ENHANCED_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"

POSITION_TOL_FRACTION = 0.1
"""Slices within 10 % of the slice spacing of the even grid are read as they are (rule 1)."""
MISSING_SLICE_FACTOR = 1.5
"""A step above 1.5 x the median step means missing slices."""
ORIENTATION_TOL = 1e-4
DUPLICATE_TOL_MM = 1e-3
"""Slices closer than this along the normal are at the same position."""
MAX_LISTED_FILES = 10
"""At most this many file names in one message."""

GEOMETRY_UNIFORM = "uniform"
GEOMETRY_RESAMPLED = "resampled_z_linear"
GEOMETRY_SINGLE_SLICE = "single_slice"

_MODALITY_NAMES = {"PT": "PET", "CT": "CT"}


@dataclass(frozen=True)
class SliceHeader:
    """Geometry of one image file: position (x, y, z) mm LPS, orientation, matrix, spacing.

    ``dataset`` is the file's header as the folder scan read it (no pixel data),
    ``pixel_data_offset`` the byte offset at which the scan's parse stopped (the Pixel Data
    element, when the file has one) and ``file_stamp`` the file's (size in bytes, mtime in ns)
    then: the readers take the pixels from there without parsing the header again.
    """

    path: Path
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    rows: int | None
    columns: int | None
    pixel_spacing: tuple[float, float] | None
    instance_number: int | None
    dataset: pydicom.Dataset | None = field(default=None, repr=False, compare=False)
    pixel_data_offset: int | None = None
    file_stamp: tuple[int, int] | None = None


@dataclass(frozen=True)
class SkippedFile:
    """A file of a scanned folder that is not usable DICOM, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class SeriesInfo:
    """One DICOM series found on disk, its files sorted along the slice normal.

    ``header`` is the header (no pixels) of the first file in that order.  ``slices`` holds the
    per-file geometry used by :func:`check_geometry`.  ``folders`` are the folders holding the
    files (for messages only: grouping is by ``uid``).  ``skipped_in_folders`` are the files of
    those folders that were skipped as non-DICOM or unreadable (one may be a missing slice).
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
    skipped_in_folders: tuple[SkippedFile, ...] = field(repr=False, compare=False, default=())

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
    """Result of :func:`scan_folders`: the series and the files skipped (counts and names)."""

    series: list[SeriesInfo]
    n_dicom_files: int
    n_non_dicom_files: int
    n_dicomdir_files: int
    skipped: tuple[SkippedFile, ...] = ()


@dataclass(frozen=True)
class Geometry:
    """Checked geometry of a series and how its slices become the image grid.

    ``origin``, ``spacing`` (x, y, z) mm LPS, ``direction`` and ``size`` (x, y, z) describe
    the image returned by the readers.  ``files`` are the source files used, sorted along the
    normal, and ``positions_mm`` their positions along the normal (mm, same origin as
    ``origin`` projected on the normal).  ``rule`` is :data:`GEOMETRY_UNIFORM` (the slices
    themselves on the even grid), :data:`GEOMETRY_RESAMPLED` (linear interpolation along z) or
    :data:`GEOMETRY_SINGLE_SLICE`; ``max_position_error_mm`` is the largest distance of a
    source slice from the even grid from the first to the last slice.
    """

    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    direction: tuple[float, ...]
    size: tuple[int, int, int]
    files: tuple[Path, ...] = ()
    positions_mm: tuple[float, ...] = ()
    rule: str = GEOMETRY_UNIFORM
    max_position_error_mm: float = 0.0
    position_tolerance_mm: float = 0.0
    n_duplicates_ignored: int = 0
    warning: str | None = None

    @property
    def resampled(self) -> bool:
        """True when the image is interpolated along z from the source slices."""
        return self.rule == GEOMETRY_RESAMPLED

    def grid_positions_mm(self) -> np.ndarray:
        """Positions (mm along the normal) of the image's slices, shape (size z,)."""
        return self.positions_mm[0] + self.spacing[2] * np.arange(self.size[2])

    def summary(self) -> dict:
        """The provenance record (JSON-ready; no file names, no identifiers)."""
        return {
            "rule": self.rule,
            "max_position_error_mm": round(self.max_position_error_mm, 6),
            "position_tolerance_mm": round(self.position_tolerance_mm, 6),
            "resampled": self.resampled,
            "n_source_slices": len(self.files),
            "n_slices": int(self.size[2]),
            "spacing_z_mm": round(float(self.spacing[2]), 6),
            "duplicates_ignored": self.n_duplicates_ignored,
            "warning": self.warning,
        }


def _names(paths: Sequence[Path]) -> str:
    """File names for a message, at most :data:`MAX_LISTED_FILES` of them."""
    names = [Path(p).name for p in paths[:MAX_LISTED_FILES]]
    more = f" and {len(paths) - MAX_LISTED_FILES} more" if len(paths) > MAX_LISTED_FILES else ""
    return ", ".join(names) + more


# ---------------------------------------------------------------------------------------------
# Finding series


@dataclass(frozen=True)
class _FileHeader:
    """What the folder scan learns from one file (see :func:`_read_header`)."""

    dataset: pydicom.Dataset | None
    reason: str | None = None
    pixel_data_offset: int | None = None
    file_stamp: tuple[int, int] | None = None


def _read_header(path: Path) -> _FileHeader:
    """Header without pixels, or None and the reason the file is not usable DICOM.

    A file is DICOM when it has the ``DICM`` preamble, or (raw data sets without preamble)
    when it starts with an element of group 0002 or 0008 and reads with ``force=True`` to a
    data set holding SOP Class UID and Series Instance UID.  The file is opened once; the
    offset where pydicom stopped (before the Pixel Data element) and the file's size and
    modification time are kept for :func:`_stored_pixels`.
    """
    try:
        with open(path, "rb") as handle:
            start = handle.read(132)
            if not start:
                return _FileHeader(None, "empty file")
            preamble = start[128:132] == b"DICM"
            if not preamble and start[:2] not in (b"\x02\x00", b"\x08\x00"):
                return _FileHeader(None, "not DICOM")
            handle.seek(0)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pydicom's guesses about raw files
                    ds = pydicom.dcmread(handle, stop_before_pixels=True, force=not preamble)
            except Exception as error:  # truncated or garbled file: not usable DICOM
                reason = f"unreadable DICOM ({type(error).__name__}: {error})"
                return _FileHeader(None, reason[:200])
            offset = handle.tell()
            stat = os.fstat(handle.fileno())
    except OSError as error:
        return _FileHeader(None, f"unreadable file ({error.strerror or error})")
    found = _FileHeader(ds, None, offset, (stat.st_size, stat.st_mtime_ns))
    if "SOPClassUID" not in ds or "SeriesInstanceUID" not in ds:
        if getattr(ds, "file_meta", None) is not None and preamble:
            return found
        return _FileHeader(None, "DICOM without SOPClassUID/SeriesInstanceUID")
    return found


def _floats(value, n: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == n else None


def _slice_header(path: Path, found: _FileHeader) -> SliceHeader:
    ds = found.dataset
    instance = ds.get("InstanceNumber")
    return SliceHeader(
        path=path,
        position=_floats(ds.get("ImagePositionPatient"), 3),
        orientation=_floats(ds.get("ImageOrientationPatient"), 6),
        rows=int(ds.Rows) if "Rows" in ds else None,
        columns=int(ds.Columns) if "Columns" in ds else None,
        pixel_spacing=_floats(ds.get("PixelSpacing"), 2),
        instance_number=int(instance) if instance not in (None, "") else None,
        dataset=ds,
        pixel_data_offset=found.pixel_data_offset,
        file_stamp=found.file_stamp,
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

    Each file's header is read once, without pixels, and kept in its :class:`SliceHeader`
    with where its pixel data start (the readers need nothing else).  Non-DICOM and unreadable
    files and DICOMDIR files are skipped; the skipped files are kept by name (with the reason)
    and logged.  Walk order is sorted, so the result is deterministic.
    """
    groups: dict[str, list[tuple[SliceHeader, pydicom.Dataset]]] = {}
    n_dicom = n_dicomdir = 0
    skipped: list[SkippedFile] = []
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
            found = _read_header(path)
            ds = found.dataset
            if ds is None:
                skipped.append(SkippedFile(path, found.reason or "not DICOM"))
                continue
            meta_class = getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", None)
            if meta_class == MEDIA_STORAGE_DIRECTORY:
                n_dicomdir += 1
                continue
            uid = str(ds.get("SeriesInstanceUID", "") or "")
            if not uid:
                skipped.append(SkippedFile(path, "DICOM without SeriesInstanceUID"))
                continue
            n_dicom += 1
            groups.setdefault(uid, []).append((_slice_header(path, found), ds))
    series = [_series_info(uid, items, skipped) for uid, items in groups.items()]
    series.sort(key=lambda s: (s.modality, s.series_description, s.uid))
    log.info(
        "found %d series in %d DICOM files; skipped %d non-DICOM/unreadable and %d DICOMDIR files",
        len(series),
        n_dicom,
        len(skipped),
        n_dicomdir,
    )
    if skipped:
        log.info(
            "skipped files: %s",
            "; ".join(f"{s.path.name} ({s.reason})" for s in skipped[:MAX_LISTED_FILES]),
        )
    return FolderScan(series, n_dicom, len(skipped), n_dicomdir, tuple(skipped))


def _walk(folder: Path) -> list[Path]:
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths.extend(Path(root) / name for name in sorted(files))
    return paths


def _series_info(
    uid: str, items: list[tuple[SliceHeader, pydicom.Dataset]], skipped: Sequence[SkippedFile]
) -> SeriesInfo:
    """Sort one series' files along the normal; keep the first file's header only."""
    orientation = next((h.orientation for h, _ in items if h.orientation is not None), None)
    normal = _normal(orientation) if orientation is not None else None
    items = sorted(items, key=_sort_key(normal))
    slices = tuple(h for h, _ in items)
    header = items[0][1]
    folders = tuple(sorted({h.path.parent for h in slices}))
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
        folders=folders,
        skipped_in_folders=tuple(s for s in skipped if s.path.parent in folders),
    )


def _multi(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def find_series(folders: Iterable[str | os.PathLike]) -> list[SeriesInfo]:
    """All DICOM series under ``folders`` (recursive), grouped by SeriesInstanceUID.

    See :func:`scan_folders`, which also returns the skipped files.
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
    """Check that a series forms one 3-D volume and decide its image grid.

    See the module docstring for the rule.  Checks: ImagePositionPatient and
    ImageOrientationPatient in every file; one orientation; the same Rows, Columns and
    PixelSpacing; images at one position identical (then all but the first are ignored) or
    refused; no step above 1.5 x the median step (missing slices); the slice count equal to
    NumberOfSlices (0054,0081) when given; slices stacked straight along the normal (no
    gantry tilt).  Reads pixel data only of images that share a position.

    Returns
    -------
    Geometry
        The grid of the image the readers return, the source files and positions, and how
        the grid was made (``rule``, ``max_position_error_mm``, ``warning``).

    Raises
    ------
    InputError
        Naming the series (description, SeriesInstanceUID, folders), the problem and the slice
        positions and files involved.
    """
    slices = list(info.slices)
    name = info.describe()
    if not slices:
        raise InputError(f"{name}: no image files")
    missing = [s.path for s in slices if s.position is None or s.orientation is None]
    if missing:
        raise InputError(
            f"{name}: files without ImagePositionPatient/ImageOrientationPatient "
            f"(0020,0032)/(0020,0037): {_names(missing)}; not an image volume"
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
        first_file: dict[str, Path] = {}
        for s in slices:
            first_file.setdefault(str(getattr(s, attribute)), s.path)
        if len(first_file) > 1 or "None" in first_file:
            found = ", ".join(f"{value} in {path.name}" for value, path in first_file.items())
            raise InputError(
                f"{name}: {attribute} differs between files or is missing: {found}; "
                "the series is not one volume"
            )
    normal = _normal(reference)
    along = np.array([float(np.dot(normal, s.position)) for s in slices])
    slices, along, n_ignored = _drop_identical_duplicates(info, slices, along)
    warnings_found = []
    if n_ignored:
        warnings_found.append(
            f"{n_ignored} duplicate image(s) with identical content at the position of another "
            "image ignored"
        )
    n = len(slices)
    row_spacing, column_spacing = slices[0].pixel_spacing
    _check_number_of_slices(info, n, along, slices)
    if n > 1:
        gaps = np.diff(along)
        median = float(np.median(gaps))
        _check_no_gap(info, along, slices, gaps, median)
        # Positions must lie on the line origin + k * spacing * normal.
        first = np.asarray(slices[0].position)
        offsets = np.array([np.asarray(s.position) - first for s in slices])
        in_plane = offsets - np.outer(offsets @ normal, normal)
        in_plane_tolerance = POSITION_TOL_FRACTION * min(row_spacing, column_spacing)
        if np.max(np.abs(in_plane)) > in_plane_tolerance:
            k = int(np.argmax(np.max(np.abs(in_plane), axis=1)))
            raise InputError(
                f"{name}: slices are shifted in-plane (gantry tilt or mixed stacks): "
                f"{slices[k].path.name} is offset by {in_plane[k].round(3).tolist()} mm "
                f"(tolerance {in_plane_tolerance:.3f} mm); tilted series are not supported: "
                "export a tilt-corrected series"
            )
        even_spacing = (along[-1] - along[0]) / (n - 1)
        error = float(np.max(np.abs(along - (along[0] + even_spacing * np.arange(n)))))
        tolerance = POSITION_TOL_FRACTION * even_spacing
        if error <= tolerance:
            rule, spacing_z, size_z = GEOMETRY_UNIFORM, even_spacing, n
        else:
            rule = GEOMETRY_RESAMPLED
            steps = max(1, round((along[-1] - along[0]) / median))
            spacing_z, size_z = (along[-1] - along[0]) / steps, steps + 1
            modality = _MODALITY_NAMES.get(info.modality, info.modality)
            warnings_found.append(
                f"{modality} slice positions deviate up to {error:.3f} mm from an even grid "
                f"(tolerance {tolerance:.3f} mm = {POSITION_TOL_FRACTION:.0%} of the "
                f"{even_spacing:.3f} mm spacing; steps {gaps.min():.3f}-{gaps.max():.3f} mm): "
                f"resampled along z by linear interpolation onto {size_z} slices at "
                f"{spacing_z:.3f} mm"
            )
    else:
        thickness = info.header.get("SliceThickness")
        spacing_z = float(thickness) if thickness else 1.0
        rule, size_z, error, tolerance = GEOMETRY_SINGLE_SLICE, 1, 0.0, 0.0
    direction = np.column_stack([reference[:3], reference[3:], normal])
    return Geometry(
        origin=tuple(float(v) for v in slices[0].position),
        spacing=(column_spacing, row_spacing, float(spacing_z)),
        direction=tuple(float(v) for v in direction.ravel()),
        size=(int(slices[0].columns), int(slices[0].rows), int(size_z)),
        files=tuple(s.path for s in slices),
        positions_mm=tuple(float(v) for v in along),
        rule=rule,
        max_position_error_mm=error,
        position_tolerance_mm=float(tolerance),
        n_duplicates_ignored=n_ignored,
        warning="; ".join(warnings_found) or None,
    )


def _drop_identical_duplicates(
    info: SeriesInfo, slices: list[SliceHeader], along: np.ndarray
) -> tuple[list[SliceHeader], np.ndarray, int]:
    """Keep the first of images at one position when they are identical, else refuse.

    Identical: the same rescaled pixel values (pixel data, RescaleSlope, RescaleIntercept),
    as when one image was exported twice.
    """
    if len(slices) < 2:
        return slices, along, 0
    keep = [0]
    for k in range(1, len(slices)):
        if along[k] - along[keep[-1]] >= DUPLICATE_TOL_MM:
            keep.append(k)
            continue
        first = slices[keep[-1]].path
        if not _same_image(first, slices[k].path):
            positions = np.diff(along) < DUPLICATE_TOL_MM
            raise InputError(
                f"{info.describe()}: duplicate slice position {along[k]:.3f} mm along the "
                f"normal ({first.name}, {slices[k].path.name}; {int(positions.sum())} "
                "duplicate(s)) with different content: images of another acquisition or "
                "reconstruction share the SeriesInstanceUID; remove the duplicate images"
            )
    kept = [slices[k] for k in keep]
    return kept, along[keep], len(slices) - len(kept)


def _same_image(path_a: Path, path_b: Path) -> bool:
    """True when two files hold the same rescaled image."""
    images = []
    for path in (path_a, path_b):
        try:
            ds = pydicom.dcmread(path, force=True)
            pixels = ds.pixel_array
        except Exception as error:
            raise InputError(f"{path}: cannot read the pixel data: {error}") from error
        images.append((str(ds.get("RescaleSlope")), str(ds.get("RescaleIntercept")), pixels))
    (slope_a, intercept_a, a), (slope_b, intercept_b, b) = images
    return (slope_a, intercept_a) == (slope_b, intercept_b) and np.array_equal(a, b)


def _skipped_hint(info: SeriesInfo) -> str:
    skipped = info.skipped_in_folders
    if not skipped:
        return ""
    listed = "; ".join(f"{s.path.name} ({s.reason})" for s in skipped[:MAX_LISTED_FILES])
    more = (
        f"; and {len(skipped) - MAX_LISTED_FILES} more" if len(skipped) > MAX_LISTED_FILES else ""
    )
    return (
        f"; {len(skipped)} non-DICOM/unreadable file(s) in the folder: {listed}{more}; "
        "one of them may be the missing slice"
    )


def _number_of_slices(info: SeriesInfo) -> int | None:
    value = info.header.get("NumberOfSlices")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _check_no_gap(info, along, slices, gaps, median) -> None:
    missing_gaps = np.flatnonzero(gaps > MISSING_SLICE_FACTOR * median)
    if not missing_gaps.size:
        return
    where = ", ".join(
        f"{along[i]:.3f}-{along[i + 1]:.3f} mm ({slices[i].path.name}, {slices[i + 1].path.name})"
        for i in missing_gaps[:5].tolist()
    )
    expected = _number_of_slices(info)
    count = (
        f"; NumberOfSlices (0054,0081) is {expected}, {len(slices)} slices found"
        if expected is not None
        else ""
    )
    raise InputError(
        f"{info.describe()}: missing slices: gap(s) larger than {MISSING_SLICE_FACTOR} x the "
        f"median spacing {median:.3f} mm between positions {where}{count}{_skipped_hint(info)}; "
        "export the complete series"
    )


def _check_number_of_slices(info: SeriesInfo, n: int, along, slices) -> None:
    """The slice count against NumberOfSlices (0054,0081) when the header gives it (PET)."""
    expected = _number_of_slices(info)
    if expected is None or expected == n:
        return
    if n > 1:
        # A gap names the missing slices more precisely than the count.
        gaps = np.diff(along)
        _check_no_gap(info, along, slices, gaps, float(np.median(gaps)))
    if n < expected:
        raise InputError(
            f"{info.describe()}: NumberOfSlices (0054,0081) is {expected} but {n} slices were "
            f"found: {expected - n} slice(s) missing (at the ends of the series: the slice "
            f"positions have no gap){_skipped_hint(info)}; export the complete series"
        )
    raise InputError(
        f"{info.describe()}: {n} slices but NumberOfSlices (0054,0081) is {expected}: "
        f"{n - expected} image(s) too many, so images of another acquisition or reconstruction "
        "share the SeriesInstanceUID (a mixed series); export the series again or remove the "
        "extra images"
    )


def interpolate_slices(
    volume_zyx: np.ndarray, positions_mm: Sequence[float], grid_mm: Sequence[float]
) -> np.ndarray:
    """Linear interpolation along z of slices at ``positions_mm`` onto ``grid_mm``.

    ``out[j] = (1 - w) * volume[k] + w * volume[k + 1]`` with ``positions[k] <= grid[j] <=
    positions[k + 1]`` and ``w = (grid[j] - positions[k]) / (positions[k + 1] -
    positions[k])``.  Grid points outside the positions take the nearest end slice.

    Parameters
    ----------
    volume_zyx : numpy.ndarray, shape (n, y, x)
        Slices in increasing position order.
    positions_mm, grid_mm : sequence of float
        Increasing positions (mm along the slice normal) of the slices and of the output.

    Returns
    -------
    numpy.ndarray of float32, shape (len(grid_mm), y, x)
    """
    positions = np.asarray(positions_mm, dtype=float)
    grid = np.asarray(grid_mm, dtype=float)
    if len(positions) != volume_zyx.shape[0]:
        raise ValueError("one position per slice is needed")
    if len(positions) == 1:
        return np.repeat(volume_zyx[:1].astype(np.float32), len(grid), axis=0)
    upper = np.clip(np.searchsorted(positions, grid, side="right"), 1, len(positions) - 1)
    lower = upper - 1
    weight = (grid - positions[lower]) / (positions[upper] - positions[lower])
    weight = np.clip(weight, 0.0, 1.0)
    out = np.empty((len(grid), *volume_zyx.shape[1:]), dtype=np.float32)
    for j, (k, w) in enumerate(zip(lower.tolist(), weight.tolist(), strict=True)):
        out[j] = (1.0 - w) * volume_zyx[k].astype(np.float64) + w * volume_zyx[k + 1]
    return out


def _image(array_zyx: np.ndarray, geometry: Geometry) -> sitk.Image:
    image = sitk.GetImageFromArray(array_zyx)
    image.SetOrigin(geometry.origin)
    image.SetSpacing(geometry.spacing)
    image.SetDirection(geometry.direction)
    return image


def _rescale_value(ds, keyword: str, tag: str, path: Path) -> float | None:
    """RescaleSlope/RescaleIntercept of one file; None when absent or empty."""
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or (keyword == "RescaleSlope" and number == 0.0):
        raise InputError(
            f"{path}: {keyword} {tag} = {value!r} is not a usable number; re-export the series"
        )
    return number


def _check_rescale_present(info: SeriesInfo, missing: dict[str, list[Path]], n: int) -> None:
    """The rule of the module docstring for absent RescaleSlope/RescaleIntercept."""
    pet = info.modality == "PT"
    for keyword, tag in (("RescaleSlope", "(0028,1053)"), ("RescaleIntercept", "(0028,1052)")):
        paths = missing[keyword]
        if not paths:
            continue
        if pet and keyword == "RescaleSlope":
            raise InputError(
                f"{info.describe()}: {keyword} {tag} is missing in {len(paths)} of {n} files: "
                f"{_names(paths)}; it is Type 1 in the PET Image module (no default value), so "
                "these slices cannot be scaled: re-export the PET series"
            )
        if not pet and len(paths) < n:
            raise InputError(
                f"{info.describe()}: {keyword} {tag} is missing in {len(paths)} of {n} files "
                f"({_names(paths)}) but present in the others, so the default "
                f"{1 if keyword == 'RescaleSlope' else 0} cannot be assumed for them: re-export "
                "the series"
            )


_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
_IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian
_UNDEFINED_LENGTH = 0xFFFFFFFF
_PIXEL_FORMAT = (
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "NumberOfFrames",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
)


def _stored_pixels(header: SliceHeader) -> np.ndarray | None:
    """Stored values (rows, columns) of one slice, read from the file where the scan stopped.

    The array may be read-only (a view of the bytes read).

    Only uncompressed little-endian, single-frame, single-sample MONOCHROME1/2 images with 8,
    16 or 32 bits allocated are read here, with what ``Dataset.pixel_array`` (pydicom 3)
    returns for them: the integer type of BitsAllocated and PixelRepresentation, and the bits
    above BitsStored masked (sign-extended when signed).  Anything else returns None, and
    pydicom decodes the file (see :func:`_read_slice`).

    Raises
    ------
    InputError
        The file's size or modification time differ from the folder scan's.
    """
    ds, offset = header.dataset, header.pixel_data_offset
    if ds is None or offset is None or header.file_stamp is None:
        return None
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if syntax not in (_EXPLICIT_VR_LITTLE_ENDIAN, _IMPLICIT_VR_LITTLE_ENDIAN):
        return None
    pixel = {keyword: ds.get(keyword) for keyword in _PIXEL_FORMAT}
    bits_allocated, bits_stored, rows, columns = (
        pixel[k] for k in ("BitsAllocated", "BitsStored", "Rows", "Columns")
    )
    if (
        pixel["SamplesPerPixel"] != 1
        or str(pixel["PhotometricInterpretation"]) not in ("MONOCHROME1", "MONOCHROME2")
        or pixel["NumberOfFrames"] not in (None, "", 1)
        or bits_allocated not in (8, 16, 32)
        or pixel["PixelRepresentation"] not in (0, 1)
        or not isinstance(bits_stored, int)
        or not 1 <= bits_stored <= bits_allocated
        or not isinstance(rows, int)
        or not isinstance(columns, int)
    ):
        return None
    dtype = np.dtype(f"<{'i' if pixel['PixelRepresentation'] else 'u'}{bits_allocated // 8}")
    n_bytes = rows * columns * dtype.itemsize
    explicit = syntax == _EXPLICIT_VR_LITTLE_ENDIAN
    with open(header.path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        if (stat.st_size, stat.st_mtime_ns) != header.file_stamp:
            raise InputError(
                f"{header.path}: changed on disk since the folder scan (size or modification "
                "time differ); run the conversion again"
            )
        handle.seek(offset)
        element = handle.read(12 if explicit else 8)
        if element[:4] != _PIXEL_DATA_TAG:
            return None
        if explicit:
            if element[4:6] not in (b"OB", b"OW"):
                return None
            length = int.from_bytes(element[8:12], "little")
        else:
            length = int.from_bytes(element[4:8], "little")
        if length == _UNDEFINED_LENGTH or length < n_bytes:
            return None  # pydicom reports what is wrong
        data = handle.read(n_bytes)
    if len(data) != n_bytes:
        return None
    pixels = np.frombuffer(data, dtype=dtype).reshape(rows, columns)
    shift = bits_allocated - bits_stored
    if shift:
        # As pydicom: the unused high bits are ignored (arithmetic shift sign-extends).
        pixels = pixels.copy()
        np.left_shift(pixels, shift, out=pixels)
        np.right_shift(pixels, shift, out=pixels)
    return pixels


def _read_slice(info: SeriesInfo, header: SliceHeader | None, path: Path):
    """Header (no pixel data) and stored pixel values (rows, columns) of one source file.

    The scan's header and :func:`_stored_pixels` when they suffice; else the file is read
    again, whole, and pydicom decodes it (compressed transfer syntaxes, big endian, ...).
    """
    if header is not None:
        pixels = _stored_pixels(header)
        if pixels is not None:
            return header.dataset, pixels
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as error:
        raise InputError(f"{path}: cannot be read any more ({error}); was it changed?") from error
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
    del ds.PixelData
    return ds, pixels


def _read_stored(
    info: SeriesInfo, geometry: Geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Stored values of the source files, their rescale, and their headers (no pixel data).

    Each file's pixels are read once (:func:`_read_slice`); its header is the folder scan's.

    Returns
    -------
    stored : numpy.ndarray, shape (n, y, x)
        The source slices (``geometry.files``, in order, not yet interpolated) in their stored
        integer type (one holding every slice's, should they differ).
    slopes, intercepts : numpy.ndarray, shape (n,), float64
        RescaleSlope and RescaleIntercept of each slice (1 and 0 where allowed to be absent).
    headers : list of pydicom.Dataset
    """
    columns, rows, _ = geometry.size
    n = len(geometry.files)
    by_path = {s.path: s for s in info.slices}
    stack = None
    headers = []
    slopes = np.empty(n)
    intercepts = np.empty(n)
    missing: dict[str, list[Path]] = {"RescaleSlope": [], "RescaleIntercept": []}
    for k, path in enumerate(geometry.files):
        ds, pixels = _read_slice(info, by_path.get(path), path)
        if pixels.shape != (rows, columns):
            raise InputError(f"{path}: pixel data shape {pixels.shape} != ({rows}, {columns})")
        slope = _rescale_value(ds, "RescaleSlope", "(0028,1053)", path)
        intercept = _rescale_value(ds, "RescaleIntercept", "(0028,1052)", path)
        if slope is None:
            missing["RescaleSlope"].append(path)
            slope = 1.0
        if intercept is None:
            missing["RescaleIntercept"].append(path)
            intercept = 0.0
        slopes[k], intercepts[k] = slope, intercept
        if stack is None:
            stack = np.empty((n, rows, columns), dtype=pixels.dtype)
        elif pixels.dtype != stack.dtype:  # mixed stored types: one that holds both
            stack = stack.astype(np.result_type(stack, pixels))
        stack[k] = pixels
        headers.append(ds)
    _check_rescale_present(info, missing, n)
    return stack, slopes, intercepts, headers


_CHUNK_VALUES = 2**18
"""float64 values (2 MiB: they stay in the cache) rescaled at a time by :func:`_rescale`."""


def _rescale(
    stored: np.ndarray,
    slopes: np.ndarray,
    intercepts: np.ndarray,
    *,
    dtype,
    factors: np.ndarray | None = None,
) -> np.ndarray:
    """``(stored * slope + intercept) * factor`` of each slice in float64, returned as ``dtype``.

    The float64 operations of every voxel are these, in this order (then one rounding to
    ``dtype``); they are done a few slices at a time, so that no float64 copy of the whole
    volume is made.  ``stored`` (n, y, x); ``slopes``, ``intercepts``, ``factors`` (n,).
    """
    out = np.empty(stored.shape, dtype=dtype)
    step = max(1, _CHUNK_VALUES // max(1, stored[0].size))
    for start in range(0, len(stored), step):
        part = slice(start, start + step)
        values = stored[part] * slopes[part, None, None]
        values += intercepts[part, None, None]
        if factors is not None:
            values *= factors[part, None, None]
        out[part] = values
    return out


def _read_pixels(
    info: SeriesInfo, geometry: Geometry, *, dtype, int16_if_exact: bool = False
) -> tuple[np.ndarray, list]:
    """Rescaled pixels (z, y, x) of the source files and their headers (no pixel data).

    The volume holds the source slices (``geometry.files``, in order), not yet interpolated.
    With ``int16_if_exact`` the volume is int16 when every slice's rescaled values are
    integers within int16 (CT in HU), else ``dtype``; see :func:`_read_stored` and
    :func:`_rescale`.
    """
    stored, slopes, intercepts, headers = _read_stored(info, geometry)
    if int16_if_exact and _fits_int16(stored, slopes, intercepts):
        # int16 arithmetic wraps (mod 2**16), so it gives the exact sums, which fit int16.
        volume = stored.view(np.int16) if stored.itemsize == 2 else stored.astype(np.int16)
        volume += intercepts.astype(np.int64).astype(np.int16)[:, None, None]
        return volume, headers
    return _rescale(stored, slopes, intercepts, dtype=dtype), headers


def _fits_int16(stack: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> bool:
    """True when every slice has slope 1, an integral intercept and rescaled values in int16."""
    if stack.dtype.kind not in "iu" or np.any(slopes != 1.0):
        return False
    if not np.all(np.mod(intercepts, 1.0) == 0) or np.any(np.abs(intercepts) > 2**31):
        return False
    flat = stack.reshape(len(stack), -1)
    low = flat.min(axis=1).astype(np.int64) + intercepts.astype(np.int64)
    high = flat.max(axis=1).astype(np.int64) + intercepts.astype(np.int64)
    return bool(low.min() >= -32768 and high.max() <= 32767)


def _log_geometry(name: str, geometry: Geometry) -> None:
    if geometry.warning:
        log.warning("%s: %s", name, geometry.warning)
    elif geometry.max_position_error_mm > DUPLICATE_TOL_MM:
        log.info(
            "%s: slice positions within %.3f mm of an even grid (tolerance %.3f mm): read "
            "without interpolation",
            name,
            geometry.max_position_error_mm,
            geometry.position_tolerance_mm,
        )


def _on_grid(volume_zyx: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The source slices on the image grid: as they are, or interpolated along z."""
    if not geometry.resampled:
        return volume_zyx
    return interpolate_slices(volume_zyx, geometry.positions_mm, geometry.grid_positions_mm())


# ---------------------------------------------------------------------------------------------
# Reading images


def read_pet_suv(
    series: SeriesInfo,
    *,
    suv_type: str = "bw",
    overrides: Mapping | None = None,
    source: str | None = None,
    max_uptake_half_lives: float = suv_module.MAX_UPTAKE_HALF_LIVES,
    headers_out: list | None = None,
) -> tuple[sitk.Image, suv_module.SuvProvenance]:
    """Read a PET series as an SUV image (float32, LPS) with the provenance of its SUV.

    Each file's pixels are read once (its header was read by the folder scan); per-slice
    RescaleSlope/Intercept are applied in float64 and the per-slice SUV factors of
    :func:`netpet.imaging.suv.suv_scale_factors` multiply the slices.
    Slices off an even grid are then interpolated along z (see :func:`check_geometry`; the
    warning is logged and reported by :func:`scan_header_summary`).

    Parameters
    ----------
    series : SeriesInfo
        The PET series (see :func:`select_pet`); its geometry is checked first.
    suv_type : {"bw", "lbm", "bsa"}
        SUVbw (default), SUL (Janmahasatian) or SUVbsa.
    overrides : mapping, optional
        Samples-sheet values winning over the header (see
        :func:`netpet.imaging.suv.suv_scale_factors`).
    source : str, optional
        Names the scan in error messages; defaults to the series description.
    max_uptake_half_lives : float
        Longest plausible uptake time in half-lives of the radionuclide (config
        ``suv.max_uptake_half_lives``; see :func:`netpet.imaging.suv.suv_scale_factors`).
    headers_out : list, optional
        Receives the source files' headers (pixel data dropped), in slice order, so that a
        caller needing them (the DICOM SEG's references) does not read the series again.

    Returns
    -------
    image : SimpleITK.Image
        float32 SUV, origin/spacing (x, y, z) in mm, direction from ImageOrientationPatient.
    provenance : SuvProvenance
    """
    source = source or series.describe()
    geometry = check_geometry(series)
    stored, slopes, intercepts, headers = _read_stored(series, geometry)
    if headers_out is not None:
        headers_out.extend(headers)
    factors, provenance = suv_module.suv_scale_factors(
        headers,
        suv_type=suv_type,
        overrides=overrides,
        source=source,
        max_uptake_half_lives=max_uptake_half_lives,
    )
    # SUV in float64, interpolated along z (if at all) in float64, then float32.
    suv = _rescale(
        stored,
        slopes,
        intercepts,
        factors=factors,
        dtype=np.float64 if geometry.resampled else np.float32,
    )
    del stored
    _log_geometry(source, geometry)
    return _image(_on_grid(suv, geometry).astype(np.float32, copy=False), geometry), provenance


def read_ct(series: SeriesInfo, *, source: str | None = None) -> sitk.Image:
    """Read a CT series in Hounsfield units, (z, y, x) slices along the normal, LPS geometry.

    int16 when every slice's rescale is integral and the values fit, else float32 (keeps a
    whole-body CT at half the memory); float32 when interpolated along z (see
    :func:`check_geometry`).  ``source`` names the scan in the log.
    """
    geometry = check_geometry(series)
    volume, _ = _read_pixels(series, geometry, dtype=np.float32, int16_if_exact=True)
    _log_geometry(source or f"CT '{series.series_description}'", geometry)
    return _image(_on_grid(volume, geometry), geometry)


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

    ``"geometry"`` is :meth:`Geometry.summary` (how the slices became the image grid: ``rule``,
    ``max_position_error_mm``, ``position_tolerance_mm``, ``resampled``, ``n_source_slices``,
    ``n_slices``, ``spacing_z_mm``, ``duplicates_ignored``, ``warning``), or None when the
    series is not a readable volume.
    """
    ds = series.header
    item = suv_module.radiopharmaceutical(ds)
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
        "geometry": None if geometry is None else geometry.summary(),
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
                "max_uptake_s": provenance.max_uptake_s,
                "scan_reference_time_source": provenance.scan_reference_time_source,
                "injection_time_source": provenance.injection_time_source,
                "overrides_applied": list(provenance.overrides_applied),
            }
        )
    return summary


def geometry_warnings(summary: Mapping) -> list[str]:
    """Geometry warnings of a provenance record (e.g. for the QC picture).

    ``summary`` is either one :func:`scan_header_summary` or the per-scan record holding them
    under ``"pet"`` and ``"ct"``; returns the non-empty ``geometry.warning`` texts, PET first.
    """
    parts = [summary.get(key) for key in ("pet", "ct")] if "pet" in summary else [summary]
    found = []
    for part in parts:
        geometry = (part or {}).get("geometry") or {}
        if geometry.get("warning"):
            found.append(str(geometry["warning"]))
    return found
