"""Per-scan steps of the imaging chain, file in / file out, one function per workflow rule.

Each function reads the images a step needs, calls the science modules
(:mod:`netpet.imaging.organs`, :mod:`netpet.imaging.segment`, :mod:`netpet.imaging.features`,
...) and writes its outputs atomically.
Outputs name the scan by the study's patient ID and time point only.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from netpet import labels
from netpet.errors import InputError
from netpet.imaging import dicom
from netpet.imaging.features import (
    CT_HU_MEAN_COLUMN,
    lesion_ct_hu_mean,
    lesion_features,
    scan_features,
)
from netpet.imaging.grid import resample_labels_to
from netpet.imaging.krenning import KRENNING_COLUMN, KrenningSettings, krenning_scores
from netpet.imaging.organs import LiverReference, organ_uptake, place_liver_reference
from netpet.imaging.segment import SegmentationSettings, segment_tumours
from netpet.imaging.segment.imported import read_tumour_mask, relabel_by_suvmax
from netpet.io import write_image, write_json, write_tsv
from netpet.stats.columns import SUV_PER_SUVBW_COLUMN, SUV_TYPE_COLUMN
from netpet.steps.ingest import ANATOMY_FILES, ANATOMY_RECORD

log = logging.getLogger(__name__)

# segmentation.method of masks made by other tools.
IMPORT_METHOD = "import"


def _read(path) -> sitk.Image:
    return sitk.ReadImage(str(path))


def read_organ_labels(path: str | os.PathLike, *, what: str) -> sitk.Image:
    """Read an organ label map (NIfTI, NRRD, MHA): integer labels, TotalSegmentator numbers.

    Raises
    ------
    InputError
        The file is missing, not an image ITK can read, or holds non-integer values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what}: file {path} does not exist; fix the organ_labels column")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unreadable"
        raise InputError(
            f"{what}: {path} is not a readable label image (NIfTI .nii/.nii.gz, NRRD .nrrd, "
            f"MetaImage .mha); ITK says: {reason}; convert it to NIfTI with TotalSegmentator "
            "label numbers"
        ) from None
    if image.GetNumberOfComponentsPerPixel() != 1 or image.GetDimension() != 3:
        raise InputError(
            f"{what}: {path} is not a 3-D single-component label map (dimension "
            f"{image.GetDimension()}, {image.GetNumberOfComponentsPerPixel()} components)"
        )
    values = sitk.GetArrayViewFromImage(image)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            raise InputError(
                f"{what}: {path} holds non-integer values (a probability map or an image, not "
                "a label map); give integer organ labels (TotalSegmentator numbering)"
            )
        image = sitk.Cast(image, sitk.sitkUInt16)
    return image


