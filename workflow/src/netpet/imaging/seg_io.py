"""Import and export of segmentations (STUDY.md section 3.4).

Import, always onto the PET grid (nearest neighbour):

- label maps in any format SimpleITK reads (NIfTI, NRRD): :func:`read_label_map`;
- DICOM RTSTRUCT, contours rasterised on the PET grid: :func:`read_rtstruct`;
- DICOM SEG (highdicom): :func:`read_dicom_seg`.

Export: :func:`write_dicom_seg` writes a lesion label map as DICOM SEG referencing the PET
series, de-identified by the DICOM Basic Application Level Confidentiality Profile (the
study's patient ID replaces name and ID, dates are removed, UIDs are replaced by keyed hashes
of the source UIDs: :func:`deidentified_uid`); a scan without lesions gets a valid SEG with
one empty segment.  The source -> de-identified UID map it returns holds source UIDs and
belongs outside ``results/`` (:func:`write_uid_map`).

Arrays are numpy (z, y, x); SimpleITK spacing and points are (x, y, z) mm, LPS.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

from netpet import __version__
from netpet.errors import InputError
from netpet.io import atomic_path, write_tsv

if TYPE_CHECKING:  # pandas, matplotlib and scipy (grid) are imported where used: the PET
    # conversion needs only source_slice_record, and their import is half its time
    import pandas as pd

# Segmentation types written by write_dicom_seg.
SEG_TYPES = ("BINARY", "LABELMAP")


def _as_uint16(image: sitk.Image, *, source: str) -> sitk.Image:
    """Cast a label image to uint16, refusing non-integer or out-of-range values."""
    array = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(array.dtype, np.floating):
        finite = array[np.isfinite(array)]
        if finite.size != array.size or not np.array_equal(finite, np.round(finite)):
            raise InputError(
                f"{source}: label map holds non-integer values; export it as an integer "
                "label map (0 = background, 1..N = lesions)"
            )
    if array.size and (array.min() < 0 or array.max() > np.iinfo(np.uint16).max):
        raise InputError(f"{source}: label values must lie in 0..65535")
    return sitk.Cast(image, sitk.sitkUInt16)


def read_label_map(path: str | os.PathLike, reference: sitk.Image) -> sitk.Image:
    """Read a label map (NIfTI, NRRD, ...) and resample it to the PET grid.

    Parameters
    ----------
    path : path-like
        Label map file, 0 = background, positive integers = lesions (or organs).
    reference : SimpleITK.Image
        The PET (SUV) image whose grid the result takes.

    Returns
    -------
    SimpleITK.Image
        uint16 label map on the reference grid (nearest-neighbour resampling).

    Raises
    ------
    InputError
        Unreadable file, non-integer labels, or labels that vanish on the PET grid (no
        overlap with the PET field of view).
    """
    path = Path(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        raise InputError(f"{path}: cannot read the label map ({error})") from error
    if image.GetNumberOfComponentsPerPixel() != 1 or image.GetDimension() != 3:
        raise InputError(f"{path}: a label map must be a 3-D single-component image")
    image = _as_uint16(image, source=str(path))
    from netpet.imaging.grid import resample_labels_to

    resampled = resample_labels_to(image, reference)
    if sitk.GetArrayViewFromImage(image).any() and not sitk.GetArrayViewFromImage(resampled).any():
        raise InputError(
            f"{path}: no labelled voxel falls inside the PET field of view; check that the "
            "label map belongs to this scan (origin, direction, spacing)"
        )
    return resampled


def read_rtstruct(
    path: str | os.PathLike,
    reference: sitk.Image,
    *,
    roi_names: Sequence[str] | None = None,
) -> tuple[sitk.Image, dict[int, str]]:
    """Rasterise the closed planar contours of a DICOM RTSTRUCT on the PET grid.

    A voxel belongs to an ROI when its centre lies inside the ROI's contour on its slice;
    several contours of one ROI on one slice combine by even-odd rule (inner contours are
    holes).  Contours must lie on PET slice planes (within 1/4 slice); the contour plane must
    be perpendicular to the slice axis.  ROIs are numbered 1..N in the order of
    ``roi_names`` (or of the file); where ROIs overlap the later one wins.

    Parameters
    ----------
    path : path-like
        RTSTRUCT file.
    reference : SimpleITK.Image
        PET image whose grid the result takes.
    roi_names : sequence of str, optional
        ROIs to import (by ROI Name); default all with contours.

    Returns
    -------
    labels : SimpleITK.Image
        uint16 label map on the reference grid.
    names : dict
        ``{label: ROI name}``.
    """
    path = Path(path)
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as error:
        raise InputError(f"{path}: cannot read DICOM ({error})") from error
    if ds.get("Modality") != "RTSTRUCT" or "ROIContourSequence" not in ds:
        raise InputError(f"{path}: not an RTSTRUCT (Modality {ds.get('Modality')!r})")
    names_by_number = {
        int(item.ROINumber): str(item.ROIName) for item in ds.get("StructureSetROISequence", [])
    }
    contours_by_name: dict[str, list] = {}
    for roi in ds.ROIContourSequence:
        name = names_by_number.get(int(roi.ReferencedROINumber), f"roi_{roi.ReferencedROINumber}")
        if "ContourSequence" in roi:
            contours_by_name.setdefault(name, []).extend(roi.ContourSequence)
    wanted = list(roi_names) if roi_names is not None else list(contours_by_name)
    missing = [n for n in wanted if n not in contours_by_name]
    if missing:
        raise InputError(
            f"{path}: ROI(s) {missing} not found or without contours (tag 3006,0026 ROI Name); "
            f"available: {sorted(contours_by_name)}"
        )
    size_xyz = reference.GetSize()
    out = np.zeros(size_xyz[::-1], dtype=np.uint16)
    yy, xx = np.mgrid[0 : size_xyz[1], 0 : size_xyz[0]]
    centres = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float64)
    names = {}
    for label, name in enumerate(wanted, start=1):
        names[label] = name
        roi_mask = np.zeros(out.shape, dtype=bool)
        for number, contour in enumerate(contours_by_name[name]):
            kind = str(contour.get("ContourGeometricType", "CLOSED_PLANAR"))
            if kind != "CLOSED_PLANAR":
                continue  # points and open contours enclose no volume
            points = np.asarray(contour.ContourData, dtype=np.float64).reshape(-1, 3)
            index = np.array([reference.TransformPhysicalPointToContinuousIndex(p) for p in points])
            k = index[:, 2]
            slice_index = int(np.round(k.mean()))
            if np.abs(k - slice_index).max() > 0.25 or not 0 <= slice_index < size_xyz[2]:
                raise InputError(
                    f"{path}: contour {number} of ROI {name!r} (Contour Data 3006,0050) does "
                    "not lie on a PET slice plane inside the PET volume; is this RTSTRUCT "
                    "drawn on this PET series?"
                )
            from matplotlib.path import Path as PolygonPath

            inside = PolygonPath(index[:, :2]).contains_points(centres)
            roi_mask[slice_index] ^= inside.reshape(size_xyz[1], size_xyz[0])
        out[roi_mask] = label
    image = sitk.GetImageFromArray(out)
    image.CopyInformation(reference)
    return image, names


def read_dicom_seg(
    path: str | os.PathLike, reference: sitk.Image
) -> tuple[sitk.Image, dict[int, str]]:
    """Read a DICOM SEG (binary, fractional or label-map) onto the PET grid.

    Segments become labels with their segment numbers (fractional segments are binarised at
    0.5 by highdicom's rescaling); where segments overlap the higher number wins.

    Returns
    -------
    labels : SimpleITK.Image
        uint16 label map on the reference grid (nearest-neighbour resampling).
    names : dict
        ``{segment number: segment label}``.
    """
    import highdicom as hd

    path = Path(path)
    try:
        seg = hd.seg.segread(str(path))
    except Exception as error:
        raise InputError(f"{path}: cannot read as DICOM SEG ({error})") from error
    numbers = [int(n) for n in seg.get_segment_numbers()]
    names = {n: str(seg.get_segment_description(n).segment_label) for n in numbers}
    try:
        volume = seg.get_volume(dtype=np.float32)
    except Exception as error:
        raise InputError(
            f"{path}: the SEG frames do not form a regular 3-D volume ({error})"
        ) from error
    array = volume.array  # (slice, row, column, segment)
    if array.ndim == 3:
        array = array[..., None]
    labels = np.zeros(array.shape[:3], dtype=np.uint16)
    for channel, number in enumerate(numbers):
        labels[array[..., channel] >= 0.5] = number
    image = volume.with_array(labels).to_simpleitk()
    return read_label_map_image(image, reference, source=str(path)), names


def read_label_map_image(image: sitk.Image, reference: sitk.Image, *, source: str) -> sitk.Image:
    """Resample an in-memory label image to the PET grid (as :func:`read_label_map`)."""
    image = _as_uint16(image, source=source)
    from netpet.imaging.grid import resample_labels_to

    resampled = resample_labels_to(image, reference)
    if sitk.GetArrayViewFromImage(image).any() and not sitk.GetArrayViewFromImage(resampled).any():
        raise InputError(f"{source}: no labelled voxel falls inside the PET field of view")
    return resampled


# --- Export: de-identified DICOM SEG -------------------------------------------------------

NO_LESION_LABEL = "no lesion segmented"
"""Label of the one, empty segment written for a scan without lesions (complete response)."""

DUMMY_CONTENT_DATE = "19000101"
DUMMY_CONTENT_TIME = "000000"
"""Content Date / Time of every SEG: type 1, so a dummy value replaces the date (PS3.15 E)."""

UID_MAP_COLUMNS = ("source_uid", "deidentified_uid", "kind")
MIN_UID_SALT_CHARS = 16

# The only attributes of a PET slice that reach the SEG (besides the replaced UIDs): what
# highdicom needs to place and describe the frames; nothing that identifies anyone.
_SOURCE_KEEP = (
    "SOPClassUID",
    "Modality",
    "Rows",
    "Columns",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "LossyImageCompression",
    "LossyImageCompressionRatio",
    "LossyImageCompressionMethod",
)
# Type 2 attributes of the Patient, General Study and Frame of Reference modules: present
# but empty (Basic Profile action Z).
_EMPTY_TYPE2 = (
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
    "PositionReferenceIndicator",
)
# Source UIDs replaced by deidentified_uid(), with their kind in the UID map.
_UID_KINDS = (
    ("StudyInstanceUID", "study"),
    ("SeriesInstanceUID", "series"),
    ("FrameOfReferenceUID", "frame_of_reference"),
    ("SOPInstanceUID", "sop_instance"),
)
_DEIDENTIFICATION_METHOD = (
    "Basic Application Confidentiality Profile (PS3.15 E)",
    "netpet: UIDs replaced by keyed hash; dates removed",
)


def deidentified_uid(source_uid: str, uid_salt: str) -> str:
    """The UID that replaces ``source_uid`` in exported objects.

    ``2.25.`` followed by the decimal value of a UUID (ITU-T X.667, DICOM PS3.5 B.2) made
    from the first 128 bits of ``HMAC-SHA256(key=uid_salt, message=source_uid)`` with the
    version and variant bits of an RFC 9562 version-8 UUID; at most 44 characters.  The
    same source UID and salt always give the same UID, so references stay consistent
    between objects and runs; without the salt the source UID can be neither recovered
    nor confirmed.

    Parameters
    ----------
    source_uid : str
        Any UID (or other string) to replace.
    uid_salt : str
        The study's secret (see :func:`read_uid_salt`).
    """
    digest = hmac.new(uid_salt.encode(), str(source_uid).encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:16], "big")
    value = (value & ~(0xF << 76)) | (0x8 << 76)  # version 8
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant 10 (RFC 9562)
    return f"2.25.{value}"


def check_uid_salt(uid_salt, *, source: str = "uid_salt") -> str:
    """Return ``uid_salt`` if it is a string of at least :data:`MIN_UID_SALT_CHARS`."""
    if not isinstance(uid_salt, str) or len(uid_salt.strip()) < MIN_UID_SALT_CHARS:
        raise InputError(
            f"{source}: the UID salt must be a secret string of at least "
            f'{MIN_UID_SALT_CHARS} characters (e.g. the output of `python -c "import '
            'secrets; print(secrets.token_hex(32))"`), kept outside results/'
        )
    return uid_salt.strip()


def read_uid_salt(path: str | os.PathLike) -> str:
    """Read the study's UID salt: the first line of a text file, stripped.

    Raises
    ------
    InputError
        Missing file, or a salt shorter than :data:`MIN_UID_SALT_CHARS` characters.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path}: cannot read the UID salt file ({error})") from error
    return check_uid_salt(text.strip().split("\n")[0], source=str(path))


