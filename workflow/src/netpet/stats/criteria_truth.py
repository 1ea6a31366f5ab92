"""Response criteria of the synthetic cohort's true lesions, and their agreement with the
criteria of the measured scans.

The response criteria (:func:`netpet.stats.criteria.response_criteria`) need, per scan,
``lesion_count``, ``wtv_ml``, ``suvmax`` and ``suvpeak``, and per follow-up the number of new
lesions.  From the truth (``truth/scans.tsv``, ``truth/lesions.tsv``):

- ``lesion_count``, ``wtv_ml`` (sum of the true volumes), ``suvmax`` (highest true uptake),
  ``weight_kg`` and ``height_m`` (for SUL) are the truth's own;
- ``tlr`` = true SUVmax / true liver SUVmean (for ``sstr_density.parameter: tlr``);
- ``suvpeak``: the truth has no SUVpeak (a 1 mL sphere mean of the blurred image is a
  property of the measurement, not of the object), so **PERCIST of the truth runs on the true
  SUVmax** as a proxy of the hottest lesion's SUVpeak.  Its relative change equals the
  SUVpeak's where the hottest lesion is larger than the 1 mL sphere and uniform; for small
  lesions the measured SUVpeak also falls with the volume (partial volume), so PERCIST
  disagreements partly measure the proxy, and PERCIST's 0.8-unit absolute limit is applied to
  SUVmax (several units higher than SUVpeak) on the truth side;
- new lesions: true lesions present at the follow-up whose category against the baseline is
  ``new`` (:func:`netpet.longitudinal.accuracy.read_truth`: a lesion split off a baseline
  lesion is not new, as the tracks have it), of any size.

Agreement per criterion is the share of (patient, follow-up) rows where the measured class
equals the true class, over the rows where both are defined.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from netpet.errors import InputError
from netpet.longitudinal.accuracy import METRIC_COLUMNS, read_truth
from netpet.longitudinal.tracks import DISAPPEARED
from netpet.stats.columns import EARLY_SST_TV_COLUMN, N_NEW_COLUMN, SUV_TYPE_COLUMN

#: Criteria compared (those computed from the PET alone; RECIST and Choi need CT readings),
#: each with the change column that decided it.
AGREEMENT_CRITERIA = {
    "percist": "percist_change_pct",
    "eortc": "eortc_change_pct",
    "sst_tv": "sst_tv_change_pct",
    EARLY_SST_TV_COLUMN: "sst_tv_change_pct",
    "sstr_density": "sstr_density_change_pct",
}
#: Columns of :func:`criteria_pairs`.
PAIR_COLUMNS = (
    "patient_id",
    "timepoint",
    "criterion",
    "measured",
    "true",
    "agree",
    "measured_change_pct",
    "true_change_pct",
    "measured_n_new",
    "true_n_new",
)
#: Columns :func:`true_scans_table` takes from ``truth/scans.tsv``.
TRUTH_SCAN_COLUMNS = (
    "patient_id",
    "timepoint",
    "lesion_count",
    "wtv_ml",
    "suvmax",
    "liver_suvmean",
    "weight_kg",
    "height_m",
)


def true_scans_table(truth_dir: str | os.PathLike) -> pd.DataFrame:
    """The truth's scans in the shape of ``results/features/scans.tsv`` (module docstring).

    Parameters
    ----------
    truth_dir : path
        The synthetic cohort's ``truth/`` folder.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``timepoint``, ``suv_type`` (``bw``), ``lesion_count``, ``wtv_ml``
        (mL), ``suvmax``, ``suvpeak`` (= ``suvmax``, the PERCIST proxy), ``tlr``,
        ``weight_kg``, ``height_m``.
    """
    path = Path(truth_dir) / "scans.tsv"
    scans = pd.read_csv(path, sep="\t", dtype={"patient_id": str, "timepoint": str})
    absent = [c for c in TRUTH_SCAN_COLUMNS if c not in scans.columns]
    if absent:
        raise InputError(f"{path}: column(s) {absent} missing; regenerate the synthetic cohort")
    table = scans[list(TRUTH_SCAN_COLUMNS)].copy()
    table.insert(2, SUV_TYPE_COLUMN, "bw")
    # A scan without lesions has no SUVmax (the features table leaves it empty too).
    table["suvmax"] = table["suvmax"].where(table["lesion_count"] > 0)
    table["suvpeak"] = table["suvmax"]
    table["tlr"] = table["suvmax"] / table["liver_suvmean"]
    return table.drop(columns="liver_suvmean")


def true_new_lesions(truth_dir: str | os.PathLike, *, baseline: str) -> pd.DataFrame:
    """New lesions per patient and follow-up in the truth (module docstring).

    Parameters
    ----------
    truth_dir : path
        The synthetic cohort's ``truth/`` folder (``lesions.tsv``, ``scans.tsv``).
    baseline : str
        Label of the baseline time point.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``timepoint``, ``n_new``: one row per follow-up scan of
        ``truth/scans.tsv`` (0 when nothing is new).
    """
    lesions = read_truth(truth_dir)
    scans = pd.read_csv(Path(truth_dir) / "scans.tsv", sep="\t", dtype=str)
    followups = scans.loc[scans["timepoint"] != baseline, ["patient_id", "timepoint"]]
    new = lesions[(lesions["status"] != DISAPPEARED) & (lesions["true_category"] == "new")]
    counts = new.groupby(["patient_id", "timepoint"]).size().rename(N_NEW_COLUMN).reset_index()
    counts["patient_id"] = counts["patient_id"].astype(str)
    table = followups.merge(counts, on=["patient_id", "timepoint"], how="left")
    table[N_NEW_COLUMN] = table[N_NEW_COLUMN].fillna(0).astype(np.int64)
    return table.reset_index(drop=True)


def criteria_pairs(
    measured: pd.DataFrame,
    true: pd.DataFrame,
    *,
    criteria: Sequence[str] = tuple(AGREEMENT_CRITERIA),
) -> pd.DataFrame:
    """Measured and true class of every patient, follow-up and criterion, side by side.

    Parameters
    ----------
    measured, true : pandas.DataFrame
        :func:`netpet.stats.criteria.response_criteria` of the measured scans and of
        the truth (:func:`true_scans_table`, :func:`true_new_lesions`).
    criteria : sequence of str
        Keys of :data:`AGREEMENT_CRITERIA`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIR_COLUMNS`, one row per (patient, follow-up) of ``true`` and
        criterion; ``agree`` is empty (NA) where either class is empty.
    """
    unknown = [c for c in criteria if c not in AGREEMENT_CRITERIA]
    if unknown:
        raise InputError(
            f"criteria agreement: unknown criteria {unknown}; choose from "
            f"{list(AGREEMENT_CRITERIA)}"
        )
    keys = ["patient_id", "timepoint"]
    for name, table in (("measured", measured), ("true", true)):
        absent = [c for c in [*keys, N_NEW_COLUMN, *criteria] if c not in table.columns]
        if absent:
            raise InputError(
                f"{name} criteria table: column(s) {absent} missing; build it with "
                "netpet.stats.criteria.response_criteria"
            )
    both = true.astype({"patient_id": str}).merge(
        measured.astype({"patient_id": str}), on=keys, how="left", suffixes=("_true", "")
    )
    parts = []
    for criterion in criteria:
        change = AGREEMENT_CRITERIA[criterion]
        part = pd.DataFrame(
            {
                "patient_id": both["patient_id"],
                "timepoint": both["timepoint"],
                "criterion": criterion,
                "measured": both[criterion],
                "true": both[f"{criterion}_true"],
                "measured_change_pct": both[change],
                "true_change_pct": both[f"{change}_true"],
                "measured_n_new": both[N_NEW_COLUMN],
                "true_n_new": both[f"{N_NEW_COLUMN}_true"],
            }
        )
        defined = part["measured"].notna() & part["true"].notna()
        part["agree"] = (part["measured"] == part["true"]).astype("boolean").where(defined)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    return table.astype({"measured_n_new": "Int64", "true_n_new": "Int64"})[list(PAIR_COLUMNS)]


def criteria_agreement(
    measured: pd.DataFrame,
    true: pd.DataFrame,
    *,
    criteria: Sequence[str] = tuple(AGREEMENT_CRITERIA),
) -> pd.DataFrame:
    """Agreement of measured and true class per criterion.

    Parameters
    ----------
    measured, true : pandas.DataFrame
        As in :func:`criteria_pairs`.
    criteria : sequence of str
        Keys of :data:`AGREEMENT_CRITERIA`.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`netpet.longitudinal.accuracy.METRIC_COLUMNS`: ``metric``
        ``criteria_agreement_<criterion>``, ``value`` the share of rows that agree (NaN
        when no row has both classes), ``n`` the rows with both classes, ``target`` empty
        (the issue asks for the agreement to be reported, with no target).
    """
    pairs = criteria_pairs(measured, true, criteria=criteria)
    rows = []
    for criterion in criteria:
        agree = pairs.loc[pairs["criterion"] == criterion, "agree"].dropna()
        rows.append(
            {
                "metric": f"criteria_agreement_{criterion}",
                "value": float(agree.mean()) if len(agree) else np.nan,
                "n": len(agree),
                "target": np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