def organs_step(
    *,
    patient_id: str,
    timepoint: str,
    pet_suv_path: str | os.PathLike,
    anatomy_dir: str | os.PathLike,
    organ_labels_path: str | os.PathLike | None,
    organ_labels_origin: str,
    check_organ_labels: bool,
    liver_reference_settings: dict,
    checks: dict,
    organs_out: str | os.PathLike,
    suv_provenance_path: str | os.PathLike | None = None,
    liver_json_out: str | os.PathLike,
    liver_mask_out: str | os.PathLike,
) -> None:
    """Organ labels on the PET grid and the normal-liver reference sphere of one scan.

    Parameters
    ----------
    anatomy_dir
        The scan's anatomy folder (:func:`netpet.steps.ingest.ingest_scan`): the CT or MR on the PET
        grid, when the scan has one, for the checks of the map.
    organ_labels_path
        Organ label map (TotalSegmentator numbers, any grid in the PET's frame of reference),
        or None when the scan has none: then the organ map is empty, and the liver reference
        is recorded as unavailable (``"available": false`` with a ``note``), so TLR and TSR
        are not computed; only ``segmentation.method: import`` works without organs.
    organ_labels_origin
        Where the map came from, for the record and messages (``samples sheet``,
        ``TotalSegmentator``).
    check_organ_labels
        Check the map against the scan (:func:`netpet.imaging.organ_checks.check_organ_map`,
        with the ``checks`` settings); a mismatch stops the scan with a message.
    suv_provenance_path
        The scan's suv.json: the SUV ranges of ``checks`` are in SUVbw and are converted with
        its ``suv_per_suvbw``.
    liver_reference_settings
        Keyword arguments of :func:`netpet.imaging.organs.place_liver_reference` (``radius_mm``,
        ``margin_mm``, ``lesion_margin_mm``), and ``fallbacks``: a list of overrides of those,
        tried in order when a liver full of lesions leaves no room for the sphere.  The one
        used is recorded in the JSON (``fallback``: 0 = none) and logged.
    """
    from netpet.imaging.organ_checks import check_liver_reference, check_organ_map

    scan = f"{patient_id}/{timepoint}"
    suv = _read(pet_suv_path)
    record = {"patient_id": patient_id, "timepoint": timepoint}
    if organ_labels_path is None:
        organs = sitk.Image(suv.GetSize(), sitk.sitkUInt8)
        organs.CopyInformation(suv)
        mask = sitk.Image(organs)
        record.update(
            {
                "available": False,
                "organ_labels": None,
                "note": "no organ label map: no liver reference (TLR and TSR not computed) "
                "and no exclusion of physiological uptake",
                "spleen": {"suvmean": None, "suvsd": None, "n_voxels": 0},
            }
        )
        write_image(organs_out, organs)
        write_image(liver_mask_out, mask)
        write_json(liver_json_out, record)
        log.warning("%s: no organ label map; no liver reference", scan)
        return
    what = f"scan {scan}: organ label map {Path(organ_labels_path).name} ({organ_labels_origin})"
    source_labels = read_organ_labels(organ_labels_path, what=what)
    organs = resample_labels_to(source_labels, suv)
    settings = dict(liver_reference_settings)
    check = check_organ_labels and checks.get("enabled", True)
    checks = in_suv_type(checks, SUVBW_CHECKS, suv_per_suvbw(suv_provenance_path))
    record.update(
        {"available": True, "organ_labels": organ_labels_origin, "organ_labels_checked": check}
    )
    if check:
        anatomy = json.loads((Path(anatomy_dir) / ANATOMY_RECORD).read_text())
        modality = anatomy["modality"]
        anatomy_on_pet = _read(Path(anatomy_dir) / ANATOMY_FILES[modality][1]) if modality else None
        record["organ_checks"] = check_organ_map(
            organs,
            suv,
            settings=checks,
            source_labels=source_labels,
            anatomy_on_pet=anatomy_on_pet,
            anatomy_modality=modality,
            what=what,
        )
    attempts = [{}, *settings.pop("fallbacks", [])]
    for fallback, overrides in enumerate(attempts):
        try:
            reference = place_liver_reference(suv, organs, **{**settings, **overrides})
            break
        except InputError as error:
            if fallback == len(attempts) - 1:
                raise InputError(f"{what}: {error}") from None
            log.warning(
                "%s: %s; trying fallback %d %s", scan, error, fallback + 1, attempts[fallback + 1]
            )
    if check:
        check_liver_reference(reference.suvmean, settings=checks, what=what)
    spleen = organ_uptake(suv, organs, labels.SPLEEN, erode_mm=4.0)
    record.update(reference.to_dict())
    record["fallback"] = fallback
    record["spleen"] = spleen
    mask = sitk.GetImageFromArray(reference.mask.astype(np.uint8))
    mask.CopyInformation(suv)
    write_image(organs_out, organs)
    write_image(liver_mask_out, mask)
    write_json(liver_json_out, record)
    log.info("%s: liver reference SUVmean %.2f (SD %.2f)", scan, reference.suvmean, reference.suvsd)


def load_liver_reference(json_path, mask_path) -> LiverReference | None:
    """Rebuild the :class:`LiverReference` written by :func:`organs_step` (None: no organs)."""
    record = json.loads(Path(json_path).read_text())
    if not record.get("available", True):
        return None
    mask = sitk.GetArrayFromImage(_read(mask_path)).astype(bool)
    return LiverReference(
        centre_mm=(record["centre_x_mm"], record["centre_y_mm"], record["centre_z_mm"]),
        radius_mm=record["radius_mm"],
        mask=mask,
        suvmean=record["suvmean"],
        suvsd=record["suvsd"],
        n_voxels=record["n_voxels"],
        rule=record["rule"],
    )


# Settings stated in SUVbw, converted to the configured SUV type per scan: segmentation
# thresholds, and the SUV ranges of the organ map checks.
SUVBW_SETTINGS = ("seed_threshold_suv", "threshold_suv")
SUVBW_CHECKS = ("body_suv", "liver_suvmean_range")