def write_uid_map(path: str | os.PathLike, uid_map: pd.DataFrame) -> None:
    """Write the table returned by :func:`write_dicom_seg` as TSV, atomically.

    It holds source UIDs: keep it outside ``results/``.
    """
    write_tsv(path, uid_map.loc[:, list(UID_MAP_COLUMNS)])


def source_slice_record(headers: Sequence[pydicom.Dataset]) -> list[str]:
    """What a DICOM SEG needs of each PET slice (geometry and UIDs only), as text.

    Recorded when the PET is converted, so that the segmentation step writes its SEG without
    reading the series again.  Each slice is its reduced header encoded as DICOM (explicit VR
    little endian, base64): decimal strings keep their exact text, so the SEG is the same as
    one made from the files.  It holds source UIDs: keep it outside results/.
    """
    keep = (*_SOURCE_KEEP, *(keyword for keyword, _ in _UID_KINDS))
    records = []
    for ds in headers:
        reduced = pydicom.Dataset()
        for keyword in keep:
            if keyword in ds:
                reduced[keyword] = ds[keyword]  # written, never changed: no copy needed
        buffer = DicomBytesIO()
        buffer.is_little_endian, buffer.is_implicit_VR = True, False
        write_dataset(buffer, reduced)
        records.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    return records


