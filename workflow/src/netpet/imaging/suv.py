"""Vendor-neutral standardised uptake value (SUV) from PET DICOM headers.

SUV is computed as the QIBA SUV pseudo-code and the IBSI SUV manual define it (QIBA,
"Standardized Uptake Value (SUV)", qibawiki.rsna.org; IBSI SUV computation manual,
github.com/oncoray/suv_computation; STUDY.md section 3.2):

    SUV = C(t) [Bq/mL] * N / D(t) [Bq]

with C the activity concentration of a voxel, D the injected activity decayed to the time the
concentration refers to, and N the body-size normaliser: body weight in g (SUVbw, g/mL), lean
body mass in g (SUL, g/mL) or body surface area in cm2 (SUVbsa, cm2/mL).

The entry point is :func:`suv_scale_factors`; it returns one factor per slice so that
``SUV = (stored value * RescaleSlope + RescaleIntercept) * factor[slice]``.  The rest of the
module is small pure functions, each with its formula and its reference.

Header conventions handled (one rule each, all documented in the functions below):

* scan reference time: SeriesDate/SeriesTime unless it is after the earliest acquisition; then
  the GE private scan datetime (0009,100D), else the QIBA back-computation from the acquisition
  start, Frame Reference Time and Actual Frame Duration, else the earliest acquisition;
* injection time: RadiopharmaceuticalStartDateTime, else RadiopharmaceuticalStartTime on the
  scan date; the day before (a scan across midnight) only when that time of day is after the
  scan reference time AND the uptake time read that way is plausible (see the next point),
  else an error naming both times and their attributes;
* plausible uptake time: at most ``max_uptake_half_lives`` (default 6, config
  ``suv.max_uptake_half_lives``) half-lives of the radionuclide (Ga-68: 6 x 67.7 min = 6.8 h;
  F-18: 11 h), for every source of the injection time; longer is an error, as is an
  injection after the scan start;
* Decay Correction START / ADMIN / NONE;
* Units BQML, CNTS (Philips private scale factors), GML and CM2ML (SUV stored by the scanner,
  converted back to SUVbw from the declared SUV Type);
* a Radionuclide Total Dose of at most 2000 is read as MBq (see :func:`dose_bq_from_header`).

Private tags are read by tag number: some files carry no private-creator element.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from netpet.errors import InputError

SUV_TYPES = ("bw", "lbm", "bsa")
"""SUV types :func:`suv_scale_factors` can produce: body weight, lean body mass, body surface."""

OVERRIDE_KEYS = (
    "weight_kg",
    "height_m",
    "injected_activity_mbq",
    "injection_datetime",
    "sex",
    "half_life_s",
)
"""Keys of ``overrides`` (samples-sheet columns) that win over the DICOM header."""

WEIGHT_RANGE_KG = (20.0, 300.0)
HEIGHT_RANGE_M = (0.5, 2.5)
DOSE_RANGE_MBQ = (1.0, 2000.0)
HALF_LIFE_RANGE_S = (60.0, 1.0e7)
MAX_UPTAKE_HALF_LIVES = 6.0
"""Default longest plausible uptake time, in half-lives of the radionuclide.

