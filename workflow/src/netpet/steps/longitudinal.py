"""Steps of the longitudinal analysis: lesion tracks of a patient, the cohort's tracks and
response heterogeneity tables, and (synthetic cohort) the tracks' accuracy.

File in / file out, called by the workflow's scripts (STUDY.md sections 2 and 3.6).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from netpet.io import write_tsv
from netpet.longitudinal.accuracy import track_accuracy
from netpet.longitudinal.heterogeneity import heterogeneity_table
from netpet.longitudinal.tracks import TRACK_COLUMNS, TrackSettings, cohort_tracks


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def tracks_step(
    *,
    patient_id: str,
    timepoints: Sequence[str],
    label_paths: Sequence[str | os.PathLike],
    lesion_tables: Sequence[str | os.PathLike],
    settings: Mapping,
    out: str | os.PathLike,
) -> None:
    """One patient's lesion tracks (rows of ``results/longitudinal/tracks.tsv``).

    ``timepoints`` are the patient's scans in time order, baseline first; ``label_paths`` their
    lesion label maps on the baseline PET grid and ``lesion_tables`` their per-scan lesion
    tables, in the same order.
    """
    lesions = pd.concat([_read(path) for path in lesion_tables], ignore_index=True)
    tracks = cohort_tracks(
        scans=[(patient_id, timepoint) for timepoint in timepoints],
        label_paths=list(label_paths),
        lesions=lesions,
        timepoints=list(timepoints),
        settings=TrackSettings.from_config(settings),
    )
    write_tsv(out, tracks)


def longitudinal_tables_step(
    *,
    track_tables: Sequence[str | os.PathLike],
    scans: Sequence[tuple[str, str]],
    baseline: str,
    tracks_out: str | os.PathLike,
    heterogeneity_out: str | os.PathLike,
) -> None:
    """The cohort's ``tracks.tsv`` and ``patients.tsv`` (response heterogeneity per follow-up).

    ``scans`` are every (patient_id, timepoint) of the cohort: each follow-up gets a row in
    the heterogeneity table, also when its patient has no lesion at all.
    """
    frames = [_read(path) for path in track_tables]
    frames = [frame for frame in frames if not frame.empty]
    tracks = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TRACK_COLUMNS)
    write_tsv(tracks_out, tracks)
    write_tsv(heterogeneity_out, heterogeneity_table(tracks, scans=list(scans), baseline=baseline))


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
    table = track_accuracy(
        tracks=_read(tracks_path),
        truth_dir=truth_dir,
        scans=list(scans),
        seg_paths=list(seg_paths),
        timepoints=list(timepoints),
    )
    write_tsv(out, table)
