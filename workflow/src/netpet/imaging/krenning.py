"""Modified Krenning score of each lesion from its uptake and the scan's liver and spleen.

The modified Krenning score grades a lesion's somatostatin-receptor uptake against normal
organs (STUDY.md section 2; Hope et al., J Nucl Med 2019;60:937, for SSTR PET):

====  ===================================================
1     uptake below liver
2     uptake equal to liver
3     uptake above liver (and not above spleen)
4     uptake above spleen
====  ===================================================

Readers grade it visually on planar images or maximum-intensity projections, where a lesion
shows as bright as its hottest voxel and an organ as bright as its bulk.  So the lesion
statistic is its **SUVmax** (the MIP shows exactly the voxel maximum along each ray) and the
organs' statistics are their **SUVmean** (the liver reference sphere's and the spleen's, as in
``results/features/scans.tsv``).  ``suvpeak`` or ``suvmean`` can be configured instead
(:class:`KrenningSettings`), e.g. to damp the noise that lifts SUVmax of small lesions.

"Equal to liver" is a band around the liver reference SUVmean (:func:`liver_band`), by default
mean +/- 2 SD of the reference sphere's SUV: a lesion whose hottest voxel lies within the
liver's own voxel spread cannot be told from liver by eye (2 SD is also PERCIST's liver noise
margin).  A band of +/- a percentage of the mean is the alternative.  Band edges belong to the
band (score 2); "above spleen" is strictly above the spleen SUVmean.

Lesion and organs must be in the same SUV type (they are, within one scan), so the score does
not depend on the SUV normalisation.

A score is empty (``pd.NA``) only when the data cannot decide it, with the reason in the
returned note: no liver reference gives no score at all; no spleen (e.g. splenectomy, common
in NET) still grades lesions at or below the liver band (1, 2) and leaves those above it empty
(3 or 4 cannot be told apart).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from netpet.errors import InputError

#: Column of the lesion table (``results/features/lesions.tsv``) with the score (nullable int).
KRENNING_COLUMN = "krenning_score"

#: Lesion statistics the score may compare (columns of the lesion table).
KRENNING_STATISTICS = ("suvmax", "suvpeak", "suvmean")

#: Ways of defining "equal to liver": SD band (mean +/- k SD) or percent band (mean +/- x %).
BAND_METHODS = ("sd", "percent")

# Uptake within this many SUV units of a band edge or of the spleen mean counts as on it,
# so that edges computed in floating point (8 x 0.9 = 7.2000000000000002) stay inclusive.
_EDGE_TOL_SUV = 1e-9


@dataclass(frozen=True)
class KrenningSettings:
    """Settings of the modified Krenning score (config section ``krenning``).

    Attributes
    ----------
    statistic : {"suvmax", "suvpeak", "suvmean"}
        Lesion uptake compared with the organs (default SUVmax: what a reader sees on a MIP).
    equal_band : {"sd", "percent"}
        How "equal to liver" is defined (:func:`liver_band`).
    equal_band_sd_count : float
        Half-width of the ``"sd"`` band in liver reference SDs (default 2).
    equal_band_pct : float
        Half-width of the ``"percent"`` band in % of the liver SUVmean (default 10).
    """

    statistic: str = "suvmax"
    equal_band: str = "sd"
    equal_band_sd_count: float = 2.0
    equal_band_pct: float = 10.0

    def __post_init__(self) -> None:
        where = "config krenning"
        if self.statistic not in KRENNING_STATISTICS:
            raise InputError(
                f"{where}.statistic: {self.statistic!r} is not one of {KRENNING_STATISTICS}"
            )
        if self.equal_band not in BAND_METHODS:
            raise InputError(
                f"{where}.equal_band: {self.equal_band!r} is not one of {BAND_METHODS}"
            )
        for key in ("equal_band_sd_count", "equal_band_pct"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InputError(f"{where}.{key}: must be a number >= 0, got {value!r}")
        if self.equal_band_pct >= 100:
            raise InputError(
                f"{where}.equal_band_pct: {self.equal_band_pct} would put the band's lower edge "
                "at or below 0; use less than 100"
            )

    @classmethod
    def from_config(cls, section: Mapping | None) -> KrenningSettings:
        """Settings from the config's ``krenning`` section; missing keys take the defaults.

        Raises
        ------
        InputError
            An unknown key or a value out of range (the message names the key).
        """
        values = dict(section or {})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(f"config krenning: unknown key(s) {unknown}; known keys: {known}")
        return cls(**values)


def liver_band(liver_suvmean: float, liver_suvsd: float, settings: KrenningSettings) -> tuple:
    """Lower and upper edge of "equal to liver" uptake, in the scan's SUV.

    ``"sd"``: ``mean -/+ equal_band_sd_count x SD``; ``"percent"``:
    ``mean x (1 -/+ equal_band_pct / 100)``.  NaN edges when the needed liver value is missing.

    Examples
    --------
    >>> liver_band(8.0, 1.0, KrenningSettings())
    (6.0, 10.0)
    >>> liver_band(8.0, float("nan"), KrenningSettings(equal_band="percent", equal_band_pct=25))
    (6.0, 10.0)
    """
    mean = float(liver_suvmean)
    if settings.equal_band == "sd":
        half = settings.equal_band_sd_count * float(liver_suvsd)
    else:
        half = mean * settings.equal_band_pct / 100.0
    return mean - half, mean + half


def krenning_scores(
    lesions: pd.DataFrame,
    *,
    liver_suvmean: float | None,
    liver_suvsd: float | None,
    spleen_suvmean: float | None,
    settings: KrenningSettings | None = None,
) -> tuple[pd.Series, str]:
    """Modified Krenning score of each lesion of one scan (see the module docstring).

    With ``low, high`` = :func:`liver_band` and ``u`` the lesion's uptake
    (``settings.statistic``): 1 when ``u < low``; 2 when ``low <= u <= high``; above the band
    (``u > high``) 4 when ``u > spleen_suvmean``, else 3.

    Parameters
    ----------
    lesions : pandas.DataFrame
        One scan's lesions (:func:`netpet.imaging.features.lesion_features`), with the column
        ``settings.statistic``.
    liver_suvmean, liver_suvsd : float or None
        Liver reference SUVmean and SD (``liver_reference.json`` / scans.tsv); None or NaN
        when the scan has none.
    spleen_suvmean : float or None
        Spleen SUVmean (scans.tsv); None or NaN when there is no spleen label.
    settings : KrenningSettings, optional

    Returns
    -------
    scores : pandas.Series
        ``Int64`` (nullable) scores 1-4, named :data:`KRENNING_COLUMN`, on ``lesions``' index;
        ``<NA>`` where the score cannot be decided.
    note : str
        Why some or all scores are empty, or a caveat ("" when there is none).

    Raises
    ------
    InputError
        ``lesions`` lacks the statistic's column.
    """
    settings = settings or KrenningSettings()
    column = settings.statistic
    if column not in lesions.columns:
        raise InputError(
            f"lesion table: missing column {column!r} needed for the Krenning score "
            "(config krenning.statistic)"
        )
    uptake = lesions[column].to_numpy(dtype=float)
    scores = np.full(uptake.shape, np.nan)
    notes = []
    liver_mean = _number(liver_suvmean)
    spleen = _number(spleen_suvmean)
    low, high = liver_band(liver_mean, _number(liver_suvsd), settings)
    if not (np.isfinite(low) and np.isfinite(high) and liver_mean > 0):
        notes.append("no liver reference: Krenning score not computed")
    elif len(uptake):
        scores[uptake < low - _EDGE_TOL_SUV] = 1
        scores[(uptake >= low - _EDGE_TOL_SUV) & (uptake <= high + _EDGE_TOL_SUV)] = 2
        above = uptake > high + _EDGE_TOL_SUV
        if np.isfinite(spleen):
            scores[above] = np.where(uptake[above] > spleen + _EDGE_TOL_SUV, 4, 3)
            if spleen <= high:
                notes.append(
                    f"spleen SUVmean {spleen:.3g} is not above the liver band (upper edge "
                    f"{high:.3g}): no lesion can score 3"
                )
        elif above.any():
            notes.append(
                f"no spleen: Krenning score of the {int(above.sum())} lesion(s) above liver "
                "(3 or 4) not computed"
            )
    missing = int(np.sum(~np.isfinite(uptake)))
    if missing and notes[:1] != ["no liver reference: Krenning score not computed"]:
        notes.append(f"{missing} lesion(s) without {column}: no Krenning score")
    series = pd.Series(scores, index=lesions.index, name=KRENNING_COLUMN).astype("Int64")
    return series, "; ".join(notes)


def _number(value) -> float:
    """``value`` as float, NaN for None."""
    return float("nan") if value is None else float(value)
