"""The times SUV needs: scan reference time, injection time, uptake time, each slice's time.

QIBA SUV pseudo-code and IBSI SUV manual rules, one function each:

* scan reference time (:func:`scan_reference_datetime`): SeriesDate/SeriesTime unless it is
  after the earliest acquisition; then the GE private scan datetime (0009,100D), else the QIBA
  back-computation from the acquisition start, Frame Reference Time and Actual Frame
  Duration, else the earliest acquisition;
* injection time (:func:`injection_datetime`): RadiopharmaceuticalStartDateTime, else
  RadiopharmaceuticalStartTime on the scan date; the day before (a scan across midnight) only
  when that time of day is after the scan reference time AND the uptake time read that way is
  plausible, else an error naming both times and their attributes;
* plausible uptake time (:func:`check_uptake_time`): at most ``max_uptake_half_lives``
  (default 6, config ``suv.max_uptake_half_lives``) half-lives of the radionuclide (Ga-68:
  6 x 67.7 min = 6.8 h; F-18: 11 h), for every source of the injection time; longer is an
  error, as is an injection after the scan start;
* each slice's time for Decay Correction NONE (:func:`slice_times_since`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

from netpet.errors import InputError
from netpet.imaging.suv.header import (
    acquisition_datetime_of,
    attribute,
    clock,
    file_or_slice,
    header_value,
    parse_datetime,
    parse_iso_datetime,
    parse_time,
    private_value,
    radiopharmaceutical,
    series_datetime,
    with_tags,
)

MAX_UPTAKE_HALF_LIVES = 6.0
"""Default longest plausible uptake time, in half-lives of the radionuclide.

