"""Accuracy of lesion tracks, response categories and heterogeneity against the synthetic truth.

The truth (``resources/synthetic/<name>/truth/``): ``lesions.tsv`` has one row per true lesion
per scan from its first appearance on (``lesion_id`` is the same for a lesion in every scan;
``status`` present / new / split / disappeared; ``response`` its category; optional
``parent_lesion_id`` for a lesion that split off a parent and ``family_response``, the
category of its split family), and ``lesion_labels/{patient}/{timepoint}.nii.gz`` its voxels
on that scan's PET grid.  The *true category* is ``family_response`` where given (the tracks
give every member of a split family the family's category), else ``response``.

Measured lesions are matched to true lesions scan by scan with
:func:`netpet.accuracy.match_scan` (mutual largest overlap, each scan on its own grid); a true
lesion's *measured track* at a scan is the track that owns the matched segmented lesion
(:func:`netpet.longitudinal.tracks.owner_rows`).  Metrics (all end to end: a lesion the
segmentation missed counts against them):

- ``track_continuity_ge_1ml``: share of true tracks of lesions >= 1 mL at their first
  appearance, detected at least once, whose detections all carry one measured track id (no
  *break*) that is matched to no other true lesion at any scan (no *swap*).  A split-off
  child is its own true track.
- ``true_tracks_broken_ge_1ml``: those true tracks with more than one measured track id;
  ``measured_tracks_swapped``: measured tracks matched to more than one true lesion (counts).
- ``new_recall_ge_1ml``: true new lesions (not split-offs) >= 1 mL whose matched lesion's
  track has status ``new`` at that scan.
- ``split_recall_ge_1ml``: split-off children >= 1 mL whose matched lesion's track has status
  ``split`` at their first scan (only with ``parent_lesion_id`` in the truth).
- ``disappeared_recall_ge_1ml``: true lesions >= 1 mL at the scan before they disappear whose
  measured track at that scan is ``disappeared`` at the scan they are gone.
- ``new_precision``: measured ``new`` rows whose lesion matches a true new lesion (not a
  split-off); ``disappeared_precision``: measured tracks that turn ``disappeared`` (after a
  lesion at the scan before) whose true lesion of that scan is disappeared now.  Any size.
- ``category_agreement``: true lesion rows at follow-ups, measured category of the lesion's
  latest measured track (at that scan or before) equal to the true category; rows of
  lesions never detected by then are left out.
- ``heterogeneity_agreement``: per patient and follow-up, the heterogeneity flag of the tracks
  equal to the flag computed with the same function
  (:func:`netpet.longitudinal.heterogeneity.heterogeneity_table`) from the truth categories.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from netpet.accuracy import DETECTION_MIN_VOLUME_ML, match_scan
from netpet.errors import InputError
from netpet.longitudinal.heterogeneity import heterogeneity_table
from netpet.longitudinal.tracks import DISAPPEARED, NEW, SPLIT, owner_rows

#: Target of each metric (higher is better); counts have none.
TARGETS = {
    "track_continuity_ge_1ml": 0.90,
    "true_tracks_broken_ge_1ml": np.nan,
    "measured_tracks_swapped": np.nan,
    "new_recall_ge_1ml": 0.80,
    "split_recall_ge_1ml": 0.80,
    "disappeared_recall_ge_1ml": 0.80,
    "new_precision": 0.80,
    "disappeared_precision": 0.80,
    "category_agreement": 0.80,
    "heterogeneity_agreement": 0.80,
}
#: Truth column of the category of a lesion's split family (the parent and its children).
FAMILY_RESPONSE = "family_response"
#: Columns of :func:`track_metrics`.
METRIC_COLUMNS = ("metric", "value", "n", "target")


def match_truth(
    *,
    truth_dir: str | os.PathLike,
    scans: Sequence[tuple[str, str]],
    seg_paths: Sequence[str | os.PathLike],
) -> pd.DataFrame:
    """Matched segmented lesion of every true lesion present in each scan.

    Parameters
    ----------
    truth_dir : path
        The synthetic cohort's ``truth/`` folder.
    scans : sequence of (patient_id, timepoint)
    seg_paths : sequence of path
        In the order of ``scans``: the scan's lesion label map on its own PET grid
        (``results/segmentation/{p}/{t}/lesions.nii.gz``).

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``timepoint``, ``lesion_id`` (true), ``seg_id`` (0: not detected).
    """
    truth_dir = Path(truth_dir)
    truth = read_truth(truth_dir)
    tables = []
    for (patient, timepoint), seg_path in zip(scans, seg_paths, strict=True):
        rows = truth[(truth["patient_id"] == patient) & (truth["timepoint"] == timepoint)]
        truth_image = sitk.ReadImage(
            str(truth_dir / "lesion_labels" / patient / f"{timepoint}.nii.gz")
        )
        # match_scan also reports the organ under each lesion; not needed here.
        no_organs = sitk.Image(truth_image.GetSize(), sitk.sitkUInt8)
        no_organs.CopyInformation(truth_image)
        true_rows, _ = match_scan(truth_image, sitk.ReadImage(str(seg_path)), no_organs, rows)
        if true_rows.empty:
            continue
        tables.append(
            true_rows[["lesion_id", "seg_id"]].assign(patient_id=patient, timepoint=timepoint)
        )
    columns = ["patient_id", "timepoint", "lesion_id", "seg_id"]
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(tables, ignore_index=True)[columns]


def typed_tracks(tracks: pd.DataFrame) -> pd.DataFrame:
    """The tracks table with its id columns typed (as read back from ``tracks.tsv``)."""
    return tracks.astype({"track_id": np.int64, "lesion_id": "Int64", "parent_track_id": "Int64"})


def read_truth(truth_dir: str | os.PathLike) -> pd.DataFrame:
    """``truth/lesions.tsv``, checked for the columns the track metrics need."""
    path = Path(truth_dir) / "lesions.tsv"
    truth = pd.read_csv(path, sep="\t")
    needed = {"patient_id", "timepoint", "lesion_id", "volume_ml", "status", "response", "site"}
    absent = sorted(needed - set(truth.columns))
    if absent:
        raise InputError(f"{path}: column(s) {absent} missing; regenerate the synthetic cohort")
    # The tracks give every member of a split family the family's category.
    family = truth[FAMILY_RESPONSE] if FAMILY_RESPONSE in truth else truth["response"]
    return truth.assign(true_category=family.fillna(truth["response"]))


def truth_tracks(truth: pd.DataFrame) -> pd.DataFrame:
    """The truth in the shape of a tracks table (track = true lesion), for heterogeneity."""
    present = truth["status"] != DISAPPEARED
    return pd.DataFrame(
        {
            "patient_id": truth["patient_id"],
            "track_id": truth["lesion_id"],
            "timepoint": truth["timepoint"],
            "lesion_id": truth["lesion_id"].astype("Int64").where(present),
            "category": truth["true_category"],
        }
    )


def true_lesion_table(
    matches: pd.DataFrame,
    *,
    tracks: pd.DataFrame,
    truth: pd.DataFrame,
    timepoints: Sequence[str],
) -> pd.DataFrame:
    """Every true lesion row with its measured track, status and category.

    Parameters
    ----------
    matches : pandas.DataFrame
        :func:`match_truth`.
    tracks : pandas.DataFrame
        The tracks table (:func:`netpet.longitudinal.tracks.cohort_tracks`).
    truth : pandas.DataFrame
        ``truth/lesions.tsv``.
    timepoints : sequence of str
        All time points in order, baseline first.

    Returns
    -------
    pandas.DataFrame
        The truth columns ``patient_id``, ``timepoint``, ``lesion_id``, ``volume_ml``,
        ``status``, ``true_category``, ``parent_lesion_id``, then ``order`` (time index),
        ``seg_id``, ``track_id`` (measured track owning the matched lesion, empty when not
        detected), ``measured_status``, ``assigned_track_id`` (latest ``track_id`` at or
        before the scan) and ``measured_category`` (its category at the scan).
    """
    order = {t: i for i, t in enumerate(timepoints)}
    tracks = typed_tracks(tracks)
    table = truth.copy()
    if "parent_lesion_id" not in table:
        table["parent_lesion_id"] = np.nan
    columns = ["patient_id", "timepoint", "lesion_id", "volume_ml", "status", "true_category"]
    table = table[[*columns, "parent_lesion_id"]]
    table = table[table["timepoint"].isin(list(order))].copy()
    table["order"] = table["timepoint"].map(order)
    table = table.merge(matches, on=["patient_id", "timepoint", "lesion_id"], how="left")
    table["seg_id"] = table["seg_id"].fillna(0).astype(np.int64)
    owners = owner_rows(tracks)[["patient_id", "timepoint", "lesion_id", "track_id", "status"]]
    owners = owners.rename(columns={"lesion_id": "seg_id", "status": "measured_status"})
    owners = owners.astype({"seg_id": np.int64})
    table = table.merge(owners, on=["patient_id", "timepoint", "seg_id"], how="left")
    table.loc[table["seg_id"] == 0, ["track_id", "measured_status"]] = np.nan
    table["track_id"] = table["track_id"].astype("Int64")
    table = table.sort_values(["patient_id", "lesion_id", "order"], ignore_index=True)
    table["assigned_track_id"] = (
        table.groupby(["patient_id", "lesion_id"])["track_id"].ffill().astype("Int64")
    )
    categories = tracks[["patient_id", "timepoint", "track_id", "category"]].rename(
        columns={"track_id": "assigned_track_id", "category": "measured_category"}
    )
    categories = categories.astype({"assigned_track_id": "Int64"})
    return table.merge(categories, on=["patient_id", "timepoint", "assigned_track_id"], how="left")


def track_metrics(
    lesions: pd.DataFrame,
    *,
    tracks: pd.DataFrame,
    truth: pd.DataFrame,
    scans: Sequence[tuple[str, str]],
    timepoints: Sequence[str],
) -> pd.DataFrame:
    """The metrics of the module docstring from :func:`true_lesion_table`.

    Parameters
    ----------
    lesions : pandas.DataFrame
        :func:`true_lesion_table`.
    tracks : pandas.DataFrame
        The tracks table.
    truth : pandas.DataFrame
        ``truth/lesions.tsv`` rows of the analysed scans.
    scans : sequence of (patient_id, timepoint)
        The analysed scans.
    timepoints : sequence of str
        All time points in order, baseline first.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`METRIC_COLUMNS`: ``value`` (share, or count), ``n`` (denominator)
        and ``target`` (empty for counts).
    """
    values: dict[str, tuple[float, int]] = {}
    tracks = typed_tracks(tracks)
    big = DETECTION_MIN_VOLUME_ML
    baseline = timepoints[0]
    rank = tracks["timepoint"].map({t: i for i, t in enumerate(timepoints)})
    tracks = tracks.assign(_rank=rank).sort_values(["patient_id", "track_id", "_rank"])

    # Continuity: no break (one measured id) and no swap (that id on no other true lesion).
    detected = lesions[lesions["track_id"].notna()]
    true_per_track = detected.groupby(["patient_id", "track_id"])["lesion_id"].nunique()
    swapped = set(true_per_track[true_per_track > 1].index)
    first = lesions[lesions["status"] != DISAPPEARED].drop_duplicates(["patient_id", "lesion_id"])
    eligible = first.loc[first["volume_ml"] >= big, ["patient_id", "lesion_id"]]
    mine = detected.merge(eligible, on=["patient_id", "lesion_id"])
    mine = mine.assign(
        swap=[(p, t) in swapped for p, t in zip(mine["patient_id"], mine["track_id"], strict=True)]
    )
    per_lesion = mine.groupby(["patient_id", "lesion_id"])
    n_ids = per_lesion["track_id"].nunique()
    intact = (n_ids == 1) & ~per_lesion["swap"].any()
    values["track_continuity_ge_1ml"] = (_share(intact), len(intact))
    values["true_tracks_broken_ge_1ml"] = (float((n_ids > 1).sum()), len(n_ids))
    values["measured_tracks_swapped"] = (float(len(swapped)), len(true_per_track))

    # Recall of events at their true scan.
    children = lesions["parent_lesion_id"].notna()
    new = lesions[(lesions["status"] == NEW) & ~children & (lesions["volume_ml"] >= big)]
    values["new_recall_ge_1ml"] = (_share(new["measured_status"] == NEW), len(new))
    births = first[first["parent_lesion_id"].notna() & (first["order"] > 0)]
    births = lesions.merge(births[["patient_id", "lesion_id", "order"]])
    births = births[births["volume_ml"] >= big]
    values["split_recall_ge_1ml"] = (_share(births["measured_status"] == SPLIT), len(births))
    values["disappeared_recall_ge_1ml"] = _disappeared_recall(lesions, tracks)
    values.update(_event_precision(lesions, tracks))

    followup = lesions[(lesions["order"] > 0) & lesions["assigned_track_id"].notna()]
    agree = followup["measured_category"] == followup["true_category"]
    values["category_agreement"] = (_share(agree), len(agree))

    measured = heterogeneity_table(tracks, scans=scans, baseline=baseline)
    true = heterogeneity_table(truth_tracks(truth), scans=scans, baseline=baseline)
    flags = measured.merge(true, on=["patient_id", "timepoint"], suffixes=("", "_true"))
    agree = flags["heterogeneous"] == flags["heterogeneous_true"]
    values["heterogeneity_agreement"] = (_share(agree), len(agree))

    return pd.DataFrame(
        [
            {"metric": name, "value": value, "n": int(n), "target": TARGETS[name]}
            for name, (value, n) in values.items()
        ],
        columns=list(METRIC_COLUMNS),
    )


def _share(flags: pd.Series) -> float:
    return float(flags.mean()) if len(flags) else np.nan


def _event_precision(lesions: pd.DataFrame, tracks: pd.DataFrame) -> dict:
    """Shares of measured ``new`` and first ``disappeared`` rows that are true events."""
    true_of_seg = lesions.loc[
        lesions["seg_id"] > 0, ["patient_id", "timepoint", "seg_id", "lesion_id", "status"]
    ].rename(columns={"seg_id": "measured_lesion_id", "status": "true_status"})
    true_of_seg = true_of_seg.astype({"measured_lesion_id": "Int64"})
    children = lesions.loc[lesions["parent_lesion_id"].notna(), ["patient_id", "lesion_id"]]
    children = set(zip(children["patient_id"], children["lesion_id"], strict=True))

    new = owner_rows(tracks)
    new = new[new["status"] == NEW].rename(columns={"lesion_id": "measured_lesion_id"})
    new = new.merge(true_of_seg, on=["patient_id", "timepoint", "measured_lesion_id"], how="left")
    is_child = [
        (p, v) in children for p, v in zip(new["patient_id"], new["lesion_id"], strict=True)
    ]
    true_new = (new["true_status"] == NEW) & ~np.asarray(is_child, dtype=bool)

    by_track = tracks.groupby(["patient_id", "track_id"], sort=False)
    gone = tracks.assign(
        previous_timepoint=by_track["timepoint"].shift(),
        measured_lesion_id=by_track["lesion_id"].shift(),
    )
    gone = gone[
        (gone["status"] == DISAPPEARED)
        & gone["parent_track_id"].isna()  # absorbed tracks vanish with their survivor
        & gone["measured_lesion_id"].notna()
    ]
    # The true lesion the track held at the previous scan: is it gone now?
    held = true_of_seg.drop(columns="true_status").rename(
        columns={"timepoint": "previous_timepoint"}
    )
    gone = gone.drop(columns="lesion_id").merge(
        held, on=["patient_id", "previous_timepoint", "measured_lesion_id"], how="left"
    )
    now = lesions[["patient_id", "timepoint", "lesion_id", "status"]].rename(
        columns={"status": "true_status"}
    )
    gone = gone.merge(now, on=["patient_id", "timepoint", "lesion_id"], how="left")
    return {
        "new_precision": (_share(true_new), len(new)),
        "disappeared_precision": (_share(gone["true_status"] == DISAPPEARED), len(gone)),
    }


def _disappeared_recall(lesions: pd.DataFrame, tracks: pd.DataFrame) -> tuple[float, int]:
    """True lesions >= 1 mL before they vanish whose measured track is then disappeared."""
    by_lesion = lesions.groupby(["patient_id", "lesion_id"])
    previous = lesions.assign(
        prev_status=by_lesion["status"].shift(),
        prev_volume_ml=by_lesion["volume_ml"].shift(),
        prev_track_id=by_lesion["track_id"].shift(),
    )
    gone = previous[
        (previous["status"] == DISAPPEARED)
        & previous["prev_status"].notna()
        & (previous["prev_status"] != DISAPPEARED)
        & (previous["prev_volume_ml"] >= DETECTION_MIN_VOLUME_ML)
    ]
    status = tracks[["patient_id", "timepoint", "track_id", "status"]].rename(
        columns={"track_id": "prev_track_id", "status": "track_status"}
    )
    gone = gone.astype({"prev_track_id": "Int64"}).merge(
        status.astype({"prev_track_id": "Int64"}),
        on=["patient_id", "timepoint", "prev_track_id"],
        how="left",
    )
    return _share(gone["track_status"] == DISAPPEARED), len(gone)


def track_accuracy(
    *,
    tracks: pd.DataFrame,
    truth_dir: str | os.PathLike,
    scans: Sequence[tuple[str, str]],
    seg_paths: Sequence[str | os.PathLike],
    timepoints: Sequence[str],
) -> pd.DataFrame:
    """Accuracy of the tracks table against the synthetic truth (metrics above).

    Parameters
    ----------
    tracks : pandas.DataFrame
        ``results/longitudinal/tracks.tsv`` (:func:`netpet.longitudinal.tracks.cohort_tracks`).
    truth_dir : path
        The synthetic cohort's ``truth/`` folder.
    scans, seg_paths
        Every scan (patient_id, timepoint) and, in the same order, its lesion label map on
        its own PET grid (``results/segmentation/{p}/{t}/lesions.nii.gz``).
    timepoints : sequence of str
        All time points in order, baseline first.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`METRIC_COLUMNS`, one row per metric.
    """
    truth = read_truth(truth_dir)
    # Only the scans that were analysed count.
    scanned = pd.MultiIndex.from_tuples(list(scans), names=["patient_id", "timepoint"])
    truth = truth[pd.MultiIndex.from_frame(truth[["patient_id", "timepoint"]]).isin(scanned)]
    matches = match_truth(truth_dir=truth_dir, scans=scans, seg_paths=seg_paths)
    lesions = true_lesion_table(matches, tracks=tracks, truth=truth, timepoints=timepoints)
    return track_metrics(lesions, tracks=tracks, truth=truth, scans=scans, timepoints=timepoints)
