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
- Why the other calls are wrong (counts, :func:`event_calls`): ``new_false_unmatched``,
  ``disappeared_false_unmatched``: the segmented lesion (for a disappearance: the one the
  track held at the scan before) is no true lesion's match, a segmentation false positive
  (or a fragment); ``new_false_missed_before``: a true lesion that was never detected at an
  earlier scan (below detection there), first seen now; ``disappeared_false_missed_now``: the
  true lesion is still there but not detected now; ``*_false_tracking``: the tracks' own
  error, the true lesion was detected before (new) or is detected now (disappeared), or a
  split-off was called new.
- ``category_agreement_ge_1ml``: true lesion rows at follow-ups of lesions >= 1 mL at their
  first appearance (the lesions of the continuity and recall metrics), measured category of
  the lesion's latest measured track (at that scan or before) equal to the true category; a
  lesion not detected at any scan by then has no measured category and counts as a
  disagreement.  ``category_agreement``: the same over all true lesions, reported beside.
  Why >= 1 mL carries the target: it is the imaging chain's detection limit (its >= 95 %
  detection criterion, :data:`netpet.accuracy.DETECTION_MIN_VOLUME_ML`); below it a lesion
  is often not segmented at all or only as a few voxels whose SUVtotal swings by more than
  the +-30 % category limits, so the all-lesions figure measures the detection limit more
  than the tracks.  Both are end to end (a lesion lost by the segmentation counts against
  them) and nothing else is left out.  :func:`category_disagreements` gives the reason of
  every disagreement.
- ``heterogeneity_agreement``: per patient and follow-up, the heterogeneity flag of the tracks
  equal to the flag computed with the same function
  (:func:`netpet.longitudinal.heterogeneity.heterogeneity_table`) from the truth categories
  of all true lesions.
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
from netpet.longitudinal.tracks import DISAPPEARED, NEW, SPLIT, TrackSettings, owner_rows

