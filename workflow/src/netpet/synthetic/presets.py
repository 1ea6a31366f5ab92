"""Settings of the synthetic cohort: presets, defaults and validation.

``settings`` is the ``synthetic:`` section of the workflow config.  :func:`resolve_settings`
merges it over the chosen preset and checks every key, so the rest of the subpackage can
index the dict without defaults of its own.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from netpet.errors import InputError

HEADER_VARIANTS = ("siemens", "ge", "philips", "midnight", "time_only", "ge_jitter")
"""Allowed header variants.  ``ge_jitter`` (GE slice positions: 0.01 mm rounding and bed-boundary
steps) is opt-in: its positions are up to 0.085 mm off the truth grid, so the cohort's exact
geometry checks would not hold for it."""
MAX_SHIFT_VOX = 2
"""The body moves by up to this many PET voxels per axis between scans."""
MAX_DISTINCT_SHIFTS = (2 * MAX_SHIFT_VOX + 1) ** 3 - 1
"""Non-zero whole-voxel shifts within +-MAX_SHIFT_VOX per axis (``distinct_body_shifts``)."""
WHO_GRADES = ("G1", "G2", "G3")
PRIMARY_SITES = ("pancreas", "small_bowel", "unknown")
HAZARD_TERMS = ("dwtv", "dtre", "who_grade")

LONGITUDINAL_EVENT_KEYS: dict[str, Any] = {
    "split_probability": 0.0,  # chance per follow-up that a baseline lesion splits in two
    "new_lesion_resolve_probability": 0.0,  # chance a new lesion is gone at the next scan
    "distinct_body_shifts": False,  # every follow-up's body shift non-zero and its own
}
"""Settings of the lesion-tracking events, with their off values (the defaults).  Their draws
come from streams of their own, so with these values the cohort is the one made before they
existed; :func:`settings_record` leaves them out of ``truth/settings.json`` then, so its bytes
match too."""

# Every key, its default and a one-line meaning (the lead copies these into config.yaml).
_DEFAULT: dict[str, Any] = {
    "enabled": True,  # the workflow's switch (generate and analyse this cohort); unused here
    "name": "default",  # folder name under resources/synthetic/
    "seed": 20240607,  # master seed: same settings -> byte-identical files
    "preset": "default",  # default (small grids, fast) | clinical (scanner-like grids)
    "n_patients": 24,  # number of patients (any number; generated one by one)
    "n_men": 10,  # exact number of men (the rest are women)
    "age_median": 56.5,  # exact median age, years (integer or .5 for an even count)
    "age_min": 32,  # exact youngest age, years
    "age_max": 74,  # exact oldest age, years
    "who_grade_proportions": {"G1": 0.375, "G2": 0.5, "G3": 0.125},  # rounded to exact counts
    "primary_site_proportions": {"pancreas": 0.4, "small_bowel": 0.5, "unknown": 0.1},
    "timepoints": ["basal", "interim"],  # first is the baseline; any number of follow-ups
    "months_between_scans": 4.0,  # mean spacing of scans (interim after 2 PRRT cycles)
    "baseline_hazard_per_month": 0.006,  # h0 of the exponential PFS model (low groups, G1)
    "hr_dwtv_high": 3.0,  # true hazard ratio of dWTV >= dwtv_cut_percent (joint model)
    "hr_dtre_high": 3.5,  # true hazard ratio of dTRE >= dtre_cut_percent (joint model)
    "hr_who_g2": 1.5,  # true hazard ratio of WHO G2 versus G1
    "hr_who_g3": 3.0,  # true hazard ratio of WHO G3 versus G1
    # Indicators in the linear predictor.  Default: dTRE group and WHO grade; dWTV's effect
    # then comes through its correlation with dTRE (the two groups hold almost the same
    # patients), so both univariate HRs resemble the published ones (~3, STUDY.md section 1).
    "hazard_terms": ["dtre", "who_grade"],
    "dwtv_cut_percent": -10.0,  # dWTV >= cut is the true "high" group
    "dtre_cut_percent": -21.0,  # dTRE >= cut is the true "high" group
    "response_mean_log": -0.05,  # mean per-patient log volume change basal -> interim
    "response_sd_log": 0.55,  # between-patient SD of that log change
    "followup_months": 48.0,  # administrative end of follow-up after the first entry
    "accrual_months": 24.0,  # patients enter uniformly over this time (staggered censoring)
    "n_progressions": 16,  # exact number of PFS events (null: whatever the model draws)
    "lesions_median": 9,  # median number of baseline lesions per patient
    "lesions_max": 40,  # at most this many baseline lesions
    "noise": True,  # Poisson-like PET noise (false: noise-free PET for accuracy checks)
    "liver_cv": 0.15,  # coefficient of variation of PET noise in normal liver
    "psf_fwhm_mm": 7.0,  # Gaussian point-spread of the PET, mm (>= 6)
    "ct_noise_hu": 12.0,  # SD of CT noise, HU
    "write_truth_suv": False,  # also write truth/suv/<patient>/<timepoint>.nii.gz (float32)
    # Cycled over scans; add ge_jitter for GE Discovery ST slice positions (opt-in).
    "header_variants": ["siemens", "ge", "philips", "midnight", "time_only"],
    "extra_series_fraction": 0.4,  # share of scans with a NAC PET or CT scout beside them
    "include_head": False,  # FOV from the vertex (pituitary in view) instead of the chest
    **LONGITUDINAL_EVENT_KEYS,  # events for lesion tracking, all off
    "pet": {  # PET grid
        "matrix": 96,  # in-plane voxels (square)
        "pixel_mm": 4.0,  # in-plane voxel size, mm
        "slice_mm": 4.0,  # slice spacing = thickness, mm
        "n_slices": 140,  # slices (axial FOV = n_slices * slice_mm)
    },
    "ct": {  # CT grid: same frame of reference and in-plane centre; starts at the PET bottom
        "matrix": 128,
        "pixel_mm": 3.0,
        "slice_mm": 5.0,
        "n_slices": 112,
    },
}

PRESETS: dict[str, dict[str, Any]] = {
    # Small grids: the 24-patient cohort is written in well under a minute.
    "default": {},
    # Scanner-like grids: Siemens-like 200 x 200 PET at 4.07 mm, 512 x 512 CT, vertex to
    # upper thigh.
    "clinical": {
        "n_patients": 4,
        "n_men": 2,
        "age_median": 56.5,
        "age_min": 32,
        "age_max": 74,
        "n_progressions": None,
        "include_head": True,
        "pet": {"matrix": 200, "pixel_mm": 4.07283, "slice_mm": 3.0, "n_slices": 360},
        "ct": {"matrix": 512, "pixel_mm": 0.9765625, "slice_mm": 5.0, "n_slices": 216},
    },
    # Tiny grids for unit tests.
    "tiny": {
        "n_patients": 3,
        "n_men": 1,
        "age_median": 56,
        "age_min": 40,
        "age_max": 70,
        "n_progressions": None,
        "lesions_median": 4,
        "lesions_max": 8,
        "extra_series_fraction": 0.5,
        "pet": {"matrix": 64, "pixel_mm": 6.0, "slice_mm": 6.0, "n_slices": 64},
        "ct": {"matrix": 80, "pixel_mm": 4.8, "slice_mm": 8.0, "n_slices": 48},
    },
}


def default_settings(preset: str = "default") -> dict[str, Any]:
    """Return the full settings dict of a preset (every key, with its value).

    Parameters
    ----------
    preset : str
        A key of :data:`PRESETS`.
    """
    if preset not in PRESETS:
        raise InputError(
            f"synthetic settings: key 'preset' is {preset!r}; use one of {sorted(PRESETS)}"
        )
    out = copy.deepcopy(_DEFAULT)
    for key, value in copy.deepcopy(PRESETS[preset]).items():
        if isinstance(value, dict) and key in ("pet", "ct"):
            out[key].update(value)
        else:
            out[key] = value
    out["preset"] = preset
    if preset != "default":
        out["name"] = preset
    return out


def settings_record(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as ``truth/settings.json`` records them.

    Every key of the resolved ``settings`` except the :data:`LONGITUDINAL_EVENT_KEYS` that
    hold their off value (cohorts that do not use them keep the file they had before).
    """
    return {
        key: value
        for key, value in settings.items()
        if not (key in LONGITUDINAL_EVENT_KEYS and value == LONGITUDINAL_EVENT_KEYS[key])
    }