def in_suv_type(settings: dict, keys, suv_per_suvbw: float) -> dict:
    """``settings`` with the SUVbw values of ``keys`` converted to this scan's SUV type.

    Thresholds are stated in SUVbw (the study's SUV); with ``suv.type`` lbm or bsa each scan's
    values are multiplied by its SUV / SUVbw ratio (``suv_per_suvbw`` of suv.json), so the same
    voxels pass a threshold whatever the SUV type.
    """
    if suv_per_suvbw == 1.0:
        return dict(settings)

    def convert(value):
        if isinstance(value, list | tuple):
            return [v * suv_per_suvbw for v in value]
        return None if value is None else value * suv_per_suvbw

    return {key: convert(value) if key in keys else value for key, value in settings.items()}


def suv_per_suvbw(suv_provenance_path: str | os.PathLike | None) -> float:
    """The scan's SUV / SUVbw ratio recorded in suv.json (1 when not given: SUVbw)."""
    if suv_provenance_path is None:
        return 1.0
    return float(json.loads(Path(suv_provenance_path).read_text()).get("suv_per_suvbw", 1.0))


def segment_step(
    *,
    patient_id: str,
    timepoint: str,
    pet_suv_path: str | os.PathLike,
    organs_path: str | os.PathLike,
    liver_json_path: str | os.PathLike,
    liver_mask_path: str | os.PathLike,
    settings: dict,
    labels_out: str | os.PathLike,
    info_out: str | os.PathLike,
    suv_provenance_path: str | os.PathLike | None = None,
    tumour_mask_path: str | os.PathLike | None = None,
    dicom_seg_out: str | os.PathLike | None = None,
    pet_slices_path: str | os.PathLike | None = None,
    uid_salt_path: str | os.PathLike | None = None,
    uid_map_out: str | os.PathLike | None = None,
) -> None:
    """Segment the tumour lesions of one scan (or import them) and write the label map.

    Parameters
    ----------
    settings
        The config's ``segmentation`` section: :class:`netpet.imaging.segment.SegmentationSettings`
        fields (thresholds in SUVbw, converted to the scan's SUV type with the ratio in
        ``suv_provenance_path``), ``method: import`` for masks from other tools
        (``tumour_mask_path``), and ``export_dicom_seg`` / ``dicom_seg_type``.
    labels_out, info_out
        NIfTI label map (uint16, lesions 1..N by descending SUVmax) and a JSON record of the
        method, its parameters and per-lesion thresholds.
    dicom_seg_out
        When given, the label map is also written as DICOM SEG referencing the PET series
        (its slices as recorded by the conversion in ``pet_slices_path``), de-identified
        (:func:`netpet.imaging.seg_io.write_dicom_seg`): its UIDs are keyed hashes with the
        secret in ``uid_salt_path``, and the source -> new UID map goes to ``uid_map_out``
        (outside results/: it holds source UIDs).
    """
    suv = _read(pet_suv_path)
    organs = _read(organs_path)
    liver = load_liver_reference(liver_json_path, liver_mask_path)
    # from_config takes the segmentation settings of the section and leaves the export keys.
    options = in_suv_type(settings, SUVBW_SETTINGS, suv_per_suvbw(suv_provenance_path))
    scan = f"{patient_id}/{timepoint}"
    if options.get("method") == IMPORT_METHOD:
        mask_path = str(tumour_mask_path or "")
        lesion_labels = relabel_by_suvmax(suv, read_tumour_mask(mask_path, suv, scan=scan))
        # The mask's file name may carry identity (doe_john.nii): record only its kind.
        kind = "".join(Path(mask_path).suffixes[-2:]).lstrip(".") or "DICOM"
        info = {"settings": {"method": IMPORT_METHOD, "tumour_mask": f"samples sheet ({kind})"}}
        info["lesion_count"] = int(sitk.GetArrayViewFromImage(lesion_labels).max())
    else:
        lesion_labels, info = segment_tumours(
            suv,
            SegmentationSettings.from_config(options),
            organ_labels=organs,
            liver_reference=liver,
        )
    info = {"patient_id": patient_id, "timepoint": timepoint, **info}
    if dicom_seg_out is not None:
        _write_dicom_seg(
            lesion_labels,
            pet_slices_path,
            dicom_seg_out,
            patient_id=patient_id,
            scan=scan,
            method=json.dumps(info["settings"], sort_keys=True, default=str),
            segmentation_type=settings.get("dicom_seg_type", "BINARY"),
            uid_salt_path=uid_salt_path,
            uid_map_out=uid_map_out,
        )
    write_image(labels_out, lesion_labels)
    write_json(info_out, info)
    log.info("%s: %d lesions", scan, info["lesion_count"])