#: Target of each metric (higher is better; the issue's acceptance figures); counts have none.
#: Precision of new / disappeared calls is reported beside the recalls, at a lower target.
TARGETS = {
    "track_continuity_ge_1ml": 0.95,
    "true_tracks_broken_ge_1ml": np.nan,
    "measured_tracks_swapped": np.nan,
    "new_recall_ge_1ml": 0.95,
    "split_recall_ge_1ml": 0.95,
    "disappeared_recall_ge_1ml": 0.95,
    "new_precision": 0.80,
    "new_false_unmatched": np.nan,
    "new_false_missed_before": np.nan,
    "new_false_tracking": np.nan,
    "disappeared_precision": 0.80,
    "disappeared_false_unmatched": np.nan,
    "disappeared_false_missed_now": np.nan,
    "disappeared_false_tracking": np.nan,
    "category_agreement_ge_1ml": 0.90,
    "category_agreement": np.nan,
    "heterogeneity_agreement": 0.90,
}
#: Metrics that are counts, not shares (pooled over cohorts by summing).
COUNT_METRICS = (
    "true_tracks_broken_ge_1ml",
    "measured_tracks_swapped",
    "new_false_unmatched",
    "new_false_missed_before",
    "new_false_tracking",
    "disappeared_false_unmatched",
    "disappeared_false_missed_now",
    "disappeared_false_tracking",
)
#: Causes of a measured new or disappeared call (:func:`event_calls`): right, or why not.
CAUSE_TRUE, CAUSE_UNMATCHED, CAUSE_TRACKING = "true", "unmatched", "tracking"
CAUSE_MISSED_BEFORE, CAUSE_MISSED_NOW = "missed_before", "missed_now"
#: Reasons of :func:`category_disagreements`, in the order they are tested.
DISAGREEMENT_REASONS = (
    "never_detected",
    "not_detected_now",
    "track_continues",
    "new_mismatch",
    "borderline",
    "measurement",
)
#: A category disagreement is *borderline* when the true change lies within this many
#: percentage points of a category limit (:func:`category_disagreements`).
BORDERLINE_PP = 10.0
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
        before the scan), ``measured_category`` (its category at the scan),
        ``true_change_pct``: the true change of SUVtotal against the baseline, % (of the
        split family where the lesion has one, as ``family_response`` has it; empty for
        lesions not at baseline and when the truth has no ``suvtotal``) and
        ``first_volume_ml``: the lesion's true volume at its first appearance, mL.
    """
    order = {t: i for i, t in enumerate(timepoints)}
    tracks = typed_tracks(tracks)
    table = truth.copy()
    if "parent_lesion_id" not in table:
        table["parent_lesion_id"] = np.nan
    columns = ["patient_id", "timepoint", "lesion_id", "volume_ml", "status", "true_category"]
    table = table[[*columns, "parent_lesion_id", *(["suvtotal"] if "suvtotal" in table else [])]]
    table = table[table["timepoint"].isin(list(order))].copy()
    table["order"] = table["timepoint"].map(order)
    table["true_change_pct"] = _true_change_pct(table)
    table = table.drop(columns="suvtotal", errors="ignore")
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
    table = table.merge(categories, on=["patient_id", "timepoint", "assigned_track_id"], how="left")
    first = table[table["status"] != DISAPPEARED].groupby(["patient_id", "lesion_id"])
    first_volume = first["volume_ml"].first()  # rows are in time order
    keys = pd.MultiIndex.from_frame(table[["patient_id", "lesion_id"]])
    return table.assign(first_volume_ml=first_volume.reindex(keys).to_numpy())


def _true_change_pct(table: pd.DataFrame) -> pd.Series:
    """True SUVtotal change of each row's split family (parent and children) vs baseline, %."""
    if "suvtotal" not in table:
        return pd.Series(np.nan, index=table.index)
    family = table["parent_lesion_id"].fillna(table["lesion_id"])
    keyed = table.assign(_family=family, _suvtotal=table["suvtotal"].fillna(0.0))
    now = keyed.groupby(["patient_id", "timepoint", "_family"])["_suvtotal"].transform("sum")
    base = keyed[keyed["order"] == 0].groupby(["patient_id", "_family"])["_suvtotal"].sum()
    base = pd.Series(
        base.reindex(pd.MultiIndex.from_frame(keyed[["patient_id", "_family"]])).to_numpy(),
        index=table.index,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((now - base) / base * 100.0).where(base > 0)


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
        Columns :data:`METRIC_COLUMNS`: ``value`` (share, or count: :data:`COUNT_METRICS`),
        ``n`` (denominator; for counts, the items counted among) and ``target`` (empty for
        counts and for ``category_agreement``, the all-lesions figure beside the target's).
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
    eligible = first.loc[first["first_volume_ml"] >= big, ["patient_id", "lesion_id"]]
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
    new_calls, gone_calls = event_calls(lesions, tracks)
    for kind, calls, causes in (
        ("new", new_calls, (CAUSE_UNMATCHED, CAUSE_MISSED_BEFORE, CAUSE_TRACKING)),
        ("disappeared", gone_calls, (CAUSE_UNMATCHED, CAUSE_MISSED_NOW, CAUSE_TRACKING)),
    ):
        values[f"{kind}_precision"] = (_share(calls["cause"] == CAUSE_TRUE), len(calls))
        for cause in causes:
            values[f"{kind}_false_{cause}"] = (float((calls["cause"] == cause).sum()), len(calls))

    # A row of a lesion not detected by then has no measured category: a disagreement.
    followup = lesions[lesions["order"] > 0]
    agree = followup["measured_category"].eq(followup["true_category"])
    of_big = followup["first_volume_ml"] >= big
    values["category_agreement_ge_1ml"] = (_share(agree[of_big]), int(of_big.sum()))
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


def event_calls(lesions: pd.DataFrame, tracks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every measured ``new`` call and first ``disappeared`` call, with its cause.

    Parameters
    ----------
    lesions : pandas.DataFrame
        :func:`true_lesion_table`.
    tracks : pandas.DataFrame
        The tracks table, each track's rows in time order (as
        :func:`netpet.longitudinal.tracks.cohort_tracks` writes them).

    Returns
    -------
    new : pandas.DataFrame
        One row per measured ``new`` row (owner rows): ``patient_id``, ``timepoint``,
        ``track_id``, ``measured_lesion_id``, ``lesion_id`` (the matched true lesion, empty
        when none), ``true_status``, ``cause``: ``true`` (a true new lesion, not a
        split-off), ``unmatched`` (no true lesion matches the segmented one),
        ``missed_before`` (a true lesion that no earlier scan detected) or ``tracking``
        (a true lesion detected at an earlier scan, or a split-off called new).
    disappeared : pandas.DataFrame
        One row per track that turns ``disappeared`` after holding a lesion at the scan
        before (absorbed tracks left out: they vanish with their survivor): ``patient_id``,
        ``timepoint``, ``track_id``, ``previous_timepoint``, ``measured_lesion_id`` (held at
        the scan before), ``lesion_id`` (its true lesion), ``true_status`` (now),
        ``cause``: ``true`` (gone now), ``unmatched`` (the lesion held before is no true
        lesion's match), ``missed_now`` (the true lesion is there but not detected now) or
        ``tracking`` (it is detected now, in another track).
    """
    keys = ["patient_id", "timepoint"]
    true_of_seg = lesions.loc[lesions["seg_id"] > 0, [*keys, "seg_id", "lesion_id"]]
    true_of_seg = true_of_seg.rename(columns={"seg_id": "measured_lesion_id"}).astype(
        {"measured_lesion_id": "Int64"}
    )
    state = lesions[[*keys, "lesion_id", "status", "seg_id", "order", "parent_lesion_id"]]
    state = state.rename(columns={"status": "true_status"})
    # First scan at which each true lesion was detected (inf: never).
    detected = lesions[lesions["seg_id"] > 0].groupby(["patient_id", "lesion_id"])["order"].min()
    first_row = lesions.groupby(["patient_id", "lesion_id"])["order"].min()

    new = owner_rows(typed_tracks(tracks))
    new = new.loc[new["status"] == NEW, [*keys, "track_id", "lesion_id"]]
    new = new.rename(columns={"lesion_id": "measured_lesion_id"})
    new = new.merge(true_of_seg, on=[*keys, "measured_lesion_id"], how="left")
    new = new.merge(state, on=[*keys, "lesion_id"], how="left")
    pairs = pd.MultiIndex.from_frame(new[["patient_id", "lesion_id"]])
    seen_at = detected.reindex(pairs).to_numpy(float)
    born_at = first_row.reindex(pairs).to_numpy(float)
    child = new["parent_lesion_id"].notna().to_numpy()
    order = new["order"].to_numpy(float)
    new["cause"] = np.select(
        [
            new["lesion_id"].isna().to_numpy(),
            (new["true_status"] == NEW).to_numpy() & ~child,
            child & (order == born_at),  # a split-off at its first scan: not recognised
            np.nan_to_num(seen_at, nan=np.inf) < order,
        ],
        [CAUSE_UNMATCHED, CAUSE_TRUE, CAUSE_TRACKING, CAUSE_TRACKING],
        default=CAUSE_MISSED_BEFORE,
    )

    tracks = typed_tracks(tracks)
    by_track = tracks.groupby(["patient_id", "track_id"], sort=False)
    gone = tracks.assign(
        previous_timepoint=by_track["timepoint"].shift(),
        measured_lesion_id=by_track["lesion_id"].shift(),
    )
    gone = gone.loc[
        (gone["status"] == DISAPPEARED)
        & gone["parent_track_id"].isna()  # absorbed tracks vanish with their survivor
        & gone["measured_lesion_id"].notna(),
        [*keys, "track_id", "previous_timepoint", "measured_lesion_id"],
    ]
    # The true lesion the track held at the previous scan: is it gone now?
    held = true_of_seg.rename(columns={"timepoint": "previous_timepoint"})
    gone = gone.merge(
        held, on=["patient_id", "previous_timepoint", "measured_lesion_id"], how="left"
    )
    gone = gone.merge(state, on=[*keys, "lesion_id"], how="left")
    gone["cause"] = np.select(
        [
            gone["lesion_id"].isna().to_numpy(),
            (gone["true_status"] == DISAPPEARED).to_numpy(),
            gone["seg_id"].fillna(0).to_numpy() > 0,
        ],
        [CAUSE_UNMATCHED, CAUSE_TRUE, CAUSE_TRACKING],
        default=CAUSE_MISSED_NOW,
    )
    columns = ["true_status", "cause"]
    return (
        new[[*keys, "track_id", "measured_lesion_id", "lesion_id", *columns]],
        gone[
            [*keys, "track_id", "previous_timepoint", "measured_lesion_id", "lesion_id", *columns]
        ],
    )


def category_disagreements(
    lesions: pd.DataFrame, *, settings: TrackSettings | None = None
) -> pd.DataFrame:
    """The follow-up rows of :func:`true_lesion_table` whose categories disagree, and why.

    Parameters
    ----------
    lesions : pandas.DataFrame
        :func:`true_lesion_table`.
    settings : TrackSettings, optional
        Category limits (default: the workflow's, -30 % and +30 %, the truth's own).

    Returns
    -------
    pandas.DataFrame
        The disagreeing rows with ``reason``, the first that applies:
        ``never_detected`` (no scan detected the lesion by then), ``not_detected_now``
        (present, but its track has no lesion now), ``track_continues`` (gone, but its
        track holds a lesion now), ``new_mismatch`` (one side says ``new``: a lesion missed
        at baseline and measured as new, or a true new lesion inside an older track),
        ``borderline`` (the true change within :data:`BORDERLINE_PP` percentage points of
        a category limit) or ``measurement`` (the measured change is off by more: partial
        volume, segmentation extent).
    """
    settings = settings or TrackSettings()
    rows = lesions[
        (lesions["order"] > 0) & ~lesions["measured_category"].eq(lesions["true_category"])
    ]
    change = rows["true_change_pct"].to_numpy(float)
    near = np.minimum(
        np.abs(change - settings.decrease_pct), np.abs(change - settings.increase_pct)
    )
    one_new = (rows["true_category"] == NEW) ^ (rows["measured_category"] == NEW)
    gone = rows["status"] == DISAPPEARED
    reason = np.select(
        [
            rows["assigned_track_id"].isna().to_numpy(),
            (~gone & (rows["seg_id"] == 0)).to_numpy(),
            gone.to_numpy(),
            one_new.to_numpy(),
            np.nan_to_num(near, nan=np.inf) <= BORDERLINE_PP,
        ],
        list(DISAGREEMENT_REASONS[:-1]),
        default=DISAGREEMENT_REASONS[-1],
    )
    return rows.assign(reason=reason).reset_index(drop=True)


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
    metrics, _ = track_accuracy_tables(
        tracks=tracks, truth_dir=truth_dir, scans=scans, seg_paths=seg_paths, timepoints=timepoints
    )
    return metrics


def track_accuracy_tables(
    *,
    tracks: pd.DataFrame,
    truth_dir: str | os.PathLike,
    scans: Sequence[tuple[str, str]],
    seg_paths: Sequence[str | os.PathLike],
    timepoints: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`track_accuracy`'s metrics and the table they are computed from.

    Parameters are those of :func:`track_accuracy`.

    Returns
    -------
    metrics : pandas.DataFrame
        Columns :data:`METRIC_COLUMNS`, one row per metric.
    lesions : pandas.DataFrame
        :func:`true_lesion_table`: every true lesion row of the analysed scans with its
        measured track, status and category (for a look at each disagreement).
    """
    truth = read_truth(truth_dir)
    # Only the scans that were analysed count.
    scanned = pd.MultiIndex.from_tuples(list(scans), names=["patient_id", "timepoint"])
    truth = truth[pd.MultiIndex.from_frame(truth[["patient_id", "timepoint"]]).isin(scanned)]
    matches = match_truth(truth_dir=truth_dir, scans=scans, seg_paths=seg_paths)
    lesions = true_lesion_table(matches, tracks=tracks, truth=truth, timepoints=timepoints)
    metrics = track_metrics(lesions, tracks=tracks, truth=truth, scans=scans, timepoints=timepoints)
    return metrics, lesions
