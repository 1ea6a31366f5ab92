"""Images that store SUV (Units GML, CM2ML; Philips CNTS with only (7053,1000)): convert them.

The scanner stored ``SUV_x = C * N_x / D`` with its own dose, times and body-size normaliser
``N_x`` of the declared SUV Type (:mod:`netpet.imaging.suv.pixels`).  Multiplying by
``N / N_x`` gives the requested type: the divisor is :func:`stored_normaliser`.  The dose and
times are the scanner's, so samples-sheet overrides of them cannot apply
(:func:`refuse_activity_overrides`).
"""

from __future__ import annotations

from collections.abc import Mapping

from netpet.errors import InputError
from netpet.imaging.suv.body_size import BodySize, normaliser
from netpet.imaging.suv.header import attribute

ACTIVITY_OVERRIDES = ("injected_activity_mbq", "injection_datetime", "half_life_s")
"""Override keys about the dose and times, which a stored SUV has already used."""


def refuse_activity_overrides(overrides: Mapping, *, pixel_scale_source: str, source: str) -> None:
    """An InputError when a dose, injection-time or half-life override is given for stored SUV.

    ``pixel_scale_source`` names the convention (e.g. ``"Units GML, SUV Type BW"``).
    """
    for key in ACTIVITY_OVERRIDES:
        if key in overrides:
            raise InputError(
                f"{source}: the images store SUV ({pixel_scale_source}) computed from the "
                f"scanner's own dose and times; the samples-sheet override {key} cannot be "
                "applied to them: remove it, or export the series in BQML"
            )


def stored_normaliser(stored_type: str, body: BodySize, *, suv_type: str, source: str) -> float:
    """The normaliser ``N_x`` the scanner used for its stored SUV (g, or cm2 for BSA).

    :func:`~netpet.imaging.suv.body_size.normaliser` of ``stored_type`` with the header's own
    weight, height and sex, as the scanner used them; a weight or height missing from the
    header (or 0) is taken from ``body`` (the overrides).  ``SUV_requested = SUV_x * N / N_x``.

    Raises
    ------
    InputError
        The stored type needs a height or sex (M/F) the header lacks; ``suv_type`` (the
        requested type) is named in the message.
    """
    stored_weight = float(body.header_weight) if body.header_weight else body.weight_kg
    stored_height = float(body.header_height) if body.header_height else body.height_m
    try:
        return normaliser(stored_type, stored_weight, stored_height, body.header_sex)
    except (ValueError, TypeError):
        raise InputError(
            f"{source}: the stored SUV type {stored_type} needs {attribute('PatientSize')} and "
            f"{attribute('PatientSex')} (M/F) in the header to be converted to SUV{suv_type}; "
            "export the series in BQML"
        ) from None
