"""Every per-patient step of the study in one process: one workflow job per patient.

For each of a patient's scans, in time order: the conversion from DICOM
(:func:`netpet.steps.ingest.ingest_scan`), TotalSegmentator when the scan's organ map comes
from it, and the analysis (:func:`netpet.steps.scan.scan_analysis`: organs, segmentation,
features, radiomics, QC picture); then each follow-up's registration to the baseline
(:func:`netpet.steps.longitudinal.register_step`) and the patient's lesion tracks with their
figures (:func:`netpet.steps.longitudinal.patient_tracks_step`).

Why one job: Snakemake's cost per job (about 3 ms to build it into the DAG, a Python start-up
and the imaging imports to run it) dominates on small scans and on large cohorts
(BENCHMARKS.md).  Each scan is still read from DICOM once, and every per-scan file keeps its
place under the patient's folders (``results/images/{patient}/{timepoint}/...``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from netpet.io import write_tsv

log = logging.getLogger(__name__)

# Per-scan files inside the patient's folders, relative to the folder and the time point.
PET_SUV = "pet_suv.nii.gz"
SUV_PROVENANCE = "suv.json"
ANATOMY_DIR = "anatomy"
LESION_LABELS = "lesions.nii.gz"


@dataclass(frozen=True)
class ScanInput:
    """What the workflow knows of one scan before it is converted.

    Attributes
    ----------
    timepoint
        The scan's time point.
    pet_dicom, anatomy_dicom, anatomy_modality, pet_series_uid, mr_series_uid, overrides
        As :func:`netpet.steps.ingest.ingest_scan` takes them.
    organ_labels, organ_labels_origin, check_organ_labels
        The organ label map (None: none), where it comes from (``samples sheet``,
        ``synthetic cohort``, ``TotalSegmentator``: then this job makes it first) and whether
        it is checked against the scan.
    tumour_mask
        The imported tumour mask (``segmentation.method: import``), or None.
    """

    timepoint: str
    pet_dicom: str
    anatomy_dicom: str | None = None
    anatomy_modality: str | None = None
    pet_series_uid: str | None = None
    mr_series_uid: str | None = None
    overrides: Mapping = field(default_factory=dict)
    organ_labels: str | None = None
    organ_labels_origin: str | None = None
    check_organ_labels: bool = True
    tumour_mask: str | None = None

    @classmethod
    def from_dict(cls, values: Mapping) -> ScanInput:
        """From the workflow's per-scan parameters (keys as the attributes)."""
        return cls(**{key: values[key] for key in values})


@dataclass(frozen=True)
class PatientOutputs:
    """Where one patient's outputs go.

    Folders hold one sub-folder (or file) per time point, as :func:`scan_paths` names them;
    tables and figures are one file per patient.
    """

    images_dir: str
    organs_dir: str
    segmentation_dir: str
    qc_dir: str
    registration_dir: str
    pet_slices_dir: str
    lesions: str
    scans: str
    tracks: str
    scan_times: str
    track_figure: str
    mip_figure: str
    radiomics: str | None = None
    uid_map_dir: str | None = None

    @classmethod
    def from_dict(cls, values: Mapping) -> PatientOutputs:
        """From the workflow's named outputs (extra names are ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{key: str(value) for key, value in values.items() if key in names})


def scan_paths(outputs: PatientOutputs, timepoint: str) -> dict[str, str]:
    """Every per-scan file of one time point inside the patient's folders."""
    images = f"{outputs.images_dir}/{timepoint}"
    organs = f"{outputs.organs_dir}/{timepoint}"
    segmentation = f"{outputs.segmentation_dir}/{timepoint}"
    registration = f"{outputs.registration_dir}/{timepoint}"
    paths = {
        "pet_suv": f"{images}/{PET_SUV}",
        "anatomy": f"{images}/{ANATOMY_DIR}",
        "suv_provenance": f"{images}/{SUV_PROVENANCE}",
        "pet_slices": f"{outputs.pet_slices_dir}/{timepoint}.json",
        "organs": f"{organs}/organs_on_pet.nii.gz",
        "liver_json": f"{organs}/liver_reference.json",
        "liver_mask": f"{organs}/liver_reference.nii.gz",
        "labels": f"{segmentation}/{LESION_LABELS}",
        "info": f"{segmentation}/segmentation.json",
        "qc": f"{outputs.qc_dir}/{timepoint}.png",
        "transform": f"{registration}/transform.tfm",
        "registration_record": f"{registration}/registration.json",
        "lesions_in_baseline": f"{registration}/lesions_in_baseline.nii.gz",
        "registration_qc": f"{registration}/qc.png",
    }
    if outputs.uid_map_dir is not None:
        paths["dicom_seg"] = f"{segmentation}/lesions_seg.dcm"
        paths["uid_map"] = f"{outputs.uid_map_dir}/{timepoint}.tsv"
    return paths


def _timed(name: str, scan: str, step, **arguments) -> None:
    start = time.perf_counter()
    step(**arguments)
    log.info("%s %s: %.2f s", scan, name, time.perf_counter() - start)


