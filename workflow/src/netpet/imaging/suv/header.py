"""Reading a PET header for SUV: attribute values, private tags, DICOM dates and times.

Also the wording the SUV error messages share: a DICOM attribute is named with its tag
(:func:`attribute`), a slice by its file (:func:`file_or_slice`), and a value is checked
against its plausible range in one place (:func:`check_range`).

Private tags are read by tag number: some files carry no private-creator element.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re

from netpet.errors import InputError

# DICOM attribute -> tag, for error messages.
TAGS = {
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


# ---------------------------------------------------------------------------------------------
# Names in messages


def attribute(keyword: str) -> str:
    """``keyword`` with its tag, e.g. ``"PatientWeight (0010,1030)"``, for messages."""
    return f"{keyword} {TAGS[keyword]}"


def with_tags(text: str) -> str:
    """``text`` (e.g. a time source) with the tag after each DICOM keyword it names."""
    return re.sub(
        r"\b(" + "|".join(sorted(TAGS, key=len, reverse=True)) + r")\b",
        lambda match: attribute(match.group(1)),
        text,
    )


def file_or_slice(ds, index: int) -> str:
    """The file of a data set for messages (its name), else its slice index."""
    filename = getattr(ds, "filename", None)
    if isinstance(filename, str | os.PathLike) and str(filename):
        return f"file {os.path.basename(filename)}"
    return f"slice {index}"


def clock(stamp: dt.datetime) -> str:
    """Time of day ``HH:MM:SS`` of a date-time, for messages (dates are identifying)."""
    return stamp.strftime("%H:%M:%S")


def plausible_range(column: str) -> tuple[float, float]:
    """(minimum, maximum) of a samples-sheet column's schema: the one statement of the plausible
    range of a header value that the column overrides (weight, height, dose, half-life)."""
    from netpet.config import load_schema

    bounds = load_schema("samples")["properties"][column]
    return float(bounds["minimum"]), float(bounds["maximum"])


def check_range(value, low, high, *, what: str, source: str, fix: str) -> float:
    """``value`` as a float within ``[low, high]``, else an InputError naming ``what`` and ``fix``.

    Parameters
    ----------
    value : number, str or None
        A header value or its samples-sheet override; None is "missing".
    low, high : float
        The plausible range, inclusive, in the unit ``what`` names.
    what : str
        The quantity, its DICOM attribute and unit (e.g. ``"patient weight PatientWeight
        (0010,1030) in kg"``).
    source : str
        Names the scan.
    fix : str
        What the user can do (e.g. ``"set weight_kg in the samples sheet"``).
    """
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


# ---------------------------------------------------------------------------------------------
# Attribute values


def header_value(ds, keyword: str):
    """Value of a standard attribute, None when absent or empty."""
    value = ds.get(keyword)
    if value is None or value == "" or (isinstance(value, list | tuple) and len(value) == 0):
        return None
    return value


def private_value(ds, tag: int):
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


def private_float(ds, tag: int) -> float | None:
    """:func:`private_value` as a float; None when absent or not a number."""
    value = private_value(ds, tag)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def radiopharmaceutical(ds):
    """First item of RadiopharmaceuticalInformationSequence (0054,0016), or None.

    It holds the dose, half-life, injection time and radionuclide of a PET series.
    """
    sequence = header_value(ds, "RadiopharmaceuticalInformationSequence")
    if not sequence:
        return None
    return sequence[0]


# ---------------------------------------------------------------------------------------------
# DICOM date/time values


# Every slice of a series repeats a few date and time texts: each is parsed once (the results
# are immutable).  Invalid texts raise each time (exceptions are not cached).
@functools.lru_cache(maxsize=4096)
def _date_of_text(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()


def parse_date(value: str) -> dt.date:
    """Parse a DICOM DA value (``YYYYMMDD``; the old ``YYYY.MM.DD`` form too)."""
    text = str(value).strip().replace(".", "").replace("-", "")
    return _date_of_text(text[:8])


def parse_time(value: str) -> dt.time:
    """Parse a DICOM TM value (``HH``, ``HHMM``, ``HHMMSS``, ``HHMMSS.FFFFFF``, ``HH:MM:SS``)."""
    parsed = _time_of_text(str(value).strip().replace(":", ""))
    if parsed is None:
        raise ValueError(f"not a DICOM time: {value!r}")
    return parsed


@functools.lru_cache(maxsize=4096)
def _time_of_text(text: str) -> dt.time | None:
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", text)
    if match is None:
        return None
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
    clock_text = text[8:]
    time = parse_time(clock_text) if clock_text else dt.time(0)
    return dt.datetime.combine(date, time)


def parse_iso_datetime(value: str) -> dt.datetime:
    """Parse an ISO 8601 date-time (``2025-01-01T10:00[:00[.000]]``) as naive local time."""
    return dt.datetime.fromisoformat(str(value).strip().replace(" ", "T")).replace(tzinfo=None)


def combine_date_time(date, time, what: str) -> dt.datetime:
    """A DA and a TM value as one date-time; a ValueError naming ``what`` when unreadable."""
    try:
        return dt.datetime.combine(parse_date(date), parse_time(time))
    except ValueError:
        raise ValueError(f"{what} = {date!r}/{time!r} is not a DICOM date/time") from None


def acquisition_datetime(ds) -> dt.datetime | None:
    """AcquisitionDateTime, else AcquisitionDate (else SeriesDate) + AcquisitionTime."""
    stamp = header_value(ds, "AcquisitionDateTime")
    if stamp is not None:
        try:
            return parse_datetime(stamp)
        except ValueError:
            raise ValueError(
                f"{attribute('AcquisitionDateTime')} = {stamp!r} is not a DICOM DT"
            ) from None
    time = header_value(ds, "AcquisitionTime")
    date = header_value(ds, "AcquisitionDate") or header_value(ds, "SeriesDate")
    if time is None or date is None:
        return None
    return combine_date_time(
        date, time, f"{attribute('AcquisitionDate')}/{attribute('AcquisitionTime')}"
    )


def acquisition_datetime_of(ds, index: int) -> dt.datetime | None:
    """:func:`acquisition_datetime`, its ValueError naming the file (or slice ``index``)."""
    try:
        return acquisition_datetime(ds)
    except ValueError as error:
        raise ValueError(f"{file_or_slice(ds, index)}: {error}") from None


def series_datetime(ds) -> dt.datetime | None:
    """SeriesDate + SeriesTime, or None when either is missing."""
    date, time = header_value(ds, "SeriesDate"), header_value(ds, "SeriesTime")
    if date is None or time is None:
        return None
    return combine_date_time(date, time, f"{attribute('SeriesDate')}/{attribute('SeriesTime')}")