After 6 half-lives 1.6 % of the activity is left: no PET protocol images that late (Ga-68:
6.8 h; F-18: 11 h; Zr-89: 20 days).  A longer uptake time is a header or date error (e.g. a
time-only injection read as the day before), which would multiply SUV by 2 ** (extra
half-lives).
"""
MBQ_DOSE_LIMIT = 2000.0
"""A Radionuclide Total Dose at or below this number is taken as MBq, above it as Bq."""

GE_SCAN_DATETIME_TAG = 0x0009100D
PHILIPS_SUV_FACTOR_TAG = 0x70531000
PHILIPS_ACTIVITY_FACTOR_TAG = 0x70531009

# DICOM attribute -> tag, for error messages.
_TAGS = {
    "PatientWeight": "(0010,1030)",
    "PatientSize": "(0010,1020)",
    "PatientSex": "(0010,0040)",
    "RadionuclideTotalDose": "(0018,1074)",
    "RadionuclideHalfLife": "(0018,1075)",
    "RadiopharmaceuticalStartDateTime": "(0018,1078)",
    "RadiopharmaceuticalStartTime": "(0018,1072)",
    "RadiopharmaceuticalInformationSequence": "(0054,0016)",
    "SeriesDate": "(0008,0021)",
    "SeriesTime": "(0008,0031)",
    "AcquisitionDate": "(0008,0022)",
    "AcquisitionTime": "(0008,0032)",
    "AcquisitionDateTime": "(0008,002A)",
    "FrameReferenceTime": "(0054,1300)",
    "ActualFrameDuration": "(0018,1242)",
    "Units": "(0054,1001)",
    "DecayCorrection": "(0054,1102)",
    "SUVType": "(0054,1006)",
}


def _attr(keyword: str) -> str:
    return f"{keyword} {_TAGS[keyword]}"


def _tagged(text: str) -> str:
    """``text`` (e.g. a time source) with the tag after each DICOM keyword it names."""
    return re.sub(
        r"\b(" + "|".join(sorted(_TAGS, key=len, reverse=True)) + r")\b",
        lambda match: _attr(match.group(1)),
        text,
    )


@dataclass(frozen=True)
class SuvProvenance:
    """How the SUV of one PET series was computed; nothing identifying, ``asdict`` serialisable.

    Times are relative (seconds), never absolute dates.  ``overrides_applied`` lists the
    samples-sheet values that replaced header values.
    """

    suv_type: str
    units: str
    decay_correction: str | None
    stored_suv_type: str | None
    scan_reference_time_source: str | None
    injection_time_source: str | None
    slice_time_source: str | None
    uptake_time_s: float | None
    dose_bq: float | None
    dose_unit_in_header: str | None
    decayed_dose_bq: float | None
    weight_kg: float | None
    height_m: float | None
    sex: str | None
    half_life_s: float | None
    max_uptake_s: float | None
    normaliser: str
    normaliser_value: float
    pixel_scale_source: str
    n_slices: int
    factor_min: float
    factor_max: float
    overrides_applied: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# DICOM date/time values


def parse_date(value: str) -> dt.date:
    """Parse a DICOM DA value (``YYYYMMDD``; the old ``YYYY.MM.DD`` form too)."""
    text = str(value).strip().replace(".", "").replace("-", "")
    return dt.datetime.strptime(text[:8], "%Y%m%d").date()


def parse_time(value: str) -> dt.time:
    """Parse a DICOM TM value (``HH``, ``HHMM``, ``HHMMSS``, ``HHMMSS.FFFFFF``, ``HH:MM:SS``)."""
    text = str(value).strip().replace(":", "")
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", text)
    if match is None:
        raise ValueError(f"not a DICOM time: {value!r}")
    hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    return dt.time(int(hour), int(minute or 0), int(second or 0), micro)


def parse_datetime(value: str) -> dt.datetime:
    """Parse a DICOM DT value (``YYYYMMDDHHMMSS.FFFFFF``, optionally ``&ZZXX``) as naive time.

    A UTC offset is dropped: all times of a scan are taken in the scanner's local time, as
    DA/TM values are.
    """
    text = re.sub(r"[+-]\d{4}$", "", str(value).strip())
    date = parse_date(text[:8])
    clock = text[8:]
    time = parse_time(clock) if clock else dt.time(0)
    return dt.datetime.combine(date, time)


def parse_iso_datetime(value: str) -> dt.datetime:
    """Parse an ISO 8601 date-time (``2025-01-01T10:00[:00[.000]]``) as naive local time."""
    return dt.datetime.fromisoformat(str(value).strip().replace(" ", "T")).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# Physics and body-size formulas


def decay_factor(elapsed_s: float | np.ndarray, half_life_s: float) -> float | np.ndarray:
    """Fraction of activity left after ``elapsed_s`` seconds: ``exp(-ln 2 * t / T_half)``.

    Unitless; ``elapsed_s`` and ``half_life_s`` in seconds (radioactive decay law).
    """
    return np.exp(-math.log(2.0) * np.asarray(elapsed_s, dtype=float) / half_life_s)


def mean_count_rate_time_s(frame_duration_s: float, half_life_s: float) -> float:
    """Time after the frame start at which the decaying count rate equals its frame mean, s.

    ``t = (1 / lambda) * ln(lambda * T / (1 - exp(-lambda * T)))`` with
    ``lambda = ln 2 / T_half`` and ``T`` the frame duration (QIBA SUV pseudo-code, "average
    count rate time within frame").  Tends to ``T / 2`` for a long half-life.
    """
    decay_constant = math.log(2.0) / half_life_s
    decay_in_frame = decay_constant * frame_duration_s
    if decay_in_frame < 1e-12:
        return frame_duration_s / 2.0
    return math.log(decay_in_frame / -math.expm1(-decay_in_frame)) / decay_constant


def _sex_mf(sex: str | None, what: str) -> str:
    if sex in ("M", "F"):
        return sex
    raise ValueError(f"{what} needs PatientSex M or F, got {sex!r}")


def lean_body_mass_janmahasatian_kg(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg) by Janmahasatian et al., the LBM of SUL (PERCIST, IBSI).

    ``LBM = 9270 * W / (6680 + 216 * BMI)`` for men, ``9270 * W / (8780 + 244 * BMI)`` for
    women, with ``W`` in kg and ``BMI = W / H^2`` (H in m).  Janmahasatian S, et al.
    Quantification of lean bodyweight. Clin Pharmacokinet 2005;44:1051-65.
    """
    sex = _sex_mf(sex, "lean body mass (Janmahasatian)")
    bmi = weight_kg / height_m**2
    if sex == "M":
        return 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    return 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)