def patient_step(
    *,
    patient_id: str,
    scans: Sequence[ScanInput | Mapping],
    baseline: str,
    outputs: PatientOutputs | Mapping,
    suv_type: str,
    max_uptake_half_lives: float,
    liver_reference_settings: dict,
    organ_checks: dict,
    segmentation_settings: dict,
    radiomics_settings: dict,
    krenning_settings: dict,
    qc_suv_max: float,
    registration_settings: Mapping,
    track_settings: Mapping,
    totalsegmentator_settings: dict | None = None,
    threads: int = 1,
    uid_salt_path: str | os.PathLike | None = None,
    radiomics_params_path: str | os.PathLike | None = None,
    failed_qc_dir: str | os.PathLike | None = None,
) -> None:
    """Convert, analyse, register and track every scan of one patient.

    Parameters
    ----------
    scans
        The patient's scans in time order (:class:`ScanInput`, or their dicts).
    baseline
        The study's baseline time point: with a baseline scan, each follow-up is registered
        to it and the patient gets lesion tracks; without one, the tracks table is empty and
        the figures say why.
    outputs
        :class:`PatientOutputs` (or the workflow's named outputs).  ``radiomics`` and
        ``uid_map_dir`` only when radiomics and the DICOM SEG export are on.
    totalsegmentator_settings
        The config's ``organs: totalsegmentator:`` section, for scans whose organ map comes
        from TotalSegmentator (run with ``threads``).
    failed_qc_dir
        Where an implausible registration's alignment picture goes (beside the job's log).

    Per-scan tables are written to a scratch folder and joined into the patient's tables, in
    time order.  The seconds of each step go to the log.
    """
    from netpet.longitudinal.registration import fixed_threads
    from netpet.longitudinal.tracks import TRACK_COLUMNS
    from netpet.steps.ingest import ingest_scan
    from netpet.steps.longitudinal import patient_tracks_step, register_step
    from netpet.steps.scan import scan_analysis

    # SimpleITK's filters take every core of the machine by default, whatever the job was
    # given, and sums split by thread can differ in their last bits with the thread count:
    # one thread, so that parallel jobs do not compete and results do not depend on the
    # machine.  (TotalSegmentator, a process of its own, gets ``threads``.)
    with fixed_threads(1):
        scans = [s if isinstance(s, ScanInput) else ScanInput.from_dict(s) for s in scans]
        if not isinstance(outputs, PatientOutputs):
            outputs = PatientOutputs.from_dict(outputs)
        folders = [
            outputs.images_dir,
            outputs.organs_dir,
            outputs.segmentation_dir,
            outputs.qc_dir,
            outputs.registration_dir,
            outputs.pet_slices_dir,
            outputs.uid_map_dir,
        ]
        for folder in filter(None, folders):
            Path(folder).mkdir(parents=True, exist_ok=True)
        tables = Path(outputs.lesions).parent
        tables.mkdir(parents=True, exist_ok=True)
        timepoints = [scan.timepoint for scan in scans]
        with tempfile.TemporaryDirectory(prefix=f".{patient_id}_", dir=tables) as scratch:
            per_scan_tables = {"lesions": [], "scan": [], "radiomics": []}
            for scan in scans:
                name = f"{patient_id}/{scan.timepoint}"
                paths = scan_paths(outputs, scan.timepoint)
                for folder in ("organs", "labels"):
                    Path(paths[folder]).parent.mkdir(parents=True, exist_ok=True)
                _timed(
                    "conversion",
                    name,
                    ingest_scan,
                    patient_id=patient_id,
                    timepoint=scan.timepoint,
                    pet_dicom=scan.pet_dicom,
                    anatomy_dicom=scan.anatomy_dicom,
                    anatomy_modality=scan.anatomy_modality,
                    pet_series_uid=scan.pet_series_uid,
                    mr_series_uid=scan.mr_series_uid,
                    overrides=dict(scan.overrides),
                    suv_type=suv_type,
                    max_uptake_half_lives=max_uptake_half_lives,
                    pet_suv_path=paths["pet_suv"],
                    anatomy_dir=paths["anatomy"],
                    provenance_path=paths["suv_provenance"],
                    pet_slices_path=paths["pet_slices"],
                )
                if scan.organ_labels_origin == "TotalSegmentator":
                    from netpet.imaging.totalsegmentator import totalsegmentator_step

                    modality = scan.anatomy_modality
                    _timed(
                        "TotalSegmentator",
                        name,
                        totalsegmentator_step,
                        patient_id=patient_id,
                        timepoint=scan.timepoint,
                        modality=modality,
                        image_path=f"{paths['anatomy']}/{modality}.nii.gz",
                        settings=dict(totalsegmentator_settings or {}),
                        threads=threads,
                        labels_out=scan.organ_labels,
                        record_out=str(scan.organ_labels).replace(".nii.gz", ".json"),
                    )
                scan_tables = {
                    key: f"{scratch}/{scan.timepoint}_{key}.tsv" for key in per_scan_tables
                }
                analysis_outputs = {
                    key: paths[key]
                    for key in ("organs", "liver_json", "liver_mask", "labels", "info", "qc")
                }
                analysis_outputs.update(lesions=scan_tables["lesions"], scan=scan_tables["scan"])
                if outputs.radiomics is not None:
                    analysis_outputs["radiomics"] = scan_tables["radiomics"]
                if outputs.uid_map_dir is not None:
                    analysis_outputs.update(dicom_seg=paths["dicom_seg"], uid_map=paths["uid_map"])
                _timed(
                    "analysis",
                    name,
                    scan_analysis,
                    patient_id=patient_id,
                    timepoint=scan.timepoint,
                    pet_suv_path=paths["pet_suv"],
                    anatomy_dir=paths["anatomy"],
                    suv_provenance_path=paths["suv_provenance"],
                    organ_labels_path=scan.organ_labels,
                    organ_labels_origin=scan.organ_labels_origin,
                    check_organ_labels=scan.check_organ_labels,
                    liver_reference_settings=dict(liver_reference_settings),
                    organ_checks=dict(organ_checks),
                    segmentation_settings=dict(segmentation_settings),
                    tumour_mask_path=scan.tumour_mask,
                    pet_slices_path=paths["pet_slices"],
                    uid_salt_path=uid_salt_path,
                    radiomics_params_path=radiomics_params_path,
                    radiomics_settings=dict(radiomics_settings),
                    qc_suv_max=qc_suv_max,
                    krenning_settings=dict(krenning_settings),
                    outputs=analysis_outputs,
                )
                for key, tables_of_key in per_scan_tables.items():
                    if key in analysis_outputs:
                        tables_of_key.append(scan_tables[key])
            _join_tables(per_scan_tables["lesions"], outputs.lesions)
            _join_tables(per_scan_tables["scan"], outputs.scans)
            if outputs.radiomics is not None:
                _join_tables(per_scan_tables["radiomics"], outputs.radiomics)
            if timepoints[0] != baseline:
                _without_baseline(patient_id, timepoints, baseline, outputs, TRACK_COLUMNS)
                return
            base = scan_paths(outputs, baseline)
            for timepoint in timepoints[1:]:
                paths = scan_paths(outputs, timepoint)
                Path(paths["transform"]).parent.mkdir(parents=True, exist_ok=True)
                _timed(
                    "registration",
                    f"{patient_id}/{timepoint}",
                    register_step,
                    patient_id=patient_id,
                    baseline=baseline,
                    timepoint=timepoint,
                    baseline_images_dir=Path(base["pet_suv"]).parent,
                    followup_images_dir=Path(paths["pet_suv"]).parent,
                    followup_lesions_path=paths["labels"],
                    settings=dict(registration_settings),
                    suv_max=qc_suv_max,
                    transform_out=paths["transform"],
                    record_out=paths["registration_record"],
                    lesions_out=paths["lesions_in_baseline"],
                    qc_out=paths["registration_qc"],
                    failed_qc_out=(
                        Path(failed_qc_dir) / f"{patient_id}_{timepoint}_registration.png"
                        if failed_qc_dir is not None
                        else None
                    ),
                )
            followups = [scan_paths(outputs, t) for t in timepoints[1:]]
            _timed(
                "tracks",
                patient_id,
                patient_tracks_step,
                patient_id=patient_id,
                timepoints=timepoints,
                label_paths=[base["labels"]] + [p["lesions_in_baseline"] for p in followups],
                lesion_tables=per_scan_tables["lesions"],
                pet_suv_paths=[scan_paths(outputs, t)["pet_suv"] for t in timepoints],
                pet_slices_paths=[scan_paths(outputs, t)["pet_slices"] for t in timepoints],
                transform_paths=[p["transform"] for p in followups],
                settings=dict(track_settings),
                suv_max=qc_suv_max,
                tracks_out=outputs.tracks,
                scan_times_out=outputs.scan_times,
                track_figure_out=outputs.track_figure,
                mip_figure_out=outputs.mip_figure,
            )