def _write_dicom_seg(
    lesion_labels,
    pet_slices_path,
    path,
    *,
    patient_id,
    scan,
    method,
    segmentation_type,
    uid_salt_path,
    uid_map_out=None,
):
    """Write the scan's lesions as a de-identified DICOM SEG (:func:`seg_io.write_dicom_seg`).

    The PET's slices come from the record the conversion wrote (``pet_slices_path``), so the
    series is not read again.  A scan without lesions (complete response) gets a SEG with one
    empty segment.  UIDs are replaced by keyed hashes with the salt read from
    ``uid_salt_path``; the source -> de-identified UID map (it holds source UIDs: never under
    results/) is written to ``uid_map_out`` as TSV when given, and returned.  Errors name the
    scan.
    """
    from netpet.imaging import seg_io

    record = json.loads(Path(pet_slices_path).read_text())
    geometry = record["geometry"]
    try:
        uid_salt = seg_io.read_uid_salt(uid_salt_path)
        uid_map = seg_io.write_dicom_seg(
            _labels_on_source_slices(lesion_labels, geometry),
            seg_io.source_slices(record["slices"]),
            path,
            patient_id=patient_id,
            uid_salt=uid_salt,
            method=method,
            segmentation_type=segmentation_type,
            position_tolerance_mm=max(0.01, geometry["max_position_error_mm"] + 1e-3),
        )
    except InputError as error:
        message = str(error)
        if scan not in message:
            message = f"scan {scan}: DICOM SEG export: {message}"
        raise InputError(message) from error
    if uid_map_out is not None:
        seg_io.write_uid_map(uid_map_out, uid_map)
    return uid_map


def _labels_on_source_slices(lesion_labels: sitk.Image, geometry: dict) -> sitk.Image:
    """The label map on the PET's own slices, which a DICOM SEG must reference.

    ``geometry`` is the conversion's record of the slices (``resampled``, ``positions_mm``,
    ``spacing_z_mm``, ``n_image_slices``).  Unchanged when the image uses the slices as they
    are; when the PET was resampled along z (irregular slice positions,
    :func:`netpet.imaging.dicom.check_geometry`), each source slice takes the labels of the
    nearest image slice, on an even grid from the first to the last source slice (every source
    slice lies within ``max_position_error_mm`` of it).
    """
    if not geometry["resampled"]:
        return lesion_labels
    positions = np.asarray(geometry["positions_mm"], dtype=float)
    nearest = np.rint((positions - positions[0]) / geometry["spacing_z_mm"]).astype(int)
    nearest = np.clip(nearest, 0, geometry["n_image_slices"] - 1)
    out = sitk.GetImageFromArray(sitk.GetArrayViewFromImage(lesion_labels)[nearest])
    out.SetOrigin(lesion_labels.GetOrigin())
    out.SetDirection(lesion_labels.GetDirection())
    step = (positions[-1] - positions[0]) / max(positions.size - 1, 1)
    out.SetSpacing((*lesion_labels.GetSpacing()[:2], float(step)))
    return out