def _fail(key: str, problem: str, fix: str) -> InputError:
    return InputError(f"synthetic settings: key '{key}' {problem}; {fix}")


def resolve_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """Merge ``settings`` over its preset's defaults and validate every key.

    Parameters
    ----------
    settings : dict or None
        The ``synthetic:`` config section; missing keys take the preset's values.

    Returns
    -------
    dict
        A complete, validated settings dict.

    Raises
    ------
    InputError
        On an unknown key or preset, or a value out of range; the message names the key.
    """
    settings = dict(settings or {})
    preset = settings.get("preset", "default")
    out = default_settings(preset)
    for key, value in settings.items():
        if key not in out:
            raise _fail(key, "is unknown", f"use only these keys: {sorted(out)}")
        if key in ("pet", "ct"):
            if not isinstance(value, dict):
                raise _fail(key, "must be a mapping", "give matrix, pixel_mm, slice_mm, n_slices")
            for sub in value:
                if sub not in out[key]:
                    raise _fail(f"{key}.{sub}", "is unknown", f"use {sorted(out[key])}")
            out[key] = {**out[key], **value}
        else:
            out[key] = copy.deepcopy(value)
    _validate(out)
    return out


def _validate(s: dict[str, Any]) -> None:
    def number(key, lo=-math.inf, hi=math.inf, *, integer=False, value=None):
        v = s[key] if value is None else value
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if ok and integer:
            ok = float(v).is_integer()
        if not ok or not lo <= v <= hi:
            kind = "an integer" if integer else "a number"
            raise _fail(key, f"is {v!r}", f"give {kind} in [{lo}, {hi}]")

    if not isinstance(s["name"], str) or not s["name"] or "/" in s["name"]:
        raise _fail("name", f"is {s['name']!r}", "give a non-empty folder name without '/'")
    number("seed", 0, 2**63 - 1, integer=True)
    number("n_patients", 1, 1_000_000, integer=True)
    number("n_men", 0, s["n_patients"], integer=True)
    number("age_min", 0, 120, integer=True)
    number("age_max", s["age_min"], 120, integer=True)
    number("age_median", s["age_min"], s["age_max"])
    if s["n_patients"] % 2 == 0 and not float(2 * s["age_median"]).is_integer():
        raise _fail("age_median", "is not a whole or half year", "give e.g. 56 or 56.5")
    if s["n_patients"] % 2 == 1 and not float(s["age_median"]).is_integer():
        raise _fail("age_median", "must be whole years for an odd n_patients", "give e.g. 56")
    for key, allowed in (
        ("who_grade_proportions", WHO_GRADES),
        ("primary_site_proportions", PRIMARY_SITES),
    ):
        props = s[key]
        if not isinstance(props, dict) or not props or set(props) - set(allowed):
            raise _fail(key, f"is {props!r}", f"give a mapping with keys from {allowed}")
        for k, v in props.items():
            number(f"{key}.{k}", 0, 1, value=v)
        if abs(sum(props.values()) - 1) > 1e-6:
            raise _fail(key, "does not sum to 1", "make the proportions add up to 1")
    tps = s["timepoints"]
    if (
        not isinstance(tps, list)
        or len(tps) < 2
        or len(set(tps)) != len(tps)
        or not all(isinstance(t, str) and t.isidentifier() for t in tps)
    ):
        raise _fail(
            "timepoints", f"is {tps!r}", "give >= 2 distinct labels such as [basal, interim]"
        )
    number("months_between_scans", 0.5, 60)
    number("baseline_hazard_per_month", 1e-6, 10)
    for key in ("hr_dwtv_high", "hr_dtre_high", "hr_who_g2", "hr_who_g3"):
        number(key, 1e-3, 1e3)
    terms = s["hazard_terms"]
    if not isinstance(terms, list) or set(terms) - set(HAZARD_TERMS):
        raise _fail("hazard_terms", f"is {terms!r}", f"give a list from {HAZARD_TERMS}")
    number("dwtv_cut_percent", -100, 1000)
    number("dtre_cut_percent", -100, 1000)
    number("response_mean_log", -3, 3)
    number("response_sd_log", 0, 3)
    number("followup_months", 1, 600)
    number("accrual_months", 0, s["followup_months"] - 1e-9)
    if s["n_progressions"] is not None:
        number("n_progressions", 0, s["n_patients"], integer=True)
    number("lesions_max", 1, 200, integer=True)
    number("lesions_median", 1, s["lesions_max"], integer=True)
    for key in ("enabled", "noise", "write_truth_suv", "include_head", "distinct_body_shifts"):
        if not isinstance(s[key], bool):
            raise _fail(key, f"is {s[key]!r}", "give true or false")
    number("liver_cv", 0, 1)
    number("psf_fwhm_mm", 6.0, 20.0)
    number("ct_noise_hu", 0, 200)
    variants = s["header_variants"]
    if not isinstance(variants, list) or not variants or set(variants) - set(HEADER_VARIANTS):
        raise _fail("header_variants", f"is {variants!r}", f"give a list from {HEADER_VARIANTS}")
    number("extra_series_fraction", 0, 1)
    number("split_probability", 0, 1)
    number("new_lesion_resolve_probability", 0, 1)
    if s["distinct_body_shifts"] and len(tps) - 1 > MAX_DISTINCT_SHIFTS:
        raise _fail(
            "distinct_body_shifts",
            f"cannot hold for {len(tps) - 1} follow-ups",
            f"use at most {MAX_DISTINCT_SHIFTS} follow-ups or set it to false",
        )
    for grid in ("pet", "ct"):
        number(f"{grid}.matrix", 16, 1024, integer=True, value=s[grid]["matrix"])
        number(f"{grid}.pixel_mm", 0.3, 10, value=s[grid]["pixel_mm"])
        number(f"{grid}.slice_mm", 0.5, 10, value=s[grid]["slice_mm"])
        number(f"{grid}.n_slices", 8, 2000, integer=True, value=s[grid]["n_slices"])
