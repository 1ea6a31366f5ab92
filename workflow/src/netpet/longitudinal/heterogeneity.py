"""Response heterogeneity: how a patient's lesion tracks responded at each follow-up.

STUDY.md section 2: a patient shows *response heterogeneity* at a follow-up when both
new-or-increasing and decreasing-or-disappearing lesions are present.

Counted per patient and follow-up are the tracks that **exist at the baseline or at that
follow-up** (a lesion at either scan; an absorbed track counts with its merged lesion, see
:mod:`netpet.longitudinal.tracks`).  A track that appeared between them and is gone again is
left out: against the baseline it neither came nor went.  Each counted track adds one to its
category (family category for split and merged tracks), so a split lesion counts once per
piece.  Shares are counts / ``n_tracks``; with no track at all (no lesion at baseline or at
the follow-up, e.g. a complete response of a patient without new lesions) the counts are 0,
the shares empty, ``heterogeneous`` False and ``note`` says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from netpet.errors import InputError
from netpet.longitudinal.tracks import CATEGORIES
from netpet.stats.columns import value_column

#: Categories on each side of the heterogeneity flag (STUDY.md section 2).
PROGRESSING = ("new", "increasing")
RESPONDING = ("decreasing", "disappearing")
NO_TRACKS_NOTE = "no lesion at baseline or at this follow-up"

COUNT_COLUMNS = tuple(f"n_{c}" for c in CATEGORIES)
SHARE_COLUMNS = tuple(f"share_{c}" for c in CATEGORIES)
#: Columns of :func:`heterogeneity_table`, in order.
HETEROGENEITY_COLUMNS = (
    "patient_id",
    "timepoint",
    "n_tracks",
    *COUNT_COLUMNS,
    *SHARE_COLUMNS,
    "heterogeneous",
    "note",
)


def heterogeneity_table(
    tracks: pd.DataFrame,
    *,
    scans: Iterable[tuple[str, str]],
    baseline: str,
) -> pd.DataFrame:
    """Counts and shares of response categories per patient and follow-up.

    Parameters
    ----------
    tracks : pandas.DataFrame
        Tracks table (:func:`netpet.longitudinal.tracks.cohort_tracks`), or any table with
        ``patient_id``, ``track_id``, ``timepoint``, ``lesion_id`` (empty when the track has
        no lesion then) and ``category``: the synthetic truth in that shape is scored the
        same way.
    scans : iterable of (patient_id, timepoint)
        The scans of the cohort; every follow-up (timepoint other than ``baseline``) gets a
        row, also when its patient has no track.
    baseline : str
        Label of the baseline time point.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HETEROGENEITY_COLUMNS`, one row per follow-up scan, in the order of
        ``scans``.
    """
    needed = {"patient_id", "track_id", "timepoint", "lesion_id", "category"}
    absent = sorted(needed - set(tracks.columns))
    if absent:
        raise InputError(
            f"tracks table: column(s) {absent} missing; build it with "
            "netpet.longitudinal.tracks.cohort_tracks"
        )
    unknown = set(tracks["category"].dropna()) - {*CATEGORIES, "baseline"}
    if unknown:
        raise InputError(
            f"tracks table: unknown categories {sorted(unknown)} in column category; "
            f"expected {[*CATEGORIES, 'baseline']}"
        )
    followups = pd.DataFrame(
        [(p, t) for p, t in scans if t != baseline], columns=["patient_id", "timepoint"]
    )
    at_baseline = tracks.loc[
        (tracks["timepoint"] == baseline) & tracks["lesion_id"].notna(), ["patient_id", "track_id"]
    ].assign(at_baseline=True)
    rows = tracks[tracks["timepoint"] != baseline].merge(
        at_baseline, on=["patient_id", "track_id"], how="left"
    )
    counted = rows[rows["lesion_id"].notna() | rows["at_baseline"].eq(True)]
    counts = (
        pd.crosstab([counted["patient_id"], counted["timepoint"]], counted["category"])
        .reindex(columns=list(CATEGORIES), fill_value=0)
        .rename(columns=lambda c: f"n_{c}")
    )
    table = followups.merge(counts.reset_index(), on=["patient_id", "timepoint"], how="left")
    table[list(COUNT_COLUMNS)] = table[list(COUNT_COLUMNS)].fillna(0).astype(np.int64)
    table["n_tracks"] = table[list(COUNT_COLUMNS)].sum(axis=1)
    n = table["n_tracks"].to_numpy(float)
    for category in CATEGORIES:
        share = table[f"n_{category}"].to_numpy(float) / np.where(n > 0, n, np.nan)
        table[f"share_{category}"] = share
    progressing = table[[f"n_{c}" for c in PROGRESSING]].sum(axis=1) > 0
    responding = table[[f"n_{c}" for c in RESPONDING]].sum(axis=1) > 0
    table["heterogeneous"] = (progressing & responding).astype(bool)
    table["note"] = np.where(table["n_tracks"] == 0, NO_TRACKS_NOTE, "")
    return table[list(HETEROGENEITY_COLUMNS)]


def heterogeneity_wide(table: pd.DataFrame, *, followups: Sequence[str]) -> pd.DataFrame:
    """One row per patient, the heterogeneity measures of each follow-up side by side.

    Columns are named as the patient table names values at a time point
    (:func:`netpet.stats.columns.value_column`): ``heterogeneous_interim``,
    ``n_new_interim``, ``share_new_interim``, ...  A patient without a follow-up scan has
    empty cells for it.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`heterogeneity_table`.
    followups : sequence of str
        Follow-up labels in time order (column order of the result).

    Returns
    -------
    pandas.DataFrame
        ``patient_id`` and, per follow-up, ``n_tracks``, the counts, the shares and
        ``heterogeneous`` (nullable boolean).
    """
    measures = ["n_tracks", *COUNT_COLUMNS, *SHARE_COLUMNS, "heterogeneous"]
    patients = pd.DataFrame({"patient_id": pd.unique(table["patient_id"])})
    wide = patients
    for followup in followups:
        part = table.loc[table["timepoint"] == followup, ["patient_id", *measures]]
        part = part.rename(columns={m: value_column(m, followup) for m in measures})
        wide = wide.merge(part, on="patient_id", how="left")
        for m in measures:
            column = value_column(m, followup)
            if m == "heterogeneous":
                wide[column] = wide[column].astype("boolean")
            elif m.startswith("n_"):
                wide[column] = wide[column].astype("Int64")
    return wide
