"""Steps of the longitudinal analysis: lesion tracks of a patient, the cohort's tracks and
response heterogeneity tables, and (synthetic cohort) the tracks' accuracy.

File in / file out, called by the workflow's scripts (STUDY.md sections 2 and 3.6).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from netpet.io import write_tsv
from netpet.longitudinal.heterogeneity import heterogeneity_table
from netpet.longitudinal.tracks import TRACK_COLUMNS, TrackSettings, cohort_tracks

log = logging.getLogger(__name__)

DAYS_PER_MONTH = 365.25 / 12
SCAN_TIME_COLUMNS = ["patient_id", "timepoint", "days_from_baseline", "months_from_baseline"]


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def register_step(
    *,
    patient_id: str,
    baseline: str,
    timepoint: str,
    baseline_images_dir: str | os.PathLike,
    followup_images_dir: str | os.PathLike,
    followup_lesions_path: str | os.PathLike,
    settings: Mapping,
    suv_max: float,
    transform_out: str | os.PathLike,
    record_out: str | os.PathLike,
    lesions_out: str | os.PathLike,
    qc_out: str | os.PathLike,
    failed_qc_out: str | os.PathLike | None = None,
) -> None:
    """Register a follow-up scan to its patient's baseline and carry its lesions over.

    Writes the transform (baseline points to follow-up points, ITK ``.tfm``), its record
    (``registration.json``: driver, similarity before and after, translation, ...), the
    follow-up's lesion labels on the baseline PET grid and the alignment QC picture.  An
    implausible registration stops with a message; its QC picture then goes to
    ``failed_qc_out`` (outside the results), for a look at what went wrong.
    """
    from netpet.errors import InputError
    from netpet.figures.registration import registration_figure
    from netpet.io import write_image, write_json
    from netpet.longitudinal import registration as reg

    options = reg.RegistrationSettings.from_config(settings)
    base = reg.read_scan_images(baseline_images_dir, name=f"{patient_id} {baseline}")
    followup = reg.read_scan_images(followup_images_dir, name=f"{patient_id} {timepoint}")
    result = reg.register_to_baseline(base, followup, options, check=False)
    figure = {
        "patient_id": patient_id,
        "baseline_timepoint": baseline,
        "followup_timepoint": timepoint,
        "suv_max": suv_max,
    }
    problems = reg.registration_problems(result.metrics, options)
    if problems:
        if failed_qc_out is not None:
            registration_figure(
                base, followup, result.transform, result.metrics, **figure, path=failed_qc_out
            )
        shown = f" (alignment picture: {failed_qc_out})" if failed_qc_out else ""
        raise InputError(
            f"{patient_id}: registration of {timepoint} to {baseline} is implausible: "
            f"{'; '.join(problems)}{shown}.  Check that both scans are of this patient and "
            "cover the same body region, or change longitudinal.registration in the config"
        )
    followup_lesions = sitk.ReadImage(str(followup_lesions_path))
    registration_figure(base, followup, result.transform, result.metrics, **figure, path=qc_out)
    write_image(
        lesions_out, reg.labels_to_baseline(followup_lesions, result.transform, base.pet_suv)
    )
    reg.write_transform(result.transform, transform_out)
    write_json(record_out, result.metrics)
    lost = set(np.unique(sitk.GetArrayViewFromImage(followup_lesions))) - set(
        np.unique(sitk.GetArrayViewFromImage(sitk.ReadImage(str(lesions_out))))
    )
    if lost:
        log.warning(
            "%s %s: lesions %s lie outside the baseline's field of view after registration",
            patient_id,
            timepoint,
            sorted(int(v) for v in lost),
        )


def scan_times(
    patient_id: str, timepoints: Sequence[str], pet_slices_paths: Sequence[str | os.PathLike]
) -> pd.DataFrame:
    """Days and months from the baseline scan to each scan of one patient.

    From the scan reference times the conversion keeps in its private slice records
    (``scan_datetime``); only the intervals leave the private folder.  A record without a time
    gives empty cells.
    """
    stamps = []
    for path in pet_slices_paths:
        value = json.loads(Path(path).read_text()).get("scan_datetime")
        stamps.append(dt.datetime.fromisoformat(value) if value else None)
    rows = []
    for timepoint, stamp in zip(timepoints, stamps, strict=True):
        days = float("nan")
        if stamp is not None and stamps[0] is not None:
            days = (stamp - stamps[0]).total_seconds() / 86400.0
        rows.append(
            {
                "patient_id": patient_id,
                "timepoint": timepoint,
                "days_from_baseline": round(days, 3),
                "months_from_baseline": round(days / DAYS_PER_MONTH, 3),
            }
        )
    return pd.DataFrame(rows, columns=SCAN_TIME_COLUMNS)


def patient_tracks_step(
    *,
    patient_id: str,
    timepoints: Sequence[str],
    label_paths: Sequence[str | os.PathLike],
    lesion_tables: Sequence[str | os.PathLike],
    pet_suv_paths: Sequence[str | os.PathLike],
    pet_slices_paths: Sequence[str | os.PathLike],
    transform_paths: Sequence[str | os.PathLike],
    settings: Mapping,
    suv_max: float,
    tracks_out: str | os.PathLike,
    scan_times_out: str | os.PathLike,
    track_figure_out: str | os.PathLike,
    mip_figure_out: str | os.PathLike,
) -> None:
    """One patient's lesion tracks (rows of ``tracks.tsv``), scan times and figures.

    ``timepoints`` are the patient's scans in time order, baseline first; ``label_paths`` their
    lesion label maps on the baseline PET grid, ``lesion_tables`` their per-scan lesion
    tables, ``pet_suv_paths`` their SUV images and ``pet_slices_paths`` the conversion's
    private slice records, in the same order; ``transform_paths`` the follow-ups'
    registrations (baseline to follow-up points).  ``suv_max`` is the MIP window's top (SUV).
    """
    from netpet.figures.longitudinal import lesion_mip_figure, track_figure
    from netpet.longitudinal.registration import image_to_baseline, read_transform

    lesions = pd.concat([_read(path) for path in lesion_tables], ignore_index=True)
    tracks = cohort_tracks(
        scans=[(patient_id, timepoint) for timepoint in timepoints],
        label_paths=list(label_paths),
        lesions=lesions,
        timepoints=list(timepoints),
        settings=TrackSettings.from_config(settings),
    )
    times = scan_times(patient_id, timepoints, pet_slices_paths)
    months = None
    if times["months_from_baseline"].notna().all():
        months = dict(zip(times["timepoint"], times["months_from_baseline"], strict=True))
    baseline_suv = sitk.ReadImage(str(pet_suv_paths[0]))
    followup_suv = {
        timepoint: image_to_baseline(
            sitk.ReadImage(str(suv_path)), read_transform(transform_path), baseline_suv
        )
        for timepoint, suv_path, transform_path in zip(
            timepoints[1:], pet_suv_paths[1:], transform_paths, strict=True
        )
    }
    label_maps = {
        timepoint: sitk.ReadImage(str(path))
        for timepoint, path in zip(timepoints, label_paths, strict=True)
    }
    track_figure(
        tracks, list(timepoints), patient_id=patient_id, scan_times=months, path=track_figure_out
    )
    lesion_mip_figure(
        baseline_suv,
        label_maps,
        tracks,
        list(timepoints),
        patient_id=patient_id,
        followup_suv=followup_suv,
        scan_times=months,
        suv_max=suv_max,
        path=mip_figure_out,
    )
    write_tsv(scan_times_out, times)
    write_tsv(tracks_out, tracks)


def _concatenate(paths, columns) -> pd.DataFrame:
    frames = [frame for frame in (_read(path) for path in paths) if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def longitudinal_tables_step(
    *,
    track_tables: Sequence[str | os.PathLike],
    scan_time_tables: Sequence[str | os.PathLike],
    scans: Sequence[tuple[str, str]],
    baseline: str,
    tracks_out: str | os.PathLike,
    heterogeneity_out: str | os.PathLike,
    scan_times_out: str | os.PathLike,
) -> None:
    """The cohort's ``tracks.tsv``, ``patients.tsv`` (response heterogeneity per follow-up)
    and ``scan_times.tsv`` (days and months from each patient's baseline scan).

    ``scans`` are every (patient_id, timepoint) of the cohort: each follow-up gets a row in
    the heterogeneity table, also when its patient has no lesion at all.
    """
    tracks = _concatenate(track_tables, TRACK_COLUMNS)
    write_tsv(scan_times_out, _concatenate(scan_time_tables, SCAN_TIME_COLUMNS))
    write_tsv(tracks_out, tracks)
    write_tsv(heterogeneity_out, heterogeneity_table(tracks, scans=list(scans), baseline=baseline))


def lesion_response_figure_step(
    *, heterogeneity_path: str | os.PathLike, timepoints: Sequence[str], out: str | os.PathLike
) -> None:
    """Stacked bars of the tracks' response categories per follow-up and per patient."""
    from netpet.figures.longitudinal import response_summary_figure

    response_summary_figure(_read(heterogeneity_path), list(timepoints), path=out)


def track_accuracy_step(
    *,
    tracks_path: str | os.PathLike,
    truth_dir: str | os.PathLike,
    scans: Sequence[tuple[str, str]],
    seg_paths: Sequence[str | os.PathLike],
    timepoints: Sequence[str],
    out: str | os.PathLike,
) -> None:
    """Accuracy of the lesion tracks against the synthetic cohort's truth."""
    # Lazy: it loads scipy.stats, which the patients' jobs do not need.
    from netpet.longitudinal.accuracy import track_accuracy

    table = track_accuracy(
        tracks=_read(tracks_path),
        truth_dir=truth_dir,
        scans=list(scans),
        seg_paths=list(seg_paths),
        timepoints=list(timepoints),
    )
    write_tsv(out, table)