After 6 half-lives 1.6 % of the activity is left: no PET protocol images that late (Ga-68:
6.8 h; F-18: 11 h; Zr-89: 20 days).  A longer uptake time is a header or date error (e.g. a
time-only injection read as the day before), which would multiply SUV by 2 ** (extra
half-lives).
"""

GE_SCAN_DATETIME_TAG = 0x0009100D


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


# ---------------------------------------------------------------------------------------------
# Scan reference time


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
    acquisitions = [(acquisition_datetime_of(ds, i), i) for i, ds in enumerate(datasets)]
    acquisitions = [(stamp, i) for stamp, i in acquisitions if stamp is not None]
    try:
        series = series_datetime(datasets[0])
    except ValueError as error:
        raise ValueError(f"{file_or_slice(datasets[0], 0)}: {error}") from None
    if series is not None and (not acquisitions or series <= min(acquisitions)[0]):
        return series, "SeriesDate/SeriesTime"
    for i, ds in enumerate(datasets):
        ge_value = private_value(ds, GE_SCAN_DATETIME_TAG)
        if ge_value is not None:
            try:
                return parse_datetime(ge_value), "GE private scan datetime (0009,100D)"
            except ValueError:
                raise ValueError(
                    f"{file_or_slice(ds, i)}: GE private scan datetime (0009,100D) = "
                    f"{ge_value!r} is not a DICOM DT"
                ) from None
    if not acquisitions:
        raise InputError(
            f"{source}: no scan time: {attribute('SeriesDate')}/{attribute('SeriesTime')} and "
            f"{attribute('AcquisitionDate')}/{attribute('AcquisitionTime')} are missing; the PET "
            "series needs them to decay-correct the dose (re-export the series with its times)"
        )
    earliest, index = min(acquisitions)
    ds = datasets[index]
    frame_reference_ms = header_value(ds, "FrameReferenceTime")
    frame_duration_ms = header_value(ds, "ActualFrameDuration")
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


def read_scan_reference_datetime(
    datasets: Sequence, *, half_life_s: float, source: str
) -> tuple[dt.datetime, str]:
    """:func:`scan_reference_datetime`, an unreadable header time as an InputError."""
    try:
        return scan_reference_datetime(datasets, half_life_s=half_life_s, source=source)
    except InputError:
        raise
    except ValueError as error:
        raise InputError(
            f"{source}: unreadable scan time: {error}; re-export the PET series"
        ) from None


# ---------------------------------------------------------------------------------------------
# Injection time


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
    item = radiopharmaceutical(ds)
    stamp = None if item is None else header_value(item, "RadiopharmaceuticalStartDateTime")
    fix = "set injection_datetime (ISO 8601) in the samples sheet"
    if stamp is not None:
        try:
            return parse_datetime(stamp), "RadiopharmaceuticalStartDateTime"
        except ValueError:
            raise InputError(
                f"{source}: {attribute('RadiopharmaceuticalStartDateTime')} = {stamp!r} is not "
                f"a DICOM date-time; {fix}"
            ) from None
    time = None if item is None else header_value(item, "RadiopharmaceuticalStartTime")
    if time is None:
        raise InputError(
            f"{source}: injection time missing: neither "
            f"{attribute('RadiopharmaceuticalStartDateTime')} nor "
            f"{attribute('RadiopharmaceuticalStartTime')} in "
            f"{attribute('RadiopharmaceuticalInformationSequence')}; set injection_datetime "
            "(ISO 8601) in the samples sheet"
        )
    try:
        injected = dt.datetime.combine(scan_reference.date(), parse_time(time))
    except ValueError:
        raise InputError(
            f"{source}: {attribute('RadiopharmaceuticalStartTime')} = {time!r} is not a DICOM "
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
            f"{attribute('RadiopharmaceuticalStartTime')} (no "
            f"{attribute('RadiopharmaceuticalStartDateTime')}, so no date) is "
            f"{after_s / 60:.1f} min after the scan reference time {clock(scan_reference)} "
            f"({with_tags(scan_source)}); read as the day before, the uptake time would be "
            f"{uptake_s / 3600:.1f} h, more than the plausible {max_uptake_s / 3600:.1f} h "
            "(suv.max_uptake_half_lives), so neither reading is plausible: check the header "
            f"times or {fix}"
        )
    return day_before, "RadiopharmaceuticalStartTime, day before scan"


def injection_time(
    ds,
    *,
    override: object,
    required: bool,
    scan_reference: dt.datetime,
    scan_source: str,
    max_uptake_s: float,
    source: str,
) -> tuple[dt.datetime | None, str | None]:
    """The injection date-time of a scan and its source: the samples sheet, else the header.

    Parameters
    ----------
    ds : pydicom.Dataset
        The header of the series' first slice.
    override : str or None
        The samples-sheet ``injection_datetime`` (ISO 8601 text, scanner local time), or None.
    required : bool
        False when the images do not need it (Decay Correction ADMIN): a header injection time
        that is missing or implausible is then (None, None) instead of an error.
    scan_reference, scan_source, max_uptake_s
        As for :func:`injection_datetime`.
    source : str
        Names the scan in error messages.
    """
    if override is not None:
        try:
            injected = parse_iso_datetime(override)
        except ValueError:
            raise InputError(
                f"{source}: injection_datetime {override!r} in the "
                "samples sheet is not ISO 8601 (e.g. 2025-01-31T09:45:00)"
            ) from None
        return injected, "samples sheet injection_datetime"
    try:
        return injection_datetime(
            ds,
            scan_reference=scan_reference,
            source=source,
            scan_source=scan_source,
            max_uptake_s=max_uptake_s,
        )
    except InputError:
        if required:
            raise
        return None, None  # not needed: ADMIN images are already decayed to injection


def check_uptake_time(
    uptake_s: float,
    *,
    injected: dt.datetime,
    scan_reference: dt.datetime,
    injection_source: str,
    scan_source: str,
    half_life_s: float,
    max_uptake_half_lives: float,
    max_uptake_s: float,
    source: str,
) -> None:
    """An InputError when the injection is after the scan start or longer ago than plausible.

    Plausible: an uptake time ``uptake_s`` = ``scan_reference - injected`` of 0 to
    ``max_uptake_s`` = ``max_uptake_half_lives`` x ``half_life_s`` seconds.  The message names
    both times of day (no dates: identifying), their attributes and the days between them.
    """
    fix = "check the header or set injection_datetime in the samples sheet"
    days = (scan_reference.date() - injected.date()).days
    times = (
        f"injection {clock(injected)}"
        + (f" {days} day(s) before the scan date" if days else "")
        + f" ({with_tags(injection_source)}) vs scan reference time "
        f"{clock(scan_reference)} ({with_tags(scan_source)})"
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


# ---------------------------------------------------------------------------------------------
# Slice times (Decay Correction NONE)


def slice_times_since(
    datasets: Sequence, scan_reference: dt.datetime, *, half_life_s: float, source: str
) -> tuple[np.ndarray, str]:
    """Seconds from the scan reference time to the time each slice's counts refer to.

    For Decay Correction NONE.  Frame Reference Time (0054,1300) is, in DICOM, the offset of
    the frame's mean count-rate time from the series reference time; without it, the slice's
    acquisition start plus the mean count-rate time of its frame (Actual Frame Duration), or
    its acquisition start alone.

    Returns
    -------
    seconds : numpy.ndarray, shape (n_slices,), float64
    source : str
        The attributes used, e.g. ``"FrameReferenceTime"``.
    """
    times = np.empty(len(datasets))
    sources = set()
    for i, ds in enumerate(datasets):
        frame_reference_ms = header_value(ds, "FrameReferenceTime")
        if frame_reference_ms is not None:
            times[i] = float(frame_reference_ms) / 1000.0
            sources.add("FrameReferenceTime")
            continue
        try:
            start = acquisition_datetime_of(ds, i)
        except ValueError as error:
            raise InputError(f"{source}: {error}; re-export the series") from None
        if start is None:
            raise InputError(
                f"{source}: {attribute('DecayCorrection')} is NONE, so each slice needs its "
                f"time, but {file_or_slice(ds, i)} has neither {attribute('FrameReferenceTime')} "
                f"nor {attribute('AcquisitionTime')}; export the series decay-corrected (START)"
            )
        offset = (start - scan_reference).total_seconds()
        duration_ms = header_value(ds, "ActualFrameDuration")
        if duration_ms is not None and float(duration_ms) > 0:
            offset += mean_count_rate_time_s(float(duration_ms) / 1000.0, half_life_s)
            sources.add("AcquisitionTime + mean count-rate time")
        else:
            sources.add("AcquisitionTime")
        times[i] = offset
    return times, " / ".join(sorted(sources))