def lean_body_mass_james_kg(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg) by James ("James 128"), DICOM SUV Type LBM / LBMJAMES128.

    ``LBM = 1.10 * W - 128 * (W / H)^2`` for men and ``1.07 * W - 148 * (W / H)^2`` for women,
    with ``W`` in kg and ``H`` in cm.  James WPT. Research on obesity. London: HMSO, 1976;
    as used in Sugawara Y, et al. Radiology 1999;213:521-5.
    """
    sex = _sex_mf(sex, "lean body mass (James)")
    ratio = weight_kg / (height_m * 100.0)
    if sex == "M":
        return 1.10 * weight_kg - 128.0 * ratio**2
    return 1.07 * weight_kg - 148.0 * ratio**2


def ideal_body_weight_kg(height_m: float, sex: str | None) -> float:
    """Ideal body weight (kg) by Sugawara et al., DICOM SUV Type IBW.

    ``IBW = 48.0 + 1.06 * (H - 152)`` for men and ``45.5 + 0.91 * (H - 152)`` for women, H in
    cm (Sugawara Y, Zasadny KR, Neuhoff AW, Wahl RL. Radiology 1999;213:521-5).  For sex ``O``
    or unknown the mean of the two formulas, which is what the IBSI reference object DRO_2_2
    (PatientSex ``O``) was generated with.
    """
    height_cm = height_m * 100.0
    male = 48.0 + 1.06 * (height_cm - 152.0)
    female = 45.5 + 0.91 * (height_cm - 152.0)
    if sex == "M":
        return male
    if sex == "F":
        return female
    return (male + female) / 2.0


def body_surface_area_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area (m2) by Du Bois: ``0.007184 * W^0.425 * H^0.725``, W kg, H cm.

    Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if height and
    weight be known. Arch Intern Med 1916;17:863-71.
    """
    return 0.007184 * weight_kg**0.425 * (height_m * 100.0) ** 0.725


# Declared SUV type (DICOM SUV Type or ours) -> (normaliser name, unit, needs height, needs sex)
_NORMALISERS = {
    "BW": ("body weight", "g", False, False),
    "LBM": ("lean body mass (James)", "g", True, True),
    "LBMJAMES128": ("lean body mass (James)", "g", True, True),
    "LBMJANMA": ("lean body mass (Janmahasatian)", "g", True, True),
    "IBW": ("ideal body weight (Sugawara)", "g", True, False),
    "BSA": ("body surface area (Du Bois)", "cm2", True, False),
}
_TARGET_TYPE = {"bw": "BW", "lbm": "LBMJANMA", "bsa": "BSA"}


def normaliser(suv_type: str, weight_kg: float, height_m: float | None, sex: str | None) -> float:
    """Body-size normaliser N of an SUV type: g for BW/LBM/IBW, cm2 for BSA.

    ``suv_type`` is a DICOM SUV Type (BW, LBM, LBMJAMES128, LBMJANMA, IBW, BSA).  DICOM LBM is
    James's formula; our ``lbm`` (SUL) is Janmahasatian's (``LBMJANMA``).
    """
    if suv_type == "BW":
        return weight_kg * 1000.0
    if suv_type in ("LBM", "LBMJAMES128"):
        return lean_body_mass_james_kg(weight_kg, height_m, sex) * 1000.0
    if suv_type == "LBMJANMA":
        return lean_body_mass_janmahasatian_kg(weight_kg, height_m, sex) * 1000.0
    if suv_type == "IBW":
        return ideal_body_weight_kg(height_m, sex) * 1000.0
    if suv_type == "BSA":
        return body_surface_area_m2(weight_kg, height_m) * 1.0e4
    raise ValueError(f"unknown SUV type {suv_type!r}")


def dose_bq_from_header(value: float) -> tuple[float, str]:
    """Injected activity in Bq from Radionuclide Total Dose, and the unit it was read in.

    DICOM specifies Bq, but some systems write MBq.  No PET injection is 2 kBq or less and no
    injection in MBq is above 2000, so a value at or below :data:`MBQ_DOSE_LIMIT` (2000) is
    read as MBq (x 1e6), anything larger as Bq.  The plausibility range (1-2000 MBq) is checked
    afterwards, so values between 2 kBq and 1 MBq are rejected, not guessed.
    """
    value = float(value)
    if 0 < value <= MBQ_DOSE_LIMIT:
        return value * 1.0e6, "MBq"
    return value, "Bq"


# ---------------------------------------------------------------------------------------------
# Header access


def _value(ds, keyword: str):
    """Value of a standard attribute, None when absent or empty."""
    value = ds.get(keyword)
    if value is None or value == "" or (isinstance(value, list | tuple) and len(value) == 0):
        return None
    return value


def _private_value(ds, tag: int):
    """Value of a private element read by tag number (no private creator needed), or None.

    Elements read without their VR (UN) come as bytes; they are decoded as text.
    """
    if tag not in ds:
        return None
    value = ds[tag].value
    if isinstance(value, bytes):
        value = value.decode("latin-1").strip("\x00 ").split("\\")[0]
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None or value == "":
        return None
    return value


def _private_float(ds, tag: int) -> float | None:
    value = _private_value(ds, tag)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _radiopharmaceutical(ds):
    sequence = _value(ds, "RadiopharmaceuticalInformationSequence")
    if not sequence:
        return None
    return sequence[0]


