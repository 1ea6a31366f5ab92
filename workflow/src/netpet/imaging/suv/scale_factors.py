"""The entry point :func:`suv_scale_factors`: per-slice SUV factors and their provenance.

A composition of the package's pieces: what the pixels mean (:mod:`~netpet.imaging.suv.pixels`),
the body-size normaliser (:mod:`~netpet.imaging.suv.body_size`), and the divisor: the decayed
dose for activity images (:mod:`~netpet.imaging.suv.activity`) or the scanner's own normaliser
for images that store SUV (:mod:`~netpet.imaging.suv.stored_suv`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from netpet.errors import InputError
from netpet.imaging.suv.activity import (
    ActivityReference,
    activity_reference,
    read_decay_correction,
)
from netpet.imaging.suv.body_size import NORMALISERS, TARGET_TYPE, body_normaliser, body_size
from netpet.imaging.suv.pixels import pixel_convention
from netpet.imaging.suv.stored_suv import refuse_activity_overrides, stored_normaliser
from netpet.imaging.suv.times import MAX_UPTAKE_HALF_LIVES

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


def clean_overrides(overrides: Mapping | None) -> dict:
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
    ``factor = k * N / D`` for every slice, computed in that order (float64), with:

    ``k``
        the per-slice pixel scale (:func:`~netpet.imaging.suv.pixels.pixel_convention`): 1,
        or a Philips private factor for Units CNTS;
    ``N``
        the normaliser of the requested type
        (:func:`~netpet.imaging.suv.body_size.normaliser`) from the header's weight, height
        and sex or their overrides (:func:`~netpet.imaging.suv.body_size.body_size`);
    ``D``
        for activity units (BQML; CNTS with the activity concentration scale factor
        (7053,1009), giving Bq/mL) the injected activity decayed, by Decay Correction
        (0054,1102), to the scan reference time (START), not at all (ADMIN: images are
        corrected to the injection time), or to each slice's own time (NONE: scan reference
        time + Frame Reference Time, else acquisition start + mean count-rate time of the
        frame) (:func:`~netpet.imaging.suv.activity.activity_reference`);
        for SUV units (GML; CM2ML; CNTS with the Philips SUV scale factor (7053,1000), which
        gives SUVbw), where the scanner stored ``SUV_x = C * N_x / D``, its normaliser ``N_x``
        of the declared SUV Type (0054,1006) (GML defaults to BW, CM2ML is BSA) from the
        header's own weight/height/sex, as the scanner used them
        (:func:`~netpet.imaging.suv.stored_suv.stored_normaliser`).  Dose and injection-time
        overrides cannot be applied to such images and are an error.
    """
    if suv_type not in SUV_TYPES:
        raise ValueError(f"suv_type must be one of {SUV_TYPES}, got {suv_type!r}")
    if not (isinstance(max_uptake_half_lives, int | float) and max_uptake_half_lives > 0):
        raise ValueError(f"max_uptake_half_lives must be > 0, got {max_uptake_half_lives!r}")
    if not datasets_sorted:
        raise InputError(f"{source}: the PET series has no images")
    given = clean_overrides(overrides)
    first = datasets_sorted[0]
    decay_correction = read_decay_correction(first)

    pixels = pixel_convention(datasets_sorted, source=source)
    stored_type = pixels.stored_suv_type
    target = TARGET_TYPE[suv_type]
    body = body_size(first, given, suv_types=(target, stored_type), source=source)
    target_value = body_normaliser(target, body, source=source)

    if stored_type is not None:
        refuse_activity_overrides(given, pixel_scale_source=pixels.source, source=source)
        divisor = stored_normaliser(stored_type, body, suv_type=suv_type, source=source)
        activity = ActivityReference()
    else:
        activity = activity_reference(
            datasets_sorted,
            given,
            decay_correction=decay_correction,
            max_uptake_half_lives=max_uptake_half_lives,
            source=source,
        )
        divisor = activity.dose_at_pixel_time_bq
    # k * N first, then / D: the order of the float64 operations is part of the result.
    factors = np.asarray(pixels.scale * target_value / divisor, dtype=float)

    provenance = SuvProvenance(
        suv_type=suv_type,
        units=pixels.units,
        decay_correction=decay_correction,
        stored_suv_type=stored_type,
        scan_reference_time_source=activity.scan_reference_time_source,
        injection_time_source=activity.injection_time_source,
        slice_time_source=activity.slice_time_source,
        uptake_time_s=activity.uptake_time_s,
        dose_bq=activity.dose_bq,
        dose_unit_in_header=activity.dose_unit_in_header,
        decayed_dose_bq=activity.decayed_dose_bq,
        weight_kg=body.weight_kg,
        height_m=body.height_m,
        sex=body.sex,
        half_life_s=activity.half_life_s,
        max_uptake_s=activity.max_uptake_s,
        normaliser=NORMALISERS[target].name,
        normaliser_value=target_value,
        pixel_scale_source=pixels.source,
        n_slices=len(datasets_sorted),
        factor_min=float(factors.min()),
        factor_max=float(factors.max()),
        overrides_applied=[*body.overrides_applied, *activity.overrides_applied],
    )
    return factors, provenance
