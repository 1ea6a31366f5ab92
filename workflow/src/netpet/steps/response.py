"""Cohort steps of response assessment: response criteria and their outcome statistics.

File in / file out, called by the workflow's scripts (STUDY.md section 2).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import pandas as pd

from netpet.config import load_sheet
from netpet.imaging.suv.body_size import lean_body_mass_janmahasatian_kg
from netpet.io import write_tsv
from netpet.stats.columns import N_NEW_COLUMN, SUL_PER_SUVBW_COLUMN
from netpet.stats.criteria import CriteriaSettings, response_criteria
from netpet.stats.criteria_outcomes import OutcomeSettings, criteria_km_table, criteria_outcomes


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def sul_per_suvbw(scans: pd.DataFrame, clinical: pd.DataFrame) -> pd.Series:
    """SUL per SUVbw of each scan: Janmahasatian lean body mass / body weight.

    From the scan's ``weight_kg`` and ``height_m`` (scans.tsv, as used for SUV) and the
    patient's ``sex`` (clinical sheet, M or F); NaN when one of them is missing.
    """
    sex = clinical.set_index("patient_id")["sex"] if "sex" in clinical else pd.Series(dtype=str)

    def ratio(row) -> float:
        weight, height = row.get("weight_kg"), row.get("height_m")
        patient_sex = sex.get(row["patient_id"])
        if patient_sex not in ("M", "F") or not all(
            isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in (weight, height)
        ):
            return math.nan
        return lean_body_mass_janmahasatian_kg(weight, height, patient_sex) / weight

    return scans.apply(ratio, axis=1).astype(float)


def criteria_step(
    *,
    scans_path: str | os.PathLike,
    lesions_path: str | os.PathLike,
    clinical_path: str | os.PathLike,
    new_lesions_path: str | os.PathLike | None,
    baseline: str,
    followups: Sequence[str],
    settings: Mapping,
    out: str | os.PathLike,
) -> None:
    """``criteria.tsv``: every response criterion per patient per follow-up.

    ``new_lesions_path`` is the lesion tracks' per-patient table (``patient_id``,
    ``timepoint``, ``n_new``); None when there are no tracks (new lesions then not assessed,
    as the table's notes say).
    """
    scans = _read(scans_path)
    clinical = load_sheet(clinical_path, "clinical")
    scans[SUL_PER_SUVBW_COLUMN] = sul_per_suvbw(scans, clinical)
    new_lesions = None
    if new_lesions_path is not None:
        new_lesions = _read(new_lesions_path)[["patient_id", "timepoint", N_NEW_COLUMN]]
    table = response_criteria(
        scans,
        baseline=baseline,
        followups=list(followups),
        lesions=_read(lesions_path),
        new_lesions=new_lesions,
        clinical=clinical,
        settings=CriteriaSettings.from_config(settings),
    )
    write_tsv(out, table)


def criteria_outcomes_step(
    *,
    criteria_path: str | os.PathLike,
    clinical_path: str | os.PathLike,
    patients_path: str | os.PathLike,
    scan_times_path: str | os.PathLike,
    timepoints: Sequence[str],
    time_col: str,
    event_col: str,
    settings: Mapping,
    outcomes_out: str | os.PathLike,
    km_out: str | os.PathLike,
    swimmer_out: str | os.PathLike,
) -> None:
    """``criteria_outcomes.tsv`` (response rate, PFS rates, log-rank, HR, concordance per
    criterion), ``criteria_km.tsv`` (Kaplan-Meier PFS by response class) and the swimmer
    plot of response by criterion over time (scan times from ``scan_times_path``)."""
    from netpet.figures.criteria import swimmer_figure

    criteria = _read(criteria_path)
    clinical = load_sheet(clinical_path, "clinical")
    outcome_settings = OutcomeSettings.from_config(settings.get("outcomes"))
    arguments = {"time_col": time_col, "event_col": event_col, "settings": outcome_settings}
    write_tsv(outcomes_out, criteria_outcomes(criteria, clinical, **arguments))
    write_tsv(km_out, criteria_km_table(criteria, clinical, **arguments))
    swimmer_figure(
        criteria,
        _read(patients_path),
        list(timepoints),
        scan_times=_read(scan_times_path),
        time_col=time_col,
        event_col=event_col,
        path=swimmer_out,
    )