def _combine(date, time, what: str) -> dt.datetime:
    try:
        return dt.datetime.combine(parse_date(date), parse_time(time))
    except ValueError:
        raise ValueError(f"{what} = {date!r}/{time!r} is not a DICOM date/time") from None


def _acquisition_datetime(ds) -> dt.datetime | None:
    """AcquisitionDateTime, else AcquisitionDate (else SeriesDate) + AcquisitionTime."""
    stamp = _value(ds, "AcquisitionDateTime")
    if stamp is not None:
        try:
            return parse_datetime(stamp)
        except ValueError:
            raise ValueError(
                f"{_attr('AcquisitionDateTime')} = {stamp!r} is not a DICOM DT"
            ) from None
    time = _value(ds, "AcquisitionTime")
    date = _value(ds, "AcquisitionDate") or _value(ds, "SeriesDate")
    if time is None or date is None:
        return None
    return _combine(date, time, f"{_attr('AcquisitionDate')}/{_attr('AcquisitionTime')}")


def _where(ds, index: int) -> str:
    """The file of a data set for messages (its name), else its slice index."""
    filename = getattr(ds, "filename", None)
    if isinstance(filename, str | os.PathLike) and str(filename):
        return f"file {os.path.basename(filename)}"
    return f"slice {index}"


def _acquisition_datetime_of(ds, index: int) -> dt.datetime | None:
    """:func:`_acquisition_datetime`, its ValueError naming the file."""
    try:
        return _acquisition_datetime(ds)
    except ValueError as error:
        raise ValueError(f"{_where(ds, index)}: {error}") from None


def _series_datetime(ds) -> dt.datetime | None:
    date, time = _value(ds, "SeriesDate"), _value(ds, "SeriesTime")
    if date is None or time is None:
        return None
    return _combine(date, time, f"{_attr('SeriesDate')}/{_attr('SeriesTime')}")


# ---------------------------------------------------------------------------------------------
# Times


def scan_reference_datetime(
    datasets: Sequence, *, half_life_s: float | None, source: str
) -> tuple[dt.datetime, str]:
    """The scan reference time (start of acquisition) of a series and where it came from.

    QIBA SUV pseudo-code and IBSI SUV manual: SeriesDate/SeriesTime, unless it is after the
    earliest acquisition date/time of the series (a post-processed or re-saved series); then
    the GE private scan datetime (0009,100D) when present; else, when Frame Reference Time
    (0054,1300) and Actual Frame Duration (0018,1242) are given, the QIBA back-computation
    ``acquisition start - frame reference time + mean count-rate time within the frame``
    (:func:`mean_count_rate_time_s`) for the earliest frame; else the earliest acquisition.
    """
    acquisitions = [(_acquisition_datetime_of(ds, i), i) for i, ds in enumerate(datasets)]
    acquisitions = [(stamp, i) for stamp, i in acquisitions if stamp is not None]
    try:
        series = _series_datetime(datasets[0])
    except ValueError as error:
        raise ValueError(f"{_where(datasets[0], 0)}: {error}") from None
    if series is not None and (not acquisitions or series <= min(acquisitions)[0]):
        return series, "SeriesDate/SeriesTime"
    for i, ds in enumerate(datasets):
        ge_value = _private_value(ds, GE_SCAN_DATETIME_TAG)
        if ge_value is not None:
            try:
                return parse_datetime(ge_value), "GE private scan datetime (0009,100D)"
            except ValueError:
                raise ValueError(
                    f"{_where(ds, i)}: GE private scan datetime (0009,100D) = {ge_value!r} is "
                    "not a DICOM DT"
                ) from None
    if not acquisitions:
        raise InputError(
            f"{source}: no scan time: {_attr('SeriesDate')}/{_attr('SeriesTime')} and "
            f"{_attr('AcquisitionDate')}/{_attr('AcquisitionTime')} are missing; the PET "
            "series needs them to decay-correct the dose (re-export the series with its times)"
        )
    earliest, index = min(acquisitions)
    ds = datasets[index]
    frame_reference_ms = _value(ds, "FrameReferenceTime")
    frame_duration_ms = _value(ds, "ActualFrameDuration")
    if (
        half_life_s is not None
        and frame_reference_ms is not None
        and frame_duration_ms is not None
        and float(frame_reference_ms) > 0
        and float(frame_duration_ms) > 0
    ):
        offset_s = mean_count_rate_time_s(float(frame_duration_ms) / 1000.0, half_life_s) - (
            float(frame_reference_ms) / 1000.0
        )
        return (
            earliest + dt.timedelta(seconds=offset_s),
            "AcquisitionTime - FrameReferenceTime + mean count-rate time (QIBA)",
        )
    return earliest, "earliest AcquisitionDate/AcquisitionTime"


def clock(stamp: dt.datetime) -> str:
    """Time of day ``HH:MM:SS`` of a date-time, for messages (dates are identifying)."""
    return stamp.strftime("%H:%M:%S")


