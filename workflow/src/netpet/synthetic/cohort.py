"""The synthetic cohort table: demographics, lesion plans, true deltas and outcomes.

Everything here is cheap (no images): :func:`draw_cohort` gives the whole cohort's clinical
and truth table for any number of patients.  Each patient's draws come from its own random
stream ``default_rng([seed, stream, patient_index])``, so a patient's lesions do not depend
on how many patients the cohort has or in which process they are generated.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from netpet.synthetic import outcomes
from netpet.synthetic.lesions import Lesion, draw_lesions
from netpet.synthetic.presets import resolve_settings

STREAM_COHORT = 0
STREAM_LESIONS = 1
STREAM_SCAN = 3
# Streams of the optional tracking events (splits, resolving new lesions; distinct body
# shifts), so switching them on leaves every other draw unchanged.
STREAM_LESION_EVENTS = 4
STREAM_SCENE_EVENTS = 5
KI67_RANGE = {"G1": (0.5, 2.9), "G2": (3.0, 20.0), "G3": (21.0, 45.0)}  # WHO 2022, %


@dataclass
class PatientPlan:
    """A patient's lesions and per-scan truth summary (no images)."""

    lesions: list[Lesion]
    wtv_ml: list[float]
    tre: list[float]
    suvmax: list[float]
    lesion_count: list[int]


def patient_id(index: int, n_patients: int) -> str:
    """Study patient ID of the 0-based ``index`` (``NET001``, ...)."""
    return f"NET{index + 1:0{max(3, len(str(n_patients)))}d}"


def pet_spacing_mm(settings: dict) -> tuple[float, float, float]:
    """PET voxel size (x, y, z), mm."""
    pet = settings["pet"]
    return (float(pet["pixel_mm"]), float(pet["pixel_mm"]), float(pet["slice_mm"]))


def _exact_counts(proportions: dict[str, float], n: int) -> dict[str, int]:
    """Largest-remainder rounding of ``n * proportions`` to counts that sum to ``n``."""
    keys = list(proportions)
    raw = np.array([proportions[k] * n for k in keys])
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return dict(zip(keys, (int(c) for c in counts), strict=True))


def _exact_ages(rng: np.random.Generator, settings: dict, n: int) -> np.ndarray:
    """Integer ages with exactly the configured median and, from 3 patients on, min and max.

    For an even ``n`` the two middle ages average to the median (56 and 57 for 56.5).
    """
    lo, hi, med = settings["age_min"], settings["age_max"], settings["age_median"]
    half = n // 2
    if n % 2:
        mid_lo = mid_hi = int(med)
    else:
        mid_lo, mid_hi = math.floor(med), math.ceil(med)
    lower = rng.integers(lo, mid_lo + 1, half)
    upper = rng.integers(mid_hi, hi + 1, half)
    if n % 2 == 0 and half:
        lower[-1], upper[0] = mid_lo, mid_hi
    if half >= (1 if n % 2 else 2):
        lower[0], upper[-1] = lo, hi
    middle = [mid_lo] if n % 2 else []
    return np.sort(np.concatenate([lower, middle, upper]).astype(int))


def patient_plan(settings: dict, index: int, primary_site: str) -> PatientPlan:
    """Draw patient ``index``'s lesions and the per-scan truth sums.

    WTV (mL) = sum of true lesion volumes; TRE (mL x SUV) = sum of volume x SUVmean;
    SUVmax = max of true lesion SUVmax (NaN when no lesion is present).  Tracking events come
    from the patient's stream ``default_rng([seed, STREAM_LESION_EVENTS, index])``.
    """
    rng = np.random.default_rng([settings["seed"], STREAM_LESIONS, index])
    events_rng = np.random.default_rng([settings["seed"], STREAM_LESION_EVENTS, index])
    response = rng.normal(settings["response_mean_log"], settings["response_sd_log"])
    n_tp = len(settings["timepoints"])
    lesions = draw_lesions(
        rng,
        n_timepoints=n_tp,
        primary_site=primary_site,
        spacing_mm=pet_spacing_mm(settings),
        settings=settings,
        response_log=response,
        events_rng=events_rng,
    )
    wtv, tre, smax, count = [], [], [], []
    for t in range(n_tp):
        tr = [les.truth[t] for les in lesions if les.present[t]]
        wtv.append(sum(x["volume_ml"] for x in tr))
        tre.append(sum(x["volume_ml"] * x["suvmean"] for x in tr))
        smax.append(max((x["suvmax"] for x in tr), default=math.nan))
        count.append(len(tr))
    return PatientPlan(lesions, wtv, tre, smax, count)


def percent_change(value: float, base: float) -> float:
    """``(value - base) / base * 100`` (%); NaN when ``base`` is 0."""
    return (value - base) / base * 100.0 if base > 0 else math.nan


