"""Pixel convention: what the rescaled pixel values of a PET series mean, by Units (0054,1001).

``BQML`` and Philips ``CNTS`` with the activity concentration scale factor (7053,1009) are an
activity concentration C in Bq/mL, to be divided by the decayed dose
(:mod:`netpet.imaging.suv.activity`).  ``GML``, ``CM2ML`` and Philips ``CNTS`` with only the
SUV scale factor (7053,1000) are an SUV the scanner computed, to be converted to the requested
type (:mod:`netpet.imaging.suv.stored_suv`).  QIBA SUV pseudo-code and IBSI SUV manual: Units
BQML, or CNTS with the Philips private factors; the stored-SUV units are DICOM's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from netpet.errors import InputError
from netpet.imaging.suv.body_size import NORMALISERS
from netpet.imaging.suv.header import attribute, file_or_slice, header_value, private_float

PHILIPS_SUV_FACTOR_TAG = 0x70531000
PHILIPS_ACTIVITY_FACTOR_TAG = 0x70531009


@dataclass(frozen=True)
class PixelConvention:
    """What the rescaled pixel values of a series mean.

    Attributes
    ----------
    units : str
        Units (0054,1001), upper case ('' when missing).
    scale : numpy.ndarray, shape (n_slices,), float64
        Per-slice factor ``k`` turning rescaled values into Bq/mL (activity) or into the
        stored SUV; 1 unless a Philips private factor applies.
    stored_suv_type : str or None
        The DICOM SUV Type of a stored SUV; None for an activity concentration.
    source : str
        How the convention was decided, for the provenance (``pixel_scale_source``).
    """

    units: str
    scale: np.ndarray
    stored_suv_type: str | None
    source: str


def _bq_per_ml(datasets: Sequence, *, source: str) -> PixelConvention:
    """BQML: the values are Bq/mL, ``k = 1``."""
    return PixelConvention("BQML", np.ones(len(datasets)), None, "Units BQML")


def _philips_counts(datasets: Sequence, *, source: str) -> PixelConvention:
    """CNTS (Philips): ``k`` is a per-slice private factor, every slice must have it.

    The activity concentration scale factor (7053,1009) gives Bq/mL and is preferred: our own
    decay and body-size handling (and the overrides) then apply.  Else the SUV scale factor
    (7053,1000) gives SUVbw as the scanner computed it.
    """
    activity = [private_float(ds, PHILIPS_ACTIVITY_FACTOR_TAG) for ds in datasets]
    suv = [private_float(ds, PHILIPS_SUV_FACTOR_TAG) for ds in datasets]
    if all(v is not None and v > 0 for v in activity):
        return PixelConvention(
            "CNTS",
            np.array(activity, dtype=float),
            None,
            "Philips activity concentration scale factor (7053,1009)",
        )
    if all(v is not None and v > 0 for v in suv):
        return PixelConvention(
            "CNTS", np.array(suv, dtype=float), "BW", "Philips SUV scale factor (7053,1000)"
        )
    lacking = [
        file_or_slice(ds, i)
        for i, ds in enumerate(datasets)
        if not (activity[i] is not None and activity[i] > 0)
    ]
    listed = ", ".join(lacking[:10]) + (" ..." if len(lacking) > 10 else "")
    raise InputError(
        f"{source}: {attribute('Units')} is CNTS but the Philips private scale factors "
        "(7053,1000) SUV scale factor or (7053,1009) activity concentration scale "
        f"factor are missing in {len(lacking)} of {len(datasets)} slices ({listed}); export "
        "the series in BQML"
    )


def _suv_g_per_ml(datasets: Sequence, *, source: str) -> PixelConvention:
    """GML: an SUV in g/mL of the declared SUV Type (0054,1006), BW when not declared."""
    stored_type = str(header_value(datasets[0], "SUVType") or "BW").upper()
    return PixelConvention(
        "GML", np.ones(len(datasets)), stored_type, f"Units GML, SUV Type {stored_type}"
    )


def _suv_cm2_per_ml(datasets: Sequence, *, source: str) -> PixelConvention:
    """CM2ML: SUVbsa in cm2/mL."""
    return PixelConvention("CM2ML", np.ones(len(datasets)), "BSA", "Units CM2ML (SUVbsa)")


UNITS = {
    "BQML": _bq_per_ml,
    "CNTS": _philips_counts,
    "GML": _suv_g_per_ml,
    "CM2ML": _suv_cm2_per_ml,
}
"""Units (0054,1001) -> the function deciding the :class:`PixelConvention` of a series."""


def pixel_convention(datasets_sorted: Sequence, *, source: str) -> PixelConvention:
    """The :class:`PixelConvention` of a PET series, by the Units of its first slice.

    Parameters
    ----------
    datasets_sorted : sequence of pydicom.Dataset
        The headers of one PET series, one per slice, in the order of the image's z axis.
    source : str
        Names the scan in error messages.

    Raises
    ------
    InputError
        Units other than :data:`UNITS`; CNTS without a Philips factor in every slice (the
        message names the slices' files); a stored SUV Type without a known normaliser.
    """
    units = str(header_value(datasets_sorted[0], "Units") or "").upper()
    if units not in UNITS:
        raise InputError(
            f"{source}: {attribute('Units')} = {units or 'missing'!r} is not supported; "
            "netpet reads BQML, CNTS (Philips), GML and CM2ML PET series"
        )
    convention = UNITS[units](datasets_sorted, source=source)
    stored_type = convention.stored_suv_type
    if stored_type is not None and stored_type not in NORMALISERS:
        raise InputError(
            f"{source}: {attribute('SUVType')} = {stored_type!r} is not one of "
            f"{sorted(NORMALISERS)}; export the series in BQML"
        )
    return convention
