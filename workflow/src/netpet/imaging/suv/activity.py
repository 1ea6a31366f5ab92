"""Activity images (Units BQML; Philips CNTS with (7053,1009)): the dose D of ``SUV = C * N / D``.

The injected activity (Radionuclide Total Dose (0018,1074), or the samples sheet) decayed with
the radionuclide's half-life (Radionuclide Half Life (0018,1075), or the samples sheet) to the
time the pixel values refer to.  That time is what Decay Correction (0054,1102) says, one row
of :data:`DECAY_CORRECTIONS` each (QIBA SUV pseudo-code, IBSI SUV manual):

========  ==========================================  ===========================================
value     images are decay-corrected to               dose D per slice
========  ==========================================  ===========================================
START     the scan reference time                     ``D0 * 2^(-t_uptake / T_half)``
ADMIN     the injection time                          ``D0`` (no injection time needed)
NONE      nothing: each slice's own time ``t_slice``  ``D0 * 2^(-(t_uptake + t_slice) / T_half)``
========  ==========================================  ===========================================

The times are :mod:`netpet.imaging.suv.times`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from netpet.errors import InputError
from netpet.imaging.suv.header import (
    attribute,
    check_range,
    header_value,
    plausible_range,
    radiopharmaceutical,
)
from netpet.imaging.suv.times import (
    check_uptake_time,
    injection_time,
    read_scan_reference_datetime,
    slice_times_since,
)

DOSE_RANGE_MBQ = plausible_range("injected_activity_mbq")
HALF_LIFE_RANGE_S = plausible_range("half_life_s")
MBQ_DOSE_LIMIT = 2000.0
"""A Radionuclide Total Dose at or below this number is taken as MBq, above it as Bq."""


# ---------------------------------------------------------------------------------------------
# Decay, half-life, dose


def decay_factor(elapsed_s: float | np.ndarray, half_life_s: float) -> float | np.ndarray:
    """Fraction of activity left after ``elapsed_s`` seconds: ``exp(-ln 2 * t / T_half)``.

    Unitless; ``elapsed_s`` and ``half_life_s`` in seconds (radioactive decay law).
    """
    return np.exp(-math.log(2.0) * np.asarray(elapsed_s, dtype=float) / half_life_s)


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


def radionuclide_half_life_s(item, overrides: Mapping, *, source: str) -> float:
    """Radionuclide half-life in s: the samples-sheet ``half_life_s``, else the header's.

    ``item`` is the RadiopharmaceuticalInformationSequence item (or None).  Plausible:
    :data:`HALF_LIFE_RANGE_S`.
    """
    if "half_life_s" in overrides:
        half_life_raw = overrides["half_life_s"]
    else:
        half_life_raw = None if item is None else header_value(item, "RadionuclideHalfLife")
    return check_range(
        half_life_raw,
        *HALF_LIFE_RANGE_S,
        what=f"radionuclide half-life {attribute('RadionuclideHalfLife')} in s",
        source=source,
        fix="set half_life_s in the samples sheet (Ga-68: 4057.7 s)",
    )


def injected_dose_bq(item, overrides: Mapping, *, source: str) -> tuple[float, str | None]:
    """Injected activity in Bq and the unit the header gave it in (None: samples sheet).

    The samples-sheet ``injected_activity_mbq`` (x 1e6), else a positive Radionuclide Total
    Dose read by :func:`dose_bq_from_header`.  Plausible: :data:`DOSE_RANGE_MBQ`.
    """
    dose_bq = dose_unit = None
    if "injected_activity_mbq" in overrides:
        dose_bq = float(overrides["injected_activity_mbq"]) * 1.0e6
    else:
        header_dose = None if item is None else header_value(item, "RadionuclideTotalDose")
        if header_dose is not None and float(header_dose) > 0:
            dose_bq, dose_unit = dose_bq_from_header(header_dose)
    check_range(
        None if dose_bq is None else dose_bq / 1.0e6,
        *DOSE_RANGE_MBQ,
        what=f"injected activity {attribute('RadionuclideTotalDose')} in MBq",
        source=source,
        fix="set injected_activity_mbq in the samples sheet",
    )
    return dose_bq, dose_unit


# ---------------------------------------------------------------------------------------------
# Decay Correction (0054,1102)


@dataclass(frozen=True)
class DoseAtPixelTime:
    """The dose the pixel values of each slice refer to.

    ``per_slice_bq`` is a float (the same for every slice) or an array of shape (n_slices,);
    ``decayed_dose_bq`` is the provenance's single value (the dose at the time the series is
    decay-corrected to; at the scan reference time for NONE); ``slice_time_source`` names the
    attributes of the slice times (NONE only).
    """

    per_slice_bq: float | np.ndarray
    decayed_dose_bq: float
    slice_time_source: str | None = None


def dose_at_scan_start_bq(dose_bq: float, uptake_s: float, half_life_s: float) -> float:
    """The injected dose decayed to the scan reference time, in Bq.

    ``D = D0 * exp(-ln 2 * t_uptake / T_half)`` (:func:`decay_factor`), with ``t_uptake`` the
    seconds from injection to the scan reference time (QIBA SUV pseudo-code: "decayed dose").
    """
    return dose_bq * float(decay_factor(uptake_s, half_life_s))


# The rules below share one signature so that DECAY_CORRECTIONS can hold them:
# (dose_bq, *, uptake_s, half_life_s, datasets, scan_reference, source) -> DoseAtPixelTime,
# with dose_bq the injected activity (Bq), uptake_s the seconds from injection to the scan
# reference time (None when unknown: ADMIN only), datasets the slices' headers in z order.


def _start(dose_bq, *, uptake_s, half_life_s, datasets, scan_reference, source) -> DoseAtPixelTime:
    """START: the pixels are decay-corrected to the scan reference time.

    ``D = D0 * exp(-ln 2 * t_uptake / T_half)`` for every slice (:func:`dose_at_scan_start_bq`;
    QIBA SUV pseudo-code and IBSI SUV manual, Decay Correction START).
    """
    decayed = dose_at_scan_start_bq(dose_bq, uptake_s, half_life_s)
    return DoseAtPixelTime(decayed, decayed)


def _admin(dose_bq, *, uptake_s, half_life_s, datasets, scan_reference, source) -> DoseAtPixelTime:
    """ADMIN: the pixels are decay-corrected to the injection (administration) time.

    ``D = D0`` for every slice, no decay and no injection time needed (IBSI SUV manual,
    Decay Correction ADMIN).
    """
    return DoseAtPixelTime(dose_bq, dose_bq)


def _none(dose_bq, *, uptake_s, half_life_s, datasets, scan_reference, source) -> DoseAtPixelTime:
    """NONE: the pixels are not decay-corrected; each slice's counts refer to its own time.

    ``D[i] = D0 * exp(-ln 2 * (t_uptake + t_slice[i]) / T_half)``, ``t_slice`` from
    :func:`~netpet.imaging.suv.times.slice_times_since` (IBSI SUV manual, Decay Correction
    NONE).  The provenance's decayed dose is the one at the scan reference time.
    """
    slice_s, slice_source = slice_times_since(
        datasets, scan_reference, half_life_s=half_life_s, source=source
    )
    elapsed = slice_s + uptake_s
    per_slice = dose_bq * decay_factor(elapsed, half_life_s)
    return DoseAtPixelTime(
        per_slice, dose_at_scan_start_bq(dose_bq, uptake_s, half_life_s), slice_source
    )


@dataclass(frozen=True)
class DecayRule:
    """What one Decay Correction (0054,1102) value means for the dose.

    Attributes
    ----------
    corrected_to : str
        The time the scanner decay-corrected the pixel values to.
    needs_injection_time : bool
        Whether the uptake time (and so the injection time and its checks) is needed.
    dose_at_pixel_time : callable
        ``(dose_bq, *, uptake_s, half_life_s, datasets, scan_reference, source)`` ->
        :class:`DoseAtPixelTime`.
    """

    corrected_to: str
    needs_injection_time: bool
    dose_at_pixel_time: Callable[..., DoseAtPixelTime]


DECAY_CORRECTIONS = {
    "START": DecayRule("scan reference time", True, _start),
    "ADMIN": DecayRule("injection time", False, _admin),
    "NONE": DecayRule("nothing: each slice's own time", True, _none),
}
"""Decay Correction (0054,1102) -> its :class:`DecayRule`."""


def read_decay_correction(ds) -> str | None:
    """Decay Correction (0054,1102) of a header, upper case; None when missing."""
    return str(header_value(ds, "DecayCorrection") or "").upper() or None


# ---------------------------------------------------------------------------------------------
# The dose of one series


@dataclass(frozen=True)
class ActivityReference:
    """The dose the pixel values refer to, and how it was found (provenance fields).

    ``dose_at_pixel_time_bq``, ``decayed_dose_bq`` and ``slice_time_source`` are the
    :class:`DoseAtPixelTime` of the series' Decay Correction.  All None for images that store
    SUV, which used the scanner's dose.
    """

    dose_at_pixel_time_bq: float | np.ndarray | None = None
    decayed_dose_bq: float | None = None
    slice_time_source: str | None = None
    dose_bq: float | None = None
    dose_unit_in_header: str | None = None
    half_life_s: float | None = None
    max_uptake_s: float | None = None
    uptake_time_s: float | None = None
    scan_reference_time_source: str | None = None
    injection_time_source: str | None = None
    overrides_applied: tuple[str, ...] = ()


def activity_reference(
    datasets_sorted: Sequence,
    overrides: Mapping,
    *,
    decay_correction: str | None,
    max_uptake_half_lives: float,
    source: str,
) -> ActivityReference:
    """The decayed dose per slice of an activity-concentration series, and its provenance.

    Parameters
    ----------
    datasets_sorted : sequence of pydicom.Dataset
        The headers of one PET series, one per slice, in the order of the image's z axis.
    overrides : mapping
        Samples-sheet values given (empty ones removed): ``half_life_s``,
        ``injected_activity_mbq``, ``injection_datetime`` win over the header.
    decay_correction : str or None
        Decay Correction (0054,1102), a key of :data:`DECAY_CORRECTIONS`.
    max_uptake_half_lives : float
        The longest plausible uptake time, in half-lives.
    source : str
        Names the scan in error messages.

    Notes
    -----
    Checked in this order, each an InputError naming the attribute and the samples-sheet
    column that fixes it: half-life, dose, scan reference time, injection time and uptake time
    (unless the Decay Correction needs no injection time), then the Decay Correction itself (an
    unknown one is checked like START and then rejected).
    """
    first = datasets_sorted[0]
    item = radiopharmaceutical(first)
    applied = [key for key in ("half_life_s", "injected_activity_mbq") if key in overrides]
    half_life = radionuclide_half_life_s(item, overrides, source=source)
    max_uptake_s = max_uptake_half_lives * half_life
    dose_bq, dose_unit = injected_dose_bq(item, overrides, source=source)
    scan_reference, scan_source = read_scan_reference_datetime(
        datasets_sorted, half_life_s=half_life, source=source
    )
    rule = DECAY_CORRECTIONS.get(decay_correction)
    required = rule is None or rule.needs_injection_time
    override = overrides.get("injection_datetime")
    injected, injection_source = injection_time(
        first,
        override=override,
        required=required,
        scan_reference=scan_reference,
        scan_source=scan_source,
        max_uptake_s=max_uptake_s,
        source=source,
    )
    if override is not None:
        applied.append("injection_datetime")
    uptake_s = None
    if injected is not None:
        uptake_s = (scan_reference - injected).total_seconds()
    if required:
        check_uptake_time(
            uptake_s,
            injected=injected,
            scan_reference=scan_reference,
            injection_source=injection_source,
            scan_source=scan_source,
            half_life_s=half_life,
            max_uptake_half_lives=max_uptake_half_lives,
            max_uptake_s=max_uptake_s,
            source=source,
        )
    if rule is None:
        raise InputError(
            f"{source}: {attribute('DecayCorrection')} = {decay_correction!r} is not one of "
            "START, ADMIN, NONE; re-export the PET series"
        )
    dose_at_pixel_time = rule.dose_at_pixel_time(
        dose_bq,
        uptake_s=uptake_s,
        half_life_s=half_life,
        datasets=datasets_sorted,
        scan_reference=scan_reference,
        source=source,
    )
    return ActivityReference(
        dose_at_pixel_time_bq=dose_at_pixel_time.per_slice_bq,
        decayed_dose_bq=dose_at_pixel_time.decayed_dose_bq,
        slice_time_source=dose_at_pixel_time.slice_time_source,
        dose_bq=dose_bq,
        dose_unit_in_header=dose_unit,
        half_life_s=half_life,
        max_uptake_s=max_uptake_s,
        uptake_time_s=uptake_s,
        scan_reference_time_source=scan_source,
        injection_time_source=injection_source,
        overrides_applied=tuple(applied),
    )