def injection_datetime(
    ds,
    *,
    scan_reference: dt.datetime,
    source: str,
    scan_source: str = "scan reference time",
    max_uptake_s: float | None = None,
) -> tuple[dt.datetime, str]:
    """Injection (radiopharmaceutical start) date-time and where it came from.

    RadiopharmaceuticalStartDateTime (0018,1078) when present; else
    RadiopharmaceuticalStartTime (0018,1072) on the date of the scan reference time (the series
    date, or the acquisition date when the series date/time was rejected).  When that time of
    day is after the scan reference time, the injection is taken to be the day before (a scan
    across midnight) only if the uptake time read that way is at most ``max_uptake_s``
    (seconds; None: no limit); otherwise neither reading is plausible and it is an error
    naming both times and their attributes.
    """
    item = _radiopharmaceutical(ds)
    stamp = None if item is None else _value(item, "RadiopharmaceuticalStartDateTime")
    fix = "set injection_datetime (ISO 8601) in the samples sheet"
    if stamp is not None:
        try:
            return parse_datetime(stamp), "RadiopharmaceuticalStartDateTime"
        except ValueError:
            raise InputError(
                f"{source}: {_attr('RadiopharmaceuticalStartDateTime')} = {stamp!r} is not a "
                f"DICOM date-time; {fix}"
            ) from None
    time = None if item is None else _value(item, "RadiopharmaceuticalStartTime")
    if time is None:
        raise InputError(
            f"{source}: injection time missing: neither "
            f"{_attr('RadiopharmaceuticalStartDateTime')} nor "
            f"{_attr('RadiopharmaceuticalStartTime')} in "
            f"{_attr('RadiopharmaceuticalInformationSequence')}; set injection_datetime "
            "(ISO 8601) in the samples sheet"
        )
    try:
        injected = dt.datetime.combine(scan_reference.date(), parse_time(time))
    except ValueError:
        raise InputError(
            f"{source}: {_attr('RadiopharmaceuticalStartTime')} = {time!r} is not a DICOM "
            f"time; {fix}"
        ) from None
    if injected <= scan_reference:
        return injected, "RadiopharmaceuticalStartTime on scan date"
    day_before = injected - dt.timedelta(days=1)
    uptake_s = (scan_reference - day_before).total_seconds()
    if max_uptake_s is not None and uptake_s > max_uptake_s:
        after_s = (injected - scan_reference).total_seconds()
        raise InputError(
            f"{source}: injection time {clock(injected)} from "
            f"{_attr('RadiopharmaceuticalStartTime')} (no "
            f"{_attr('RadiopharmaceuticalStartDateTime')}, so no date) is {after_s / 60:.1f} min "
            f"after the scan reference time {clock(scan_reference)} ({_tagged(scan_source)}); read "
            "as the "
            f"day before, the uptake time would be {uptake_s / 3600:.1f} h, more than the "
            f"plausible {max_uptake_s / 3600:.1f} h (suv.max_uptake_half_lives), so neither "
            f"reading is plausible: check the header times or {fix}"
        )
    return day_before, "RadiopharmaceuticalStartTime, day before scan"


# ---------------------------------------------------------------------------------------------
# Entry point


def _clean_overrides(overrides: Mapping | None) -> dict:
    """Known override keys with a real value (None, NaN and '' mean "not given")."""
    clean = {}
    for key in OVERRIDE_KEYS:
        value = None if overrides is None else overrides.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, float) and math.isnan(value):
            continue
        clean[key] = value
    return clean


def _check_range(value, low, high, *, what: str, source: str, fix: str) -> float:
    if value is None:
        raise InputError(f"{source}: {what} is missing; {fix}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{source}: {what} = {value!r} is not a number; {fix}") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise InputError(
            f"{source}: {what} = {number:g} is outside the plausible range {low:g}-{high:g}; {fix}"
        )
    return number


