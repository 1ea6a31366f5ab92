"""Progression-free and overall survival of the synthetic cohort (proportional hazards).

Model (exponential baseline, months)::

    h(t) = h0 * exp(b_wtv * 1[dWTV >= cut_wtv] + b_tre * 1[dTRE >= cut_tre]
                    + b_g2 * 1[G2] + b_g3 * 1[G3])

with ``b = ln(HR)`` from the settings and only the terms listed in ``hazard_terms``.
dWTV and dTRE are the patient's true proportional changes (%) from the baseline scan to the
first follow-up.  The configured HRs are the *conditional* hazard ratios of this joint model:
a Cox model with the same covariates estimates them; a univariate dWTV model estimates a
marginal HR that also carries the correlated dTRE effect.

Censoring: patients enter uniformly over ``accrual_months``; follow-up ends
``followup_months`` after the first entry, so censoring times are independent of the event
times.  With ``n_progressions`` set, whole draws of (event, censoring) times are repeated
with sub-seeds 0, 1, 2, ... until exactly that many events occur (deterministic).
Overall survival: death follows progression after an exponential time (median 30 months);
no deaths without progression.
"""

from __future__ import annotations

import math

import numpy as np

from netpet.errors import InputError

_STREAM_OUTCOME = 2
POST_PROGRESSION_MEDIAN_MONTHS = 30.0
MAX_ATTEMPTS = 100_000


def linear_predictor(dwtv_high, dtre_high, who_grade, settings: dict) -> np.ndarray:
    """Linear predictor ``sum(b_j x_j)`` of the PFS hazard model (dimensionless).

    Parameters
    ----------
    dwtv_high, dtre_high : array-like of bool
        True groups (delta >= cut).
    who_grade : array-like of str
        ``G1`` / ``G2`` / ``G3``.
    settings : dict
        Resolved synthetic settings (hazard ratios and ``hazard_terms``).
    """
    terms = settings["hazard_terms"]
    grade = np.asarray(who_grade)
    lp = np.zeros(grade.shape, dtype=float)
    if "dwtv" in terms:
        lp += math.log(settings["hr_dwtv_high"]) * np.asarray(dwtv_high, dtype=float)
    if "dtre" in terms:
        lp += math.log(settings["hr_dtre_high"]) * np.asarray(dtre_high, dtype=float)
    if "who_grade" in terms:
        lp += math.log(settings["hr_who_g2"]) * (grade == "G2")
        lp += math.log(settings["hr_who_g3"]) * (grade == "G3")
    return lp


def draw_outcomes(lp: np.ndarray, settings: dict) -> dict[str, np.ndarray]:
    """Draw PFS/OS (months) for patients with linear predictors ``lp``.

    Returns
    -------
    dict
        ``pfs_months``, ``progression`` (0/1), ``os_months``, ``death`` (0/1),
        ``outcome_attempt`` (the sub-seed that produced the draw).
    """
    h0 = settings["baseline_hazard_per_month"]
    target = settings["n_progressions"]
    n = len(lp)
    rate = h0 * np.exp(lp)
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([settings["seed"], _STREAM_OUTCOME, attempt])
        t_event = rng.exponential(1.0 / rate)
        entry = rng.uniform(0.0, settings["accrual_months"], n)
        censor = settings["followup_months"] - entry
        post = rng.exponential(POST_PROGRESSION_MEDIAN_MONTHS / math.log(2), n)
        event = t_event <= censor
        if target is None or int(event.sum()) == target:
            break
    else:
        raise InputError(
            f"synthetic settings: key 'n_progressions' = {target} was not reached in "
            f"{MAX_ATTEMPTS} draws; change baseline_hazard_per_month or followup_months"
        )
    pfs = np.where(event, t_event, censor)
    os_time = np.where(event, np.minimum(t_event + post, censor), censor)
    death = event & (t_event + post <= censor)
    return {
        "pfs_months": np.round(pfs, 2),
        "progression": event.astype(int),
        "os_months": np.round(os_time, 2),
        "death": death.astype(int),
        "outcome_attempt": np.full(n, attempt),
    }
