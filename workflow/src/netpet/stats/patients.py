"""One row per patient: clinical data, PET parameters at every time point and their changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from netpet.errors import InputError
from netpet.stats.columns import CHANGE_NOTES_COLUMN, change_column, join_notes, value_column

#: Allowed WHO grades (WHO 2022: G1 Ki-67 < 3 %, G2 3-20 %, G3 > 20 %).
WHO_GRADE_LEVELS = ("G1", "G2", "G3")


def proportional_change_pct(baseline, followup) -> np.ndarray:
    """Proportional change in percent, ``(followup - baseline) / baseline * 100``.

    STUDY.md section 1 (``delta = (interim - basal) / basal x 100 %``).  NaN where the
    baseline is 0 (the change is undefined: no infinities are invented) or either value is
    missing.
    """
    baseline = np.asarray(baseline, dtype=float)
    followup = np.asarray(followup, dtype=float)
    out = np.full(np.broadcast(baseline, followup).shape, np.nan)
    ok = np.isfinite(baseline) & np.isfinite(followup) & (baseline != 0)
    out[ok] = (followup[ok] - baseline[ok]) / baseline[ok] * 100.0
    return out


def build_patient_table(
    scans: pd.DataFrame,
    clinical: pd.DataFrame,
    *,
    baseline: str,
    followups: list[str],
    parameters: list[str],
    time_col: str = "pfs_months",
    event_col: str = "progression",
    scans_source: str = "scans table",
    clinical_source: str = "clinical table",
) -> pd.DataFrame:
    """Patient-level analysis table.

    One row per patient of ``clinical`` (in its order), with every clinical column, every
    parameter at every time point (:func:`netpet.stats.columns.value_column`, e.g.
    ``wtv_ml_basal``) and the proportional change for each follow-up
    (:func:`netpet.stats.columns.change_column`, e.g. ``wtv_ml_change_interim_pct``;
    :func:`proportional_change_pct`).  A change is NaN, with the reason in the
    ``change_notes`` column, when the baseline value is 0 (e.g. no tumour volume at
    baseline), a value is missing, or the follow-up scan is missing (patients may leave the
    study before the interim scan; they keep their baseline values).

    Parameters
    ----------
    scans : pandas.DataFrame
        One row per scan: ``patient_id``, ``timepoint`` and the parameter columns (e.g.
        ``suvmax``, ``tlr``, ``wtv_ml``, ``tre``); other columns are ignored.
    clinical : pandas.DataFrame
        One row per patient: ``patient_id``, ``time_col``, ``event_col`` (0/1) and any
        others (``sex``, ``age_years``, ``who_grade`` in G1/G2/G3, ...).
    baseline : str
        Time-point label of the baseline scan (e.g. ``"basal"``).
    followups : list of str
        Time-point labels of the follow-up scans (e.g. ``["interim"]``).
    parameters : list of str
        Scan columns to carry over.
    time_col, event_col : str, optional
        Survival time (months, >= 0) and event indicator (1 = event, 0 = censored) columns of
        ``clinical`` (config ``stats.time`` and ``stats.event``), checked here.
    scans_source, clinical_source : str
        File names used in error messages.

    Raises
    ------
    InputError
        Missing columns, duplicate patients or scans, a clinical patient without a baseline
        scan, scans of a patient absent from the clinical table, unknown time points,
        an event not 0/1, a negative or missing survival time, an unknown WHO grade.
    """
    for col in ("patient_id", "timepoint", *parameters):
        if col not in scans.columns:
            raise InputError(
                f"{scans_source}: missing column {col!r}; it is needed for the "
                "patient table (check the parameter list in the config)"
            )
    required = ("patient_id", time_col, event_col)
    for col in required:
        if col not in clinical.columns:
            raise InputError(
                f"{clinical_source}: missing column {col!r} (required: "
                f"{', '.join(required)}; the survival columns are stats.time and stats.event "
                "in the config)"
            )
    clinical = clinical.copy()
    scans = scans.copy()
    clinical["patient_id"] = clinical["patient_id"].astype(str)
    scans["patient_id"] = scans["patient_id"].astype(str)
    scans["timepoint"] = scans["timepoint"].astype(str)
    _check_clinical(clinical, clinical_source, time_col=time_col, event_col=event_col)

    dup = clinical["patient_id"][clinical["patient_id"].duplicated()].unique()
    if len(dup):
        raise InputError(
            f"{clinical_source}: patient_id {list(dup)} listed more than once; "
            "keep one row per patient"
        )
    dup = scans[scans.duplicated(["patient_id", "timepoint"])]
    if len(dup):
        pairs = list(dup[["patient_id", "timepoint"]].itertuples(index=False, name=None))
        raise InputError(
            f"{scans_source}: more than one scan for (patient_id, timepoint) "
            f"{pairs}; keep one scan per patient and time point"
        )
    timepoints = [baseline, *followups]
    unknown = sorted(set(scans["timepoint"]) - set(timepoints))
    if unknown:
        raise InputError(
            f"{scans_source}: time point(s) {unknown} are neither the baseline "
            f"{baseline!r} nor a follow-up {followups}; add them to the config "
            "or remove those scans"
        )
    orphans = sorted(set(scans["patient_id"]) - set(clinical["patient_id"]))
    if orphans:
        raise InputError(
            f"{scans_source}: scans of patient(s) {orphans} that are not in "
            f"{clinical_source}; add their clinical data or remove the scans"
        )
    has_base = set(scans.loc[scans["timepoint"] == baseline, "patient_id"])
    no_base = [p for p in clinical["patient_id"] if p not in has_base]
    if no_base:
        raise InputError(
            f"{scans_source}: no {baseline!r} scan for patient(s) {no_base}; "
            "every patient needs a baseline scan (or remove the patient from "
            f"{clinical_source})"
        )

    out = clinical.reset_index(drop=True)
    wide = scans.pivot(index="patient_id", columns="timepoint", values=list(parameters))
    for tp in timepoints:
        for par in parameters:
            col = value_column(par, tp)
            if col in out.columns:
                raise InputError(
                    f"{clinical_source}: column {col!r} clashes with a PET "
                    "parameter column; rename it"
                )
            values = wide[(par, tp)] if (par, tp) in wide.columns else pd.Series(dtype=float)
            out[col] = out["patient_id"].map(values).astype(float)
    notes: list[list[str]] = [[] for _ in range(len(out))]
    for fu in followups:
        has_fu = out["patient_id"].isin(scans.loc[scans["timepoint"] == fu, "patient_id"])
        for par in parameters:
            base = out[value_column(par, baseline)].to_numpy()
            follow = out[value_column(par, fu)].to_numpy()
            col = change_column(par, fu)
            out[col] = proportional_change_pct(base, follow)
            for i in np.flatnonzero(np.isnan(out[col].to_numpy())):
                if not has_fu.iloc[i]:
                    reason = f"no {fu} scan"
                elif np.isnan(base[i]) or np.isnan(follow[i]):
                    reason = f"{col}: missing value"
                else:
                    reason = f"{col}: baseline is 0"
                if reason not in notes[i]:
                    notes[i].append(reason)
    out[CHANGE_NOTES_COLUMN] = [join_notes(n) for n in notes]
    return out


def _check_clinical(clinical: pd.DataFrame, source: str, *, time_col: str, event_col: str):
    time = pd.to_numeric(clinical[time_col], errors="coerce")
    bad = clinical["patient_id"][time.isna() | (time < 0)].tolist()
    if bad:
        raise InputError(
            f"{source}: column {time_col!r} must be a number >= 0; fix patient(s) {bad}"
        )
    event = pd.to_numeric(clinical[event_col], errors="coerce")
    bad = clinical["patient_id"][~event.isin([0, 1])].tolist()
    if bad:
        raise InputError(
            f"{source}: column {event_col!r} must be 0 (censored) or 1 (event at "
            f"{time_col!r}); fix patient(s) {bad}"
        )
    if "who_grade" in clinical.columns:
        grade = clinical["who_grade"]
        bad = clinical["patient_id"][grade.notna() & ~grade.isin(WHO_GRADE_LEVELS)].tolist()
        if bad:
            raise InputError(
                f"{source}: column 'who_grade' must be one of "
                f"{', '.join(WHO_GRADE_LEVELS)} (or empty); fix patient(s) {bad}"
            )