def features_step(
    *,
    patient_id: str,
    timepoint: str,
    pet_suv_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    organs_path: str | os.PathLike,
    liver_json_path: str | os.PathLike,
    liver_mask_path: str | os.PathLike,
    segmentation_info_path: str | os.PathLike,
    lesions_out: str | os.PathLike,
    scan_out: str | os.PathLike,
    suv_provenance_path: str | os.PathLike | None = None,
    anatomy_dir: str | os.PathLike | None = None,
    krenning_settings: dict | None = None,
) -> None:
    """Per-lesion and per-scan PET parameters of one scan (see :mod:`netpet.imaging.features`).

    Lesions also get their modified Krenning score (:mod:`netpet.imaging.krenning`, settings
    from ``krenning_settings``) and, when ``anatomy_dir`` holds a CT on the PET grid, their
    mean CT density (``ct_hu_mean``, for Choi's criterion).  The scan row records the body
    size used for SUV (``weight_kg``, ``height_m``) and ``suv_per_suvbw``, from which SUL
    values can be derived.

    Both tables start with ``patient_id``, ``timepoint``; the scan row also records the
    segmentation method and its parameters (JSON) so every number says how it was made, and
    both record ``suv_type`` (``bw``, ``lbm`` or ``bsa``, from ``suv_provenance_path``; bw
    when not given): every SUV value of the row is of that type.
    """
    suv = _read(pet_suv_path)
    lesion_labels = _read(labels_path)
    organs = _read(organs_path)
    liver = load_liver_reference(liver_json_path, liver_mask_path)
    organ_record = json.loads(Path(liver_json_path).read_text())
    spleen = organ_record["spleen"]
    lesions = lesion_features(suv, lesion_labels, organ_labels=organs)
    ct_on_pet = None
    if anatomy_dir is not None and (Path(anatomy_dir) / ANATOMY_FILES["ct"][1]).is_file():
        ct_on_pet = _read(Path(anatomy_dir) / ANATOMY_FILES["ct"][1])
    lesions[CT_HU_MEAN_COLUMN] = lesion_ct_hu_mean(
        lesion_labels, ct_on_pet, lesion_ids=lesions["lesion_id"]
    )
    lesions[KRENNING_COLUMN], krenning_note = krenning_scores(
        lesions,
        liver_suvmean=liver.suvmean if liver is not None else None,
        liver_suvsd=liver.suvsd if liver is not None else None,
        spleen_suvmean=spleen["suvmean"],
        settings=KrenningSettings.from_config(krenning_settings),
    )
    notes = []
    if lesions.empty:
        notes.append("no lesion segmented")
    if liver is None:
        notes.append(organ_record.get("note", "no liver reference: TLR not computed"))
    elif not spleen.get("n_voxels"):
        notes.append("no spleen label: TSR not computed")
    suv_type, body = "bw", {}
    if suv_provenance_path is not None:
        provenance = json.loads(Path(suv_provenance_path).read_text())
        suv_type = provenance["pet"]["suv_type"]
        body = {
            "weight_kg": provenance["pet"]["weight_kg"],
            "height_m": provenance["pet"].get("height_m"),
            SUV_PER_SUVBW_COLUMN: provenance["suv_per_suvbw"],
        }
    if krenning_note and not lesions.empty:
        notes.append(krenning_note)
    lesions.insert(0, SUV_TYPE_COLUMN, suv_type)
    lesions.insert(0, "timepoint", timepoint)
    lesions.insert(0, "patient_id", patient_id)
    seg_settings = json.loads(Path(segmentation_info_path).read_text())["settings"]
    scan = {
        "patient_id": patient_id,
        "timepoint": timepoint,
        "segmentation_method": seg_settings["method"],
        "segmentation_parameters": json.dumps(seg_settings, sort_keys=True, default=str),
        SUV_TYPE_COLUMN: suv_type,
        **scan_features(lesions, liver, spleen_suvmean=spleen["suvmean"]),
        **body,
        "notes": "; ".join(notes),
    }
    write_tsv(lesions_out, lesions)
    write_tsv(scan_out, pd.DataFrame([scan]))


def concatenate_tables(paths, out: str | os.PathLike) -> None:
    """Concatenate per-scan TSV tables (same columns) into one, in the given order."""
    frames = [pd.read_csv(path, sep="\t") for path in paths]
    frames = [f for f in frames if not f.empty] or frames[:1]
    write_tsv(out, pd.concat(frames, ignore_index=True))


def radiomics_step(
    *,
    patient_id: str,
    timepoint: str,
    pet_suv_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    params_path: str | os.PathLike,
    min_volume_ml: float,
    per_lesion: bool,
    out: str | os.PathLike,
) -> None:
    """pyradiomics features of the whole tumour and of large lesions of one scan."""
    from netpet.imaging.radiomics import radiomics_table

    table = radiomics_table(
        _read(pet_suv_path),
        _read(labels_path),
        params_path,
        min_volume_ml=min_volume_ml,
        per_lesion=per_lesion,
    )
    table.insert(0, "timepoint", timepoint)
    table.insert(0, "patient_id", patient_id)
    write_tsv(out, table)


def qc_step(
    *,
    patient_id: str,
    timepoint: str,
    pet_suv_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    liver_json_path: str | os.PathLike,
    liver_mask_path: str | os.PathLike,
    segmentation_info_path: str | os.PathLike,
    suv_max: float,
    out: str | os.PathLike,
    suv_provenance_path: str | os.PathLike | None = None,
) -> None:
    """QC picture of one scan: SUV MIPs, lesion outlines and the liver reference.

    ``suv_max`` (the window's top) is in SUVbw, converted to the scan's SUV type with the ratio
    in ``suv_provenance_path``.  Geometry warnings of the conversion (slices resampled along
    z) from that file are printed on the picture.
    """
    from netpet.imaging.qc import qc_figure

    warnings = []
    if suv_provenance_path is not None:
        warnings = dicom.geometry_warnings(json.loads(Path(suv_provenance_path).read_text()))
        suv_max = suv_max * suv_per_suvbw(suv_provenance_path)
    method = json.loads(Path(segmentation_info_path).read_text())["settings"]["method"]
    qc_figure(
        _read(pet_suv_path),
        _read(labels_path),
        load_liver_reference(liver_json_path, liver_mask_path),
        title=f"{patient_id} {timepoint} ({method})",
        path=out,
        suv_max=suv_max,
        warnings=warnings,
    )