def suv_scale_factors(
    datasets_sorted: Sequence,
    *,
    suv_type: str = "bw",
    overrides: Mapping | None = None,
    source: str,
    max_uptake_half_lives: float = MAX_UPTAKE_HALF_LIVES,
) -> tuple[np.ndarray, SuvProvenance]:
    """Per-slice factors turning rescaled PET pixel values into SUV.

    Parameters
    ----------
    datasets_sorted : sequence of pydicom.Dataset
        The headers of one PET series, one per slice, in the order of the image's z axis.
    suv_type : {"bw", "lbm", "bsa"}
        Body-weight SUV (g/mL, default), SUL with Janmahasatian lean body mass (g/mL), or
        SUVbsa with Du Bois body surface area (cm2/mL).
    overrides : mapping, optional
        Samples-sheet values that win over the header: ``weight_kg``, ``height_m``,
        ``injected_activity_mbq``, ``injection_datetime`` (ISO 8601, scanner local time),
        ``sex`` (M/F), ``half_life_s``.  Empty values (None, NaN, '') are ignored, and so are
        other keys (a whole samples-sheet row may be passed).
    source : str
        Names the scan in error messages (e.g. ``"P01/basal (/data/P01/pet)"``).
    max_uptake_half_lives : float
        The longest plausible uptake time, in half-lives of the radionuclide (config
        ``suv.max_uptake_half_lives``, default :data:`MAX_UPTAKE_HALF_LIVES`).

    Returns
    -------
    factors : numpy.ndarray, shape (n_slices,), float64
        ``SUV = (stored * RescaleSlope + RescaleIntercept) * factors[slice]``.
    provenance : SuvProvenance

    Raises
    ------
    InputError
        Missing or implausible weight (20-300 kg), height (0.5-2.5 m, when needed), dose
        (1-2000 MBq), half-life, or times (injection after the scan, uptake time over
        ``max_uptake_half_lives`` half-lives, a time-only injection after the scan that is
        implausible as the day before); an unsupported Units or Decay Correction.  Messages
        about one slice name its file.  The message names the scan, the DICOM attribute
        (keyword and tag) and the samples-sheet column that fixes it.

    Notes
    -----
    Activity units (BQML; CNTS with the Philips activity concentration scale factor
    (7053,1009), giving Bq/mL): ``factor = k * N / D_t`` with ``k`` the per-slice Philips
    factor (1 for BQML), ``N`` the normaliser (:func:`normaliser`) and ``D_t`` the injected
    activity decayed, by Decay Correction (0054,1102), to the scan reference time (START), not
    at all (ADMIN: images are corrected to the injection time), or to each slice's own time
    (NONE: scan reference time + Frame Reference Time, else acquisition start + mean count-rate
    time of the frame).

    SUV units (GML; CM2ML; CNTS with the Philips SUV scale factor (7053,1000), which gives
    SUVbw): the scanner stored ``SUV_x = C * N_x / D``; ``factor = k * N / N_x`` converts it
    to the requested type, with ``N_x`` from the declared SUV Type (0054,1006) (GML defaults
    to BW, CM2ML is BSA) and the header's own weight/height/sex, as the scanner used them.
    Dose and injection-time overrides cannot be applied to such images and are an error.
    """
    if suv_type not in SUV_TYPES:
        raise ValueError(f"suv_type must be one of {SUV_TYPES}, got {suv_type!r}")
    if not (isinstance(max_uptake_half_lives, int | float) and max_uptake_half_lives > 0):
        raise ValueError(f"max_uptake_half_lives must be > 0, got {max_uptake_half_lives!r}")
    if not datasets_sorted:
        raise InputError(f"{source}: the PET series has no images")
    given = _clean_overrides(overrides)
    applied: list[str] = []
    first = datasets_sorted[0]
    n_slices = len(datasets_sorted)

    units = str(_value(first, "Units") or "").upper()
    decay_correction = str(_value(first, "DecayCorrection") or "").upper() or None

    # Pixel convention: activity concentration or a stored SUV.
    scale = np.ones(n_slices)
    stored_type: str | None = None
    if units == "BQML":
        pixel_scale_source = "Units BQML"
    elif units == "CNTS":
        activity = [_private_float(ds, PHILIPS_ACTIVITY_FACTOR_TAG) for ds in datasets_sorted]
        suv = [_private_float(ds, PHILIPS_SUV_FACTOR_TAG) for ds in datasets_sorted]
        if all(v is not None and v > 0 for v in activity):
            # Preferred: our own decay and body-size handling (and overrides) then apply.
            scale = np.array(activity, dtype=float)
            pixel_scale_source = "Philips activity concentration scale factor (7053,1009)"
        elif all(v is not None and v > 0 for v in suv):
            scale = np.array(suv, dtype=float)
            stored_type = "BW"
            pixel_scale_source = "Philips SUV scale factor (7053,1000)"
        else:
            lacking = [
                _where(ds, i)
                for i, ds in enumerate(datasets_sorted)
                if not (activity[i] is not None and activity[i] > 0)
            ]
            listed = ", ".join(lacking[:10]) + (" ..." if len(lacking) > 10 else "")
            raise InputError(
                f"{source}: {_attr('Units')} is CNTS but the Philips private scale factors "
                "(7053,1000) SUV scale factor or (7053,1009) activity concentration scale "
                f"factor are missing in {len(lacking)} of {n_slices} slices ({listed}); export "
                "the series in BQML"
            )
    elif units == "GML":
        stored_type = str(_value(first, "SUVType") or "BW").upper()
        pixel_scale_source = f"Units GML, SUV Type {stored_type}"
    elif units == "CM2ML":
        stored_type = "BSA"
        pixel_scale_source = "Units CM2ML (SUVbsa)"
    else:
        raise InputError(
            f"{source}: {_attr('Units')} = {units or 'missing'!r} is not supported; "
            "netpet reads BQML, CNTS (Philips), GML and CM2ML PET series"
        )
    if stored_type is not None and stored_type not in _NORMALISERS:
        raise InputError(
            f"{source}: {_attr('SUVType')} = {stored_type!r} is not one of "
            f"{sorted(_NORMALISERS)}; export the series in BQML"
        )

    # Body size: header, overridden by the samples sheet.
    header_weight = _value(first, "PatientWeight")
    header_height = _value(first, "PatientSize")
    header_sex = str(_value(first, "PatientSex") or "").upper() or None
    weight_raw, height_raw, sex = header_weight, header_height, header_sex
    if "weight_kg" in given:
        weight_raw = given["weight_kg"]
        applied.append("weight_kg")
    if "height_m" in given:
        height_raw = given["height_m"]
        applied.append("height_m")
    if "sex" in given:
        sex = str(given["sex"]).upper()
        applied.append("sex")
    if weight_raw is not None and float(weight_raw) == 0:
        weight_raw = None  # scanners write 0 for "unknown"
    weight_kg = _check_range(
        weight_raw,
        *WEIGHT_RANGE_KG,
        what=f"patient weight {_attr('PatientWeight')} in kg",
        source=source,
        fix="set weight_kg in the samples sheet",
    )
    target = _TARGET_TYPE[suv_type]
    needs_height = _NORMALISERS[target][2] or (
        stored_type is not None and _NORMALISERS[stored_type][2]
    )
    needs_sex = _NORMALISERS[target][3] or (
        stored_type is not None and _NORMALISERS[stored_type][3]
    )
    height_m = None
    if height_raw is not None and float(height_raw) == 0:
        height_raw = None
    if needs_height:
        height_m = _check_range(
            height_raw,
            *HEIGHT_RANGE_M,
            what=f"patient height {_attr('PatientSize')} in m",
            source=source,
            fix="set height_m in the samples sheet",
        )
    elif height_raw is not None:
        height_m = float(height_raw)
    if needs_sex and sex not in ("M", "F"):
        raise InputError(
            f"{source}: {_attr('PatientSex')} = {sex!r}: lean body mass needs M or F; "
            "set sex in the samples sheet"
        )
    try:
        target_value = normaliser(target, weight_kg, height_m, sex)
    except ValueError as error:
        raise InputError(f"{source}: {error}") from None

    dose_bq = decayed_dose_bq = uptake_s = half_life_s = max_uptake_s = None
    dose_unit = scan_source = injection_source = slice_source = None
    if stored_type is not None:
        # The scanner's SUV: undo its normaliser (from its own header values), apply ours.
        for key in ("injected_activity_mbq", "injection_datetime", "half_life_s"):
            if key in given:
                raise InputError(
                    f"{source}: the images store SUV ({pixel_scale_source}) computed from the "
                    f"scanner's own dose and times; the samples-sheet override {key} cannot be "
                    "applied to them: remove it, or export the series in BQML"
                )
        stored_weight = float(header_weight) if header_weight else weight_kg
        stored_height = float(header_height) if header_height else height_m
        try:
            stored_value = normaliser(stored_type, stored_weight, stored_height, header_sex)
        except (ValueError, TypeError):
            raise InputError(
                f"{source}: the stored SUV type {stored_type} needs {_attr('PatientSize')} and "
                f"{_attr('PatientSex')} (M/F) in the header to be converted to SUV{suv_type}; "
                "export the series in BQML"
            ) from None
        factors = scale * target_value / stored_value
    else:
        item = _radiopharmaceutical(first)
        # Half-life.
        if "half_life_s" in given:
            half_life_raw = given["half_life_s"]
            applied.append("half_life_s")
        else:
            half_life_raw = None if item is None else _value(item, "RadionuclideHalfLife")
        half_life_s = _check_range(
            half_life_raw,
            *HALF_LIFE_RANGE_S,
            what=f"radionuclide half-life {_attr('RadionuclideHalfLife')} in s",
            source=source,
            fix="set half_life_s in the samples sheet (Ga-68: 4057.7 s)",
        )
        max_uptake_s = max_uptake_half_lives * half_life_s
        # Dose.
        if "injected_activity_mbq" in given:
            dose_bq, dose_unit = float(given["injected_activity_mbq"]) * 1.0e6, None
            applied.append("injected_activity_mbq")
        else:
            header_dose = None if item is None else _value(item, "RadionuclideTotalDose")
            if header_dose is not None and float(header_dose) > 0:
                dose_bq, dose_unit = dose_bq_from_header(header_dose)
        _check_range(
            None if dose_bq is None else dose_bq / 1.0e6,
            *DOSE_RANGE_MBQ,
            what=f"injected activity {_attr('RadionuclideTotalDose')} in MBq",
            source=source,
            fix="set injected_activity_mbq in the samples sheet",
        )
        # Times.
        try:
            scan_reference, scan_source = scan_reference_datetime(
                datasets_sorted, half_life_s=half_life_s, source=source
            )
        except InputError:
            raise
        except ValueError as error:
            raise InputError(
                f"{source}: unreadable scan time: {error}; re-export the PET series"
            ) from None
        injected = None
        if "injection_datetime" in given:
            try:
                injected = parse_iso_datetime(given["injection_datetime"])
            except ValueError:
                raise InputError(
                    f"{source}: injection_datetime {given['injection_datetime']!r} in the "
                    "samples sheet is not ISO 8601 (e.g. 2025-01-31T09:45:00)"
                ) from None
            injection_source = "samples sheet injection_datetime"
            applied.append("injection_datetime")
        elif decay_correction != "ADMIN":
            injected, injection_source = injection_datetime(
                first,
                scan_reference=scan_reference,
                source=source,
                scan_source=scan_source,
                max_uptake_s=max_uptake_s,
            )
        else:
            try:
                injected, injection_source = injection_datetime(
                    first,
                    scan_reference=scan_reference,
                    source=source,
                    scan_source=scan_source,
                    max_uptake_s=max_uptake_s,
                )
            except InputError:
                injected = None  # not needed: ADMIN images are already decayed to injection
        if injected is not None:
            uptake_s = (scan_reference - injected).total_seconds()
        if decay_correction != "ADMIN":
            fix = "check the header or set injection_datetime in the samples sheet"
            days = (scan_reference.date() - injected.date()).days
            times = (
                f"injection {clock(injected)}"
                + (f" {days} day(s) before the scan date" if days else "")
                + f" ({_tagged(injection_source)}) vs scan reference time "
                f"{clock(scan_reference)} ({_tagged(scan_source)})"
            )
            if uptake_s < 0:
                raise InputError(
                    f"{source}: injection {-uptake_s:.0f} s after the scan start: {times}; {fix}"
                )
            if uptake_s > max_uptake_s:
                raise InputError(
                    f"{source}: uptake time {uptake_s / 3600:.1f} h exceeds "
                    f"{max_uptake_half_lives:g} half-lives of the radionuclide "
                    f"({max_uptake_half_lives:g} x {half_life_s:.0f} s = "
                    f"{max_uptake_s / 3600:.1f} h, suv.max_uptake_half_lives): {times}; {fix}"
                )
        if decay_correction == "START":
            decayed_dose_bq = dose_bq * float(decay_factor(uptake_s, half_life_s))
            factors = scale * target_value / decayed_dose_bq
        elif decay_correction == "ADMIN":
            decayed_dose_bq = dose_bq
            factors = scale * target_value / dose_bq
        elif decay_correction == "NONE":
            slice_s, slice_source = _slice_times_since(
                datasets_sorted, scan_reference, half_life_s=half_life_s, source=source
            )
            elapsed = slice_s + uptake_s
            decayed = dose_bq * decay_factor(elapsed, half_life_s)
            decayed_dose_bq = dose_bq * float(decay_factor(uptake_s, half_life_s))
            factors = scale * target_value / decayed
        else:
            raise InputError(
                f"{source}: {_attr('DecayCorrection')} = {decay_correction!r} is not one of "
                "START, ADMIN, NONE; re-export the PET series"
            )

    factors = np.asarray(factors, dtype=float)
    provenance = SuvProvenance(
        suv_type=suv_type,
        units=units,
        decay_correction=decay_correction,
        stored_suv_type=stored_type,
        scan_reference_time_source=scan_source,
        injection_time_source=injection_source,
        slice_time_source=slice_source,
        uptake_time_s=uptake_s,
        dose_bq=dose_bq,
        dose_unit_in_header=dose_unit,
        decayed_dose_bq=decayed_dose_bq,
        weight_kg=weight_kg,
        height_m=height_m,
        sex=sex,
        half_life_s=half_life_s,
        max_uptake_s=max_uptake_s,
        normaliser=_NORMALISERS[target][0],
        normaliser_value=target_value,
        pixel_scale_source=pixel_scale_source,
        n_slices=n_slices,
        factor_min=float(factors.min()),
        factor_max=float(factors.max()),
        overrides_applied=applied,
    )
    return factors, provenance


