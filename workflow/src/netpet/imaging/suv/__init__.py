"""Vendor-neutral standardised uptake value (SUV) from PET DICOM headers.

SUV is computed as the QIBA SUV pseudo-code and the IBSI SUV manual define it (QIBA,
"Standardized Uptake Value (SUV)", qibawiki.rsna.org; IBSI SUV computation manual,
github.com/oncoray/suv_computation; STUDY.md section 3.2):

    SUV = C(t) [Bq/mL] * N / D(t) [Bq]

with C the activity concentration of a voxel, D the injected activity decayed to the time the
concentration refers to, and N the body-size normaliser: body weight in g (SUVbw, g/mL), lean
body mass in g (SUL, g/mL) or body surface area in cm2 (SUVbsa, cm2/mL).

The entry point is :func:`suv_scale_factors`; it returns one factor per slice so that
``SUV = (stored value * RescaleSlope + RescaleIntercept) * factor[slice]``.  Its pieces, one
module each, are small pure functions, each with its formula and its reference:

``pixels``
    Units (0054,1001): what the stored values mean: BQML, CNTS (Philips private scale factors),
    GML and CM2ML (SUV stored by the scanner).
``body_size``
    Weight, height, sex (header or samples sheet) and the normalisers: body weight,
    Janmahasatian and James lean body mass, Sugawara ideal body weight, Du Bois surface area.
``stored_suv``
    Images that store SUV: converted back with the scanner's own normaliser.
``activity``
    Half-life, dose (a Radionuclide Total Dose of at most 2000 is read as MBq), and the table
    of Decay Correction START / ADMIN / NONE: which time the dose is decayed to.
``times``
    Scan reference time, injection time (time-only injections and midnight), the uptake-time
    limit of ``max_uptake_half_lives`` half-lives, each slice's time.
``header``
    Reading attribute values, private tags (by tag number: some files carry no private-creator
    element) and DICOM dates and times.
``scale_factors``
    :func:`suv_scale_factors`, the composition, and :class:`SuvProvenance`.
"""

from netpet.imaging.suv.activity import (
    DECAY_CORRECTIONS,
    DOSE_RANGE_MBQ,
    HALF_LIFE_RANGE_S,
    MBQ_DOSE_LIMIT,
    decay_factor,
    dose_bq_from_header,
)
from netpet.imaging.suv.body_size import (
    HEIGHT_RANGE_M,
    WEIGHT_RANGE_KG,
    body_surface_area_m2,
    ideal_body_weight_kg,
    lean_body_mass_james_kg,
    lean_body_mass_janmahasatian_kg,
    normaliser,
)
from netpet.imaging.suv.header import (
    clock,
    parse_date,
    parse_datetime,
    parse_iso_datetime,
    parse_time,
    radiopharmaceutical,
)
from netpet.imaging.suv.pixels import PHILIPS_ACTIVITY_FACTOR_TAG, PHILIPS_SUV_FACTOR_TAG
from netpet.imaging.suv.scale_factors import (
    OVERRIDE_KEYS,
    SUV_TYPES,
    SuvProvenance,
    suv_scale_factors,
)
from netpet.imaging.suv.times import (
    GE_SCAN_DATETIME_TAG,
    MAX_UPTAKE_HALF_LIVES,
    injection_datetime,
    mean_count_rate_time_s,
    scan_reference_datetime,
)

__all__ = [
    "DECAY_CORRECTIONS",
    "DOSE_RANGE_MBQ",
    "GE_SCAN_DATETIME_TAG",
    "HALF_LIFE_RANGE_S",
    "HEIGHT_RANGE_M",
    "MAX_UPTAKE_HALF_LIVES",
    "MBQ_DOSE_LIMIT",
    "OVERRIDE_KEYS",
    "PHILIPS_ACTIVITY_FACTOR_TAG",
    "PHILIPS_SUV_FACTOR_TAG",
    "SUV_TYPES",
    "WEIGHT_RANGE_KG",
    "SuvProvenance",
    "body_surface_area_m2",
    "clock",
    "decay_factor",
    "dose_bq_from_header",
    "ideal_body_weight_kg",
    "injection_datetime",
    "lean_body_mass_james_kg",
    "lean_body_mass_janmahasatian_kg",
    "mean_count_rate_time_s",
    "normaliser",
    "parse_date",
    "parse_datetime",
    "parse_iso_datetime",
    "parse_time",
    "radiopharmaceutical",
    "scan_reference_datetime",
    "suv_scale_factors",
]
