"""Body size for SUV: the normaliser N of ``SUV = C * N / D`` and the values it is computed from.

Weight, height and sex come from the header (PatientWeight (0010,1030), PatientSize
(0010,1020), PatientSex (0010,0040)); samples-sheet overrides win (:func:`body_size`).  The
normaliser of each SUV type (:func:`normaliser`) is the body weight (SUVbw), a lean body mass
(SUL: Janmahasatian, as PERCIST and IBSI use; DICOM's LBM: James), the ideal body weight or the
body surface area (Du Bois), all as the IBSI SUV manual and the DICOM SUV Type (0054,1006)
define them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from netpet.errors import InputError
from netpet.imaging.suv.header import attribute, check_range, header_value, plausible_range

WEIGHT_RANGE_KG = plausible_range("weight_kg")
HEIGHT_RANGE_M = plausible_range("height_m")


# ---------------------------------------------------------------------------------------------
# Formulas


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


# ---------------------------------------------------------------------------------------------
# Normalisers


class Normaliser(NamedTuple):
    """What the normaliser of one SUV type is and what it is computed from."""

    name: str
    unit: str
    needs_height: bool
    needs_sex: bool


NORMALISERS = {
    "BW": Normaliser("body weight", "g", False, False),
    "LBM": Normaliser("lean body mass (James)", "g", True, True),
    "LBMJAMES128": Normaliser("lean body mass (James)", "g", True, True),
    "LBMJANMA": Normaliser("lean body mass (Janmahasatian)", "g", True, True),
    "IBW": Normaliser("ideal body weight (Sugawara)", "g", True, False),
    "BSA": Normaliser("body surface area (Du Bois)", "cm2", True, False),
}
"""Declared SUV type (a DICOM SUV Type (0054,1006), or ours) -> its :class:`Normaliser`."""

TARGET_TYPE = {"bw": "BW", "lbm": "LBMJANMA", "bsa": "BSA"}
"""Our SUV types (``suv_type``) -> the DICOM SUV Type whose normaliser they use."""


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


# ---------------------------------------------------------------------------------------------
# Weight, height and sex of one scan


@dataclass(frozen=True)
class BodySize:
    """Weight, height and sex used for SUV, and the header's own values.

    ``weight_kg`` is checked (:data:`WEIGHT_RANGE_KG`); ``height_m`` is checked
    (:data:`HEIGHT_RANGE_M`) when a normaliser needs it, else the value given or None; ``sex``
    is ``M``/``F`` when a normaliser needs it.  The ``header_*`` values are the raw header
    values, which a scanner that stored SUV used (see :mod:`netpet.imaging.suv.stored_suv`).
    """

    weight_kg: float
    height_m: float | None
    sex: str | None
    header_weight: object
    header_height: object
    header_sex: str | None
    overrides_applied: tuple[str, ...]


def body_size(ds, overrides: Mapping, *, suv_types: Iterable[str | None], source: str) -> BodySize:
    """Weight, height and sex of a scan: header values, overridden by the samples sheet.

    Parameters
    ----------
    ds : pydicom.Dataset
        The header of the series' first slice.
    overrides : mapping
        Samples-sheet values given for this scan (empty values already removed): ``weight_kg``,
        ``height_m``, ``sex`` win over the header.
    suv_types : iterable of str or None
        The DICOM SUV Types whose normalisers will be computed (the requested one and, for
        images that store SUV, the stored one; None is skipped): they decide whether height
        and sex are required.
    source : str
        Names the scan in error messages.

    Notes
    -----
    A weight or height of 0 is "unknown" (scanners write 0).  Plausible ranges: weight
    20-300 kg always; height 0.5-2.5 m and sex M/F only when a normaliser needs them (QIBA:
    SUVbw needs the weight only).
    """
    header_weight = header_value(ds, "PatientWeight")
    header_height = header_value(ds, "PatientSize")
    header_sex = str(header_value(ds, "PatientSex") or "").upper() or None
    weight_raw, height_raw, sex = header_weight, header_height, header_sex
    applied: list[str] = []
    if "weight_kg" in overrides:
        weight_raw = overrides["weight_kg"]
        applied.append("weight_kg")
    if "height_m" in overrides:
        height_raw = overrides["height_m"]
        applied.append("height_m")
    if "sex" in overrides:
        sex = str(overrides["sex"]).upper()
        applied.append("sex")
    if weight_raw is not None and float(weight_raw) == 0:
        weight_raw = None  # scanners write 0 for "unknown"
    weight_kg = check_range(
        weight_raw,
        *WEIGHT_RANGE_KG,
        what=f"patient weight {attribute('PatientWeight')} in kg",
        source=source,
        fix="set weight_kg in the samples sheet",
    )
    needed = [NORMALISERS[suv_type] for suv_type in suv_types if suv_type is not None]
    height_m = None
    if height_raw is not None and float(height_raw) == 0:
        height_raw = None
    if any(spec.needs_height for spec in needed):
        height_m = check_range(
            height_raw,
            *HEIGHT_RANGE_M,
            what=f"patient height {attribute('PatientSize')} in m",
            source=source,
            fix="set height_m in the samples sheet",
        )
    elif height_raw is not None:
        height_m = float(height_raw)
    if any(spec.needs_sex for spec in needed) and sex not in ("M", "F"):
        raise InputError(
            f"{source}: {attribute('PatientSex')} = {sex!r}: lean body mass needs M or F; "
            "set sex in the samples sheet"
        )
    return BodySize(
        weight_kg=weight_kg,
        height_m=height_m,
        sex=sex,
        header_weight=header_weight,
        header_height=header_height,
        header_sex=header_sex,
        overrides_applied=tuple(applied),
    )


def body_normaliser(suv_type: str, body: BodySize, *, source: str) -> float:
    """:func:`normaliser` of a DICOM SUV Type for ``body``, its ValueError an InputError."""
    try:
        return normaliser(suv_type, body.weight_kg, body.height_m, body.sex)
    except ValueError as error:
        raise InputError(f"{source}: {error}") from None