@functools.lru_cache(maxsize=4)
def _draw_cohort_cached(settings_json: str) -> pd.DataFrame:
    settings = json.loads(settings_json)
    n = settings["n_patients"]
    rng = np.random.default_rng([settings["seed"], STREAM_COHORT])
    sex = np.array(["M"] * settings["n_men"] + ["F"] * (n - settings["n_men"]))
    rng.shuffle(sex)
    ages = _exact_ages(rng, settings, n)
    rng.shuffle(ages)
    grades = _exact_counts(settings["who_grade_proportions"], n)
    grade = np.array([g for g, c in grades.items() for _ in range(c)])
    rng.shuffle(grade)
    sites = _exact_counts(settings["primary_site_proportions"], n)
    site = np.array([s for s, c in sites.items() for _ in range(c)])
    rng.shuffle(site)
    ki67 = np.array([round(rng.uniform(*KI67_RANGE[g]), 1) for g in grade])
    men = sex == "M"
    weight = np.clip(np.where(men, rng.normal(80, 12, n), rng.normal(68, 12, n)), 50, 110)
    height = np.clip(np.where(men, rng.normal(1.76, 0.07, n), rng.normal(1.63, 0.06, n)), 1.5, 1.95)

    tps = settings["timepoints"]
    rows = []
    for i in range(n):
        plan = patient_plan(settings, i, str(site[i]))
        row = {"wtv_ml_" + tp: plan.wtv_ml[t] for t, tp in enumerate(tps)}
        row.update({"tre_" + tp: plan.tre[t] for t, tp in enumerate(tps)})
        for t, tp in enumerate(tps[1:], start=1):
            row["dwtv_pct_" + tp] = percent_change(plan.wtv_ml[t], plan.wtv_ml[0])
            row["dtre_pct_" + tp] = percent_change(plan.tre[t], plan.tre[0])
            row["dsuvmax_pct_" + tp] = percent_change(plan.suvmax[t], plan.suvmax[0])
        rows.append(row)
    truth = pd.DataFrame(rows)
    first = tps[1]
    dwtv_high = truth["dwtv_pct_" + first].fillna(-100) >= settings["dwtv_cut_percent"]
    dtre_high = truth["dtre_pct_" + first].fillna(-100) >= settings["dtre_cut_percent"]
    lp = outcomes.linear_predictor(dwtv_high, dtre_high, grade, settings)
    out = outcomes.draw_outcomes(lp, settings)
    table = pd.DataFrame(
        {
            "patient_index": np.arange(n),
            "patient_id": [patient_id(i, n) for i in range(n)],
            "sex": sex,
            "age_years": ages.astype(int),
            "who_grade": grade,
            "ki67": ki67,
            "primary_site": site,
            "weight_kg": np.round(weight, 1),
            "height_m": np.round(height, 2),
            **out,
            "dwtv_high": dwtv_high.astype(int).to_numpy(),
            "dtre_high": dtre_high.astype(int).to_numpy(),
            "linear_predictor": lp,
        }
    )
    return pd.concat([table, truth], axis=1)


CLINICAL_COLUMNS = (
    "patient_id",
    "sex",
    "age_years",
    "who_grade",
    "ki67",
    "primary_site",
    "pfs_months",
    "progression",
    "os_months",
    "death",
)


def scan_index(settings: dict | None = None) -> pd.DataFrame:
    """The cohort's scans, cheaply (nothing drawn): one row per (patient_id, timepoint).

    Rows are in the order of ``samples.tsv``: patients ``NET001``..., each with all time
    points in the configured order.
    """
    resolved = resolve_settings(settings)
    n = resolved["n_patients"]
    rows = [(patient_id(i, n), tp) for i in range(n) for tp in resolved["timepoints"]]
    return pd.DataFrame(rows, columns=["patient_id", "timepoint"])


def draw_cohort(settings: dict | None = None) -> pd.DataFrame:
    """The cohort table without images: one row per patient.

    Parameters
    ----------
    settings : dict, optional
        The ``synthetic:`` config section (validated and completed from its preset).

    Returns
    -------
    pandas.DataFrame
        :data:`CLINICAL_COLUMNS` plus ``patient_index``, ``weight_kg``, ``height_m``,
        ``wtv_ml_<tp>``, ``tre_<tp>``, ``dwtv_pct_<tp>``, ``dtre_pct_<tp>``,
        ``dsuvmax_pct_<tp>`` per follow-up, the true groups ``dwtv_high`` / ``dtre_high``
        (first follow-up versus cut), ``linear_predictor`` and ``outcome_attempt``.
    """
    resolved = resolve_settings(settings)
    return _draw_cohort_cached(json.dumps(resolved, sort_keys=True)).copy()