def scan_analysis(
    *,
    patient_id: str,
    timepoint: str,
    pet_suv_path: str | os.PathLike,
    anatomy_dir: str | os.PathLike,
    suv_provenance_path: str | os.PathLike,
    organ_labels_path: str | os.PathLike | None,
    organ_labels_origin: str | None,
    check_organ_labels: bool,
    liver_reference_settings: dict,
    organ_checks: dict,
    segmentation_settings: dict,
    outputs: dict,
    radiomics_settings: dict,
    qc_suv_max: float,
    krenning_settings: dict | None = None,
    tumour_mask_path: str | os.PathLike | None = None,
    pet_slices_path: str | os.PathLike | None = None,
    uid_salt_path: str | os.PathLike | None = None,
    radiomics_params_path: str | os.PathLike | None = None,
) -> None:
    """Every per-scan step after the conversion, in one process (one workflow job).

    Organs and liver reference (:func:`organs_step`), segmentation (:func:`segment_step`),
    features (:func:`features_step`), radiomics when ``outputs`` names a ``radiomics`` file
    (:func:`radiomics_step`) and the QC picture (:func:`qc_step`).  ``outputs`` maps the
    workflow's output names (organs, liver_json, liver_mask, labels, info, dicom_seg,
    uid_map, lesions, scan, radiomics, qc) to paths.  The seconds of each step go to the log.
    """
    import time

    scan = {"patient_id": patient_id, "timepoint": timepoint, "pet_suv_path": pet_suv_path}
    suv = {"suv_provenance_path": suv_provenance_path}
    organs = {
        "organs_path": outputs["organs"],
        "liver_json_path": outputs["liver_json"],
        "liver_mask_path": outputs["liver_mask"],
    }
    steps = [
        (
            "organs",
            organs_step,
            {
                **suv,
                "anatomy_dir": anatomy_dir,
                "organ_labels_path": organ_labels_path,
                "organ_labels_origin": organ_labels_origin,
                "check_organ_labels": check_organ_labels,
                "liver_reference_settings": liver_reference_settings,
                "checks": organ_checks,
                "organs_out": outputs["organs"],
                "liver_json_out": outputs["liver_json"],
                "liver_mask_out": outputs["liver_mask"],
            },
        ),
        (
            "segment",
            segment_step,
            {
                **suv,
                **organs,
                "tumour_mask_path": tumour_mask_path,
                "settings": segmentation_settings,
                "labels_out": outputs["labels"],
                "info_out": outputs["info"],
                "dicom_seg_out": outputs.get("dicom_seg"),
                "pet_slices_path": pet_slices_path,
                "uid_salt_path": uid_salt_path,
                "uid_map_out": outputs.get("uid_map"),
            },
        ),
        (
            "features",
            features_step,
            {
                **suv,
                **organs,
                "labels_path": outputs["labels"],
                "segmentation_info_path": outputs["info"],
                "lesions_out": outputs["lesions"],
                "scan_out": outputs["scan"],
                "anatomy_dir": anatomy_dir,
                "krenning_settings": krenning_settings,
            },
        ),
    ]
    if outputs.get("radiomics"):
        steps.append(
            (
                "radiomics",
                radiomics_step,
                {
                    "labels_path": outputs["labels"],
                    "params_path": radiomics_params_path,
                    "min_volume_ml": radiomics_settings["min_volume_ml"],
                    "per_lesion": radiomics_settings["per_lesion"],
                    "out": outputs["radiomics"],
                },
            )
        )
    steps.append(
        (
            "qc",
            qc_step,
            {
                **suv,
                "liver_json_path": outputs["liver_json"],
                "liver_mask_path": outputs["liver_mask"],
                "labels_path": outputs["labels"],
                "segmentation_info_path": outputs["info"],
                "suv_max": qc_suv_max,
                "out": outputs["qc"],
            },
        )
    )
    for name, step, arguments in steps:
        start = time.perf_counter()
        step(**scan, **arguments)
        log.info("%s: %.2f s", name, time.perf_counter() - start)
