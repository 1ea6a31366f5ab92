"""Import and export of segmentations (STUDY.md section 3.4).

Import, always onto the PET grid (nearest neighbour):

- label maps in any format SimpleITK reads (NIfTI, NRRD): :func:`read_label_map`;
- DICOM RTSTRUCT, contours rasterised on the PET grid: :func:`read_rtstruct`;
- DICOM SEG (highdicom): :func:`read_dicom_seg`.

Export: :func:`write_dicom_seg` writes a lesion label map as DICOM SEG referencing the PET
series, without any patient identity (the study's patient ID replaces name and ID).

Arrays are numpy (z, y, x); SimpleITK spacing and points are (x, y, z) mm, LPS.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from matplotlib.path import Path as PolygonPath

from netpet import __version__
from netpet.errors import InputError
from netpet.io import atomic_path
from netpet.organs import resample_labels_to

# Attributes that identify a patient, an institution or staff: emptied (or removed) in
# every exported object.  PatientID and PatientName are replaced by the study patient ID.
IDENTITY_KEYWORDS = (
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientMotherBirthName",
    "OtherPatientIDs",
    "OtherPatientNames",
    "OtherPatientIDsSequence",
    "IssuerOfPatientID",
    "PatientComments",
    "MilitaryRank",
    "BranchOfService",
    "MedicalRecordLocator",
    "AccessionNumber",
    "IssuerOfAccessionNumberSequence",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "InstitutionCodeSequence",
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "OperatorsName",
    "StationName",
    "StudyID",
    "RequestAttributesSequence",
    "ReferencedPatientSequence",
    "ReferencedStudySequence",
)

_EMPTY_TYPE2 = ("PatientBirthDate", "AccessionNumber", "ReferringPhysicianName", "StudyID")

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
    resampled = resample_labels_to(image, reference)
    if sitk.GetArrayViewFromImage(image).any() and not sitk.GetArrayViewFromImage(resampled).any():
        raise InputError(f"{source}: no labelled voxel falls inside the PET field of view")
    return resampled


def deidentify(dataset: pydicom.Dataset, patient_id: str) -> pydicom.Dataset:
    """Copy of ``dataset`` with the study ``patient_id`` as PatientID / PatientName and the
    :data:`IDENTITY_KEYWORDS` removed or emptied (type 2 attributes are kept empty)."""
    out = copy.deepcopy(dataset)
    for keyword in IDENTITY_KEYWORDS:
        if keyword in out:
            delattr(out, keyword)
    out.PatientID = patient_id
    out.PatientName = f"{patient_id}^"  # trailing caret: a single-component name
    # Type 2 attributes of the patient / study modules: present but empty.
    for keyword in _EMPTY_TYPE2:
        setattr(out, keyword, "")
    return out


def _sorted_source_slices(datasets, labels: sitk.Image):
    """Sort PET datasets along the slice normal and match them to the label map's slices."""
    if len(datasets) != labels.GetSize()[2]:
        raise InputError(
            f"PET series has {len(datasets)} slices but the label map {labels.GetSize()[2]}: "
            "give the PET datasets the label map was made on"
        )
    orientation = np.asarray(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    positions = [np.asarray(d.ImagePositionPatient, dtype=float) for d in datasets]
    order = np.argsort([p @ normal for p in positions], kind="stable")
    datasets = [datasets[i] for i in order]
    for k, ds in enumerate(datasets):
        expected = labels.TransformIndexToPhysicalPoint((0, 0, k))
        if not np.allclose(np.asarray(ds.ImagePositionPatient, float), expected, atol=0.01):
            raise InputError(
                f"PET slice {k} (SOP {ds.SOPInstanceUID}) Image Position (0020,0032) "
                f"{list(ds.ImagePositionPatient)} does not match the label map grid "
                f"{list(expected)}: the label map is not on this PET series' grid"
            )
        if (int(ds.Columns), int(ds.Rows)) != labels.GetSize()[:2]:
            raise InputError(f"PET slice {k}: Rows/Columns differ from the label map size")
    return datasets


def write_dicom_seg(
    labels: sitk.Image,
    pet_datasets: Sequence[pydicom.Dataset | str | os.PathLike],
    path: str | os.PathLike,
    *,
    patient_id: str,
    segment_names: dict[int, str] | None = None,
    series_description: str = "netpet tumour segmentation",
    segmentation_type: str = "BINARY",
    method: str = "",
    series_number: int = 900,
) -> None:
    """Write a lesion label map as DICOM SEG referencing the PET series, de-identified.

    One segment per lesion (segment number = lesion label, category "Morphologically
    abnormal structure", type "Neoplasm"); ``BINARY`` (default, widely read) or ``LABELMAP``
    (DICOM 2024, compact).  Patient and study attributes come from the PET (so viewers
    attach the SEG to the study) after :func:`deidentify`: PatientID and PatientName are
    the study's ``patient_id``; birth date, accession number, institution and physicians are
    emptied.  UIDs are kept: they are needed for referencing.

    Parameters
    ----------
    labels : SimpleITK.Image
        Lesion label map on the PET grid (labels 1..N, every number present).
    pet_datasets : sequence of pydicom.Dataset or paths
        The PET series' slices the label map was made on (any order).
    path : path-like
        Output ``.dcm`` file, written atomically.
    patient_id : str
        Study patient ID (written as PatientID and PatientName).
    segment_names : dict, optional
        ``{label: name}``; default ``lesion_<label>``.
    segmentation_type : {"BINARY", "LABELMAP"}
    method : str
        Segmentation method, recorded as the algorithm's parameters.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if segmentation_type not in SEG_TYPES:
        raise InputError(f"segmentation_type {segmentation_type!r} not one of {SEG_TYPES}")
    datasets = [
        d if isinstance(d, pydicom.Dataset) else pydicom.dcmread(str(d), stop_before_pixels=True)
        for d in pet_datasets
    ]
    datasets = _sorted_source_slices(datasets, labels)
    array = sitk.GetArrayFromImage(labels).astype(np.uint16)  # (z, y, x) = (slice, row, col)
    present = np.unique(array[array > 0])
    n_segments = int(present.max()) if present.size else 0
    if n_segments == 0:
        raise InputError("label map is empty: a DICOM SEG needs at least one lesion")
    if not np.array_equal(present, np.arange(1, n_segments + 1)):
        raise InputError(
            f"label map numbers {present.tolist()[:10]}... are not 1..N without gaps: relabel "
            "the lesions consecutively before export"
        )
    sources = [deidentify(d, patient_id) for d in datasets]
    algorithm = hd.AlgorithmIdentificationSequence(
        name="netpet",
        family=codes.cid7162.HistogramAnalysis,
        version=__version__,
        parameters={"method": method} if method else None,
    )
    names = segment_names or {}
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=str(names.get(n, f"lesion_{n}"))[:64],
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for n in range(1, n_segments + 1)
    ]
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=array,
        segmentation_type=segmentation_type,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=series_number,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="netpet",
        manufacturer_model_name="netpet",
        software_versions=__version__,
        device_serial_number="0",
        series_description=series_description,
    )
    seg = deidentify(seg, patient_id)
    with atomic_path(path) as tmp:
        seg.save_as(str(tmp), enforce_file_format=True)