def source_slices(records: Sequence[str]) -> list[pydicom.Dataset]:
    """The PET slice headers of :func:`source_slice_record`, as datasets."""
    return [
        read_dataset(
            DicomBytesIO(base64.b64decode(record)), is_implicit_VR=False, is_little_endian=True
        )
        for record in records
    ]


def _describe(ds: pydicom.Dataset, k: int) -> str:
    filename = getattr(ds, "filename", None)
    return f"PET slice {k} ({filename})" if isinstance(filename, str) else f"PET slice {k}"


def _sorted_source_slices(datasets, labels: sitk.Image, *, tolerance_mm: float = 0.01):
    """Sort PET datasets along the slice normal and match them to the label map's slices.

    Each slice must lie within ``tolerance_mm`` of its label-map slice (scanners round
    positions; :func:`netpet.imaging.dicom.check_geometry` accepts jitter within 10 % of the
    spacing).
    """
    if len(datasets) != labels.GetSize()[2]:
        raise InputError(
            f"PET series has {len(datasets)} slices but the label map {labels.GetSize()[2]}: "
            "give the PET datasets the label map was made on"
        )
    required = ("ImagePositionPatient", "ImageOrientationPatient", "Rows", "Columns")
    required += tuple(keyword for keyword, _ in _UID_KINDS)
    for k, ds in enumerate(datasets):
        missing = [keyword for keyword in required if not ds.get(keyword)]
        if missing:
            raise InputError(f"{_describe(ds, k)} lacks {missing}: not a usable PET slice")
    orientation = np.asarray(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    positions = [np.asarray(d.ImagePositionPatient, dtype=float) for d in datasets]
    order = np.argsort([p @ normal for p in positions], kind="stable")
    datasets = [datasets[i] for i in order]
    for k, ds in enumerate(datasets):
        expected = labels.TransformIndexToPhysicalPoint((0, 0, k))
        if not np.allclose(np.asarray(ds.ImagePositionPatient, float), expected, atol=tolerance_mm):
            raise InputError(
                f"{_describe(ds, k)} Image Position (0020,0032) "
                f"{[float(v) for v in ds.ImagePositionPatient]} does not match the label map "
                f"grid {list(expected)}: the label map is not on this PET series' grid"
            )
        if (int(ds.Columns), int(ds.Rows)) != labels.GetSize()[:2]:
            raise InputError(
                f"{_describe(ds, k)}: Rows/Columns {int(ds.Rows)}/{int(ds.Columns)} differ "
                f"from the label map size {labels.GetSize()[:2]} (x, y)"
            )
    return datasets


def _deidentified_source(ds: pydicom.Dataset, new_uids: dict[str, str], patient_id: str):
    """A PET slice header reduced to what the SEG needs, its UIDs replaced.

    Built by inclusion (only :data:`_SOURCE_KEEP`), so nothing else of the source, private
    tags included, can reach the SEG through highdicom's copying of patient, study and
    equipment attributes.
    """
    out = pydicom.Dataset()
    for keyword in _SOURCE_KEEP:
        if keyword in ds:
            setattr(out, keyword, copy.deepcopy(ds[keyword].value))
    for keyword, _ in _UID_KINDS:
        setattr(out, keyword, new_uids[str(ds[keyword].value)])
    out.PatientID = patient_id
    out.PatientName = f"{patient_id}^"  # trailing caret: a single-component name
    for keyword in _EMPTY_TYPE2:
        setattr(out, keyword, "")
    return out


def _seg_uids(content_key: str, series_uid: str, uid_salt: str) -> tuple[str, str, str]:
    """Series, SOP instance and dimension organisation UIDs of one SEG.

    Derived from the source series and a digest of the SEG's content, so a changed
    segmentation of the same PET gets new UIDs while the same one gets the same UIDs.
    """
    return tuple(
        deidentified_uid(f"netpet-seg:{role}:{series_uid}:{content_key}", uid_salt)
        for role in ("series", "instance", "dimension-organization")
    )


def _string_values(dataset: pydicom.Dataset):
    """(keyword, VR, value) of every non-binary element of ``dataset``, sequences included."""
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                yield from _string_values(item)
        elif element.value is not None and element.VR not in ("OB", "OW", "OF", "OD", "UN"):
            values = element.value if element.VM > 1 else [element.value]
            for value in values:
                yield element.keyword, element.VR, str(value)


def _check_export(seg: pydicom.Dataset, ours: set[str]) -> None:
    """Refuse to write a SEG holding a foreign UID or a date/time other than the dummies.

    A UID must be ours or a registered DICOM UID; dates and times empty or the dummy
    Content Date/Time.  Guards the de-identification and the determinism against library
    changes (a source UID copied, a random UID or the clock's time added).
    """
    allowed_dates = ("", DUMMY_CONTENT_DATE, DUMMY_CONTENT_TIME)
    foreign = sorted(
        {
            keyword
            for keyword, vr, value in [*_string_values(seg.file_meta), *_string_values(seg)]
            if (
                vr == "UI"
                and value not in ours
                and pydicom.uid.UID(value).name == value
                and keyword != "ImplementationClassUID"
            )
            or (vr in ("DA", "DT", "TM") and value not in allowed_dates)
        }
    )
    if foreign:
        raise RuntimeError(f"DICOM SEG export: unexpected UID or date in {foreign}; not written")


def write_dicom_seg(
    labels: sitk.Image,
    pet_datasets: Sequence[pydicom.Dataset | str | os.PathLike],
    path: str | os.PathLike,
    *,
    patient_id: str,
    uid_salt: str,
    segment_names: dict[int, str] | None = None,
    series_description: str = "netpet tumour segmentation",
    segmentation_type: str = "BINARY",
    method: str = "",
    series_number: int = 900,
    position_tolerance_mm: float = 0.01,
) -> pd.DataFrame:
    """Write a lesion label map as a de-identified DICOM SEG referencing the PET series.

    One segment per lesion (segment number = lesion label, category "Morphologically
    abnormal structure", type "Neoplasm"); ``BINARY`` (default, widely read) or ``LABELMAP``
    (DICOM 2024, compact).  Frames are placed by the PET slices' geometry (per-frame Plane
    Position, shared Plane Orientation and Pixel Measures).

    **No lesion** (a complete response): one segment labelled :data:`NO_LESION_LABEL` with
    one all-zero frame per PET slice.  The Segmentation IOD (PS3.3 C.8.20) needs at least
    one segment (Segment Sequence, type 1) and at least one frame (Number of Frames > 0,
    C.7.6.6), but no non-zero pixel; highdicom writes every frame when all are empty.

    **De-identification**, DICOM PS3.15 Annex E Basic Application Level Confidentiality
    Profile, no options (Deidentification Method Code 113100):

    - patient: PatientID and PatientName = ``patient_id``; birth date and sex empty (type 2);
      no other patient, study-participant, institution, staff or device attribute of the
      source is copied (the SEG is built from headers reduced to geometry);
    - dates: removed, not shifted.  Study Date/Time empty (type 2); Series, Acquisition
      and Instance Creation date/time absent (type 3); Content Date/Time (type 1 in the
      Segmentation IOD) the dummy :data:`DUMMY_CONTENT_DATE` / :data:`DUMMY_CONTENT_TIME`;
      Longitudinal Temporal Information Modified = ``REMOVED``;
    - UIDs: the study, series, frame-of-reference and every referenced SOP instance UID
      are replaced by :func:`deidentified_uid` of the source UID, so the SEG's references
      (Referenced Series Sequence, per-frame Derivation Image / Source Image Sequences)
      point to the PET as de-identified with the same salt.  The SEG's own series, SOP
      instance and dimension organisation UIDs derive from the source series UID and a
      digest of the SEG's content;
    - Patient Identity Removed = ``YES``, Deidentification Method (text and code).

    Nothing comes from the clock: the same inputs give a byte-identical file.

    Parameters
    ----------
    labels : SimpleITK.Image
        Lesion label map on the PET grid (labels 1..N, every number present; all zero for
        a scan without lesions).
    pet_datasets : sequence of pydicom.Dataset or paths
        The PET series' slices the label map was made on (any order).
    path : path-like
        Output ``.dcm`` file, written atomically.
    patient_id : str
        Study patient ID (written as PatientID and PatientName).
    uid_salt : str
        The study's secret for :func:`deidentified_uid` (at least
        :data:`MIN_UID_SALT_CHARS` characters).
    segment_names : dict, optional
        ``{label: name}``; default ``lesion_<label>`` (:data:`NO_LESION_LABEL` when empty).
    segmentation_type : {"BINARY", "LABELMAP"}
    method : str
        Segmentation method, recorded as the algorithm's parameters.
    position_tolerance_mm : float
        Largest distance (mm) between a PET slice's position and its label-map slice.

    Returns
    -------
    pandas.DataFrame
        The UID map, columns :data:`UID_MAP_COLUMNS`: ``source_uid``, ``deidentified_uid``,
        ``kind`` (``study``, ``series``, ``frame_of_reference``, ``sop_instance``); one row
        per distinct source UID, PET slices in slice order.  It holds source UIDs: keep it
        outside ``results/`` (:func:`write_uid_map`).

    Raises
    ------
    InputError
        Unknown segmentation type, short salt, label numbers with gaps, PET slices that do
        not match the label map (count, positions, size) or lack UIDs/geometry.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if segmentation_type not in SEG_TYPES:
        raise InputError(f"segmentation_type {segmentation_type!r} not one of {SEG_TYPES}")
    uid_salt = check_uid_salt(uid_salt)
    datasets = [
        d if isinstance(d, pydicom.Dataset) else pydicom.dcmread(str(d), stop_before_pixels=True)
        for d in pet_datasets
    ]
    datasets = _sorted_source_slices(datasets, labels, tolerance_mm=position_tolerance_mm)
    array = sitk.GetArrayFromImage(labels).astype(np.uint16)  # (z, y, x) = (slice, row, col)
    present = np.unique(array[array > 0])
    n_lesions = int(present.max()) if present.size else 0
    if not np.array_equal(present, np.arange(1, n_lesions + 1)):
        raise InputError(
            f"label map numbers {present.tolist()[:10]}... are not 1..N without gaps: relabel "
            "the lesions consecutively before export"
        )
    names = dict(segment_names or {})
    if n_lesions == 0:
        names.setdefault(1, NO_LESION_LABEL)

    rows = []
    for k, ds in enumerate(datasets):
        for keyword, kind in _UID_KINDS:
            if k == 0 or kind == "sop_instance":
                source_uid = str(ds[keyword].value)
                rows.append((source_uid, deidentified_uid(source_uid, uid_salt), kind))
    import pandas as pd

    uid_map = pd.DataFrame(rows, columns=list(UID_MAP_COLUMNS)).drop_duplicates("source_uid")
    new_uids = dict(zip(uid_map["source_uid"], uid_map["deidentified_uid"], strict=True))
    sources = [_deidentified_source(d, new_uids, patient_id) for d in datasets]

    content = hashlib.sha256(np.ascontiguousarray(array).tobytes())
    settings = [array.shape, segmentation_type, sorted(names.items()), method]
    content.update(repr([*settings, series_description, series_number, __version__]).encode())
    series_uid, instance_uid, dimension_uid = _seg_uids(
        content.hexdigest(), str(datasets[0].SeriesInstanceUID), uid_salt
    )

    algorithm = hd.AlgorithmIdentificationSequence(
        name="netpet",
        family=codes.cid7162.HistogramAnalysis,
        version=__version__,
        parameters={"method": method} if method else None,
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=str(names.get(n, f"lesion_{n}"))[:64],
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for n in range(1, max(n_lesions, 1) + 1)
    ]
    try:
        seg = hd.seg.Segmentation(
            source_images=sources,
            pixel_array=array,
            segmentation_type=segmentation_type,
            segment_descriptions=descriptions,
            series_instance_uid=series_uid,
            series_number=series_number,
            sop_instance_uid=instance_uid,
            instance_number=1,
            manufacturer="netpet",
            manufacturer_model_name="netpet",
            software_versions=__version__,
            device_serial_number="0",
            series_description=series_description,
            # all-empty: every frame is kept, which highdicom does anyway (and logs)
            omit_empty_frames=n_lesions > 0,
            content_date=DUMMY_CONTENT_DATE,
            content_time=DUMMY_CONTENT_TIME,
        )
    except (ValueError, TypeError) as error:
        raise InputError(f"highdicom cannot build the DICOM SEG from this PET: {error}") from error

    # No time from the clock (all type 3): instance creation, highdicom's contribution.
    for keyword in ("InstanceCreationDate", "InstanceCreationTime"):
        if keyword in seg:
            delattr(seg, keyword)
    for item in seg.get("ContributingEquipmentSequence", []):
        if "ContributionDateTime" in item:
            del item.ContributionDateTime
    for item in [*seg.DimensionOrganizationSequence, *seg.get("DimensionIndexSequence", [])]:
        if "DimensionOrganizationUID" in item:
            item.DimensionOrganizationUID = dimension_uid
    seg.PatientIdentityRemoved = "YES"
    seg.DeidentificationMethod = list(_DEIDENTIFICATION_METHOD)
    profile = codes.DCM.BasicApplicationConfidentialityProfile
    seg.DeidentificationMethodCodeSequence = [
        hd.sr.CodedConcept(
            value=profile.value,
            scheme_designator=profile.scheme_designator,
            meaning=profile.meaning,
        )
    ]
    seg.LongitudinalTemporalInformationModified = "REMOVED"
    # (The label-map SEG storage class is newer than pydicom's UID dictionary.)
    ours = {*new_uids.values(), series_uid, instance_uid, dimension_uid, seg.SOPClassUID}
    _check_export(seg, ours)
    with atomic_path(path) as tmp:
        seg.save_as(str(tmp), enforce_file_format=True)
    return uid_map.reset_index(drop=True)