def _join_tables(paths: Sequence[str], out: str) -> None:
    """The patient's table: its scans' tables in time order (empty ones keep the columns)."""
    frames = [pd.read_csv(path, sep="\t") for path in paths]
    kept = [frame for frame in frames if not frame.empty] or frames[:1]
    write_tsv(out, pd.concat(kept, ignore_index=True))


def _without_baseline(patient_id, timepoints, baseline, outputs, track_columns) -> None:
    """Outputs of the tracking part for a patient without a baseline scan: empty, with why."""
    from netpet.figures.longitudinal import maybe_save, message_figure
    from netpet.steps.longitudinal import SCAN_TIME_COLUMNS

    message = (
        f"{patient_id} has no {baseline} scan (scans: {', '.join(timepoints)}): "
        "no registration and no lesion tracks"
    )
    log.warning(message)
    write_tsv(outputs.tracks, pd.DataFrame(columns=list(track_columns)))
    rows = [
        {"patient_id": patient_id, "timepoint": t, "days_from_baseline": None} for t in timepoints
    ]
    write_tsv(outputs.scan_times, pd.DataFrame(rows, columns=SCAN_TIME_COLUMNS))
    for path in (outputs.track_figure, outputs.mip_figure):
        maybe_save(message_figure(message, 120.0, 40.0), path)