def _slice_times_since(
    datasets: Sequence, scan_reference: dt.datetime, *, half_life_s: float, source: str
) -> tuple[np.ndarray, str]:
    """Seconds from the scan reference time to the time each slice's counts refer to.

    For Decay Correction NONE.  Frame Reference Time (0054,1300) is, in DICOM, the offset of
    the frame's mean count-rate time from the series reference time; without it, the slice's
    acquisition start plus the mean count-rate time of its frame (Actual Frame Duration), or
    its acquisition start alone.
    """
    times = np.empty(len(datasets))
    sources = set()
    for i, ds in enumerate(datasets):
        frame_reference_ms = _value(ds, "FrameReferenceTime")
        if frame_reference_ms is not None:
            times[i] = float(frame_reference_ms) / 1000.0
            sources.add("FrameReferenceTime")
            continue
        try:
            start = _acquisition_datetime_of(ds, i)
        except ValueError as error:
            raise InputError(f"{source}: {error}; re-export the series") from None
        if start is None:
            raise InputError(
                f"{source}: {_attr('DecayCorrection')} is NONE, so each slice needs its time, "
                f"but {_where(ds, i)} has neither {_attr('FrameReferenceTime')} nor "
                f"{_attr('AcquisitionTime')}; export the series decay-corrected (START)"
            )
        offset = (start - scan_reference).total_seconds()
        duration_ms = _value(ds, "ActualFrameDuration")
        if duration_ms is not None and float(duration_ms) > 0:
            offset += mean_count_rate_time_s(float(duration_ms) / 1000.0, half_life_s)
            sources.add("AcquisitionTime + mean count-rate time")
        else:
            sources.add("AcquisitionTime")
        times[i] = offset
    return times, " / ".join(sorted(sources))
