"""How numbers and notes are printed in the paper tables and figures.

p-values (:func:`format_p`), numbers with a typographic minus (:func:`format_number`), hazard
ratios with their CI (:func:`format_hr`, :func:`cox_hr_text`), median (IQR) cells
(:func:`format_median_iqr`), Kaplan-Meier medians (:func:`format_median_ci`), cut-points
(:func:`format_cutpoint`, :func:`dichotomy_label`) and the reasons of ``note`` cells
(:func:`note_parts`).  The same functions print the tables and the figures, so both show the
same digits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from netpet.errors import InputError
from netpet.stats.columns import split_notes
from netpet.stats.cox import FIRTH_NOTE

#: Printed for a p-value below this bound: "< 0.001".
P_FLOOR = 0.001

#: Marker of Cox rows fitted with Firth's penalised likelihood.
FIRTH_MARK = "†"

MINUS = "−"  # U+2212, the typographic minus sign
EN_DASH = "–"
#: A Kaplan-Meier median (or CI limit) that the curve does not reach.
NOT_REACHED = "NR"
#: A value that was not computed.
MISSING_TEXT = "—"


def format_p(p: float, *, digits: int = 3, floor: float = P_FLOOR) -> str:
    """Format a p-value as a paper prints it.

    Parameters
    ----------
    p : float
        The p-value, >= 0; values above 1 (upper-bound approximations) print as 1.  NaN
        prints as an em dash (not computed).
    digits : int, optional
        Significant digits, trailing zeros kept (0.0490, 0.500).
    floor : float, optional
        p-values below it print as ``"< 0.001"``.

    Returns
    -------
    str
        E.g. ``"< 0.001"``, ``"0.00123"`` when ``floor`` is smaller, ``"0.0490"``, ``"1.00"``.

    Examples
    --------
    >>> format_p(0.04912)
    '0.0491'
    >>> format_p(0.0004)
    '< 0.001'
    """
    if p is None or not np.isfinite(p):
        return MISSING_TEXT
    if p < 0:
        raise InputError(f"format_p: negative p-value {p!r}")
    # Bonferroni-type approximations (Lausen et al. 1994) can exceed 1: print those as 1.
    p = min(p, 1.0)
    if p < floor:
        return f"< {floor:g}"
    text = f"{p:#.{digits}g}"
    # 0.99951 rounds to "1.000": print p = 1 with the same number of significant digits.
    if float(text) >= 1:
        return f"{1:#.{digits}g}"
    return text.rstrip(".")


def _decimals_for(value: float, sig: int) -> int:
    """Decimals that print ``value`` with ``sig`` significant digits (0 for large values)."""
    if not np.isfinite(value) or value == 0:
        return max(sig - 1, 0)
    return max(sig - 1 - math.floor(math.log10(abs(value))), 0)


def format_number(value: float, *, decimals: int | None = None, sig: int = 3) -> str:
    """Format a number with a typographic minus sign.

    Parameters
    ----------
    value : float
        NaN prints as an em dash; +inf/-inf as ``"∞"``/``"−∞"``.
    decimals : int, optional
        Fixed decimals; default: enough for ``sig`` significant digits, no exponent (1234.5
        prints as ``"1235"``, 0.01234 as ``"0.0123"``).
    sig : int, optional
        Significant digits used when ``decimals`` is not given.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_TEXT
    if math.isinf(value):
        return "∞" if value > 0 else MINUS + "∞"
    if decimals is None:
        decimals = _decimals_for(value, sig)
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "−0.0"
    return text.replace("-", MINUS)


def interval(low: str, high: str) -> str:
    """``low–high``, or ``low to high`` when a minus sign would make the dash ambiguous."""
    if low.startswith(MINUS) or high.startswith(MINUS):
        return f"{low} to {high}"
    return f"{low}{EN_DASH}{high}"


def format_triple(median: float, lower: float, upper: float) -> str:
    """``"56.5 (32.0–74.0)"``: one decimal, none when all three are whole (``"57 (32–74)"``)."""
    decimals = 0 if all(float(v).is_integer() for v in (median, lower, upper)) else 1

    def f(v):
        return format_number(v, decimals=decimals)

    return f"{f(median)} ({interval(f(lower), f(upper))})"


def format_hr(hr: float, ci_low: float, ci_high: float, *, decimals: int = 3) -> str:
    """Format a hazard ratio with its confidence interval: ``"3.053 (1.003–9.289)"``.

    Ratios of 100 or more print with 3 significant digits (120.4 -> 120); an infinite bound
    prints as ∞, a bound that was not computed (NaN) as an em dash; without both bounds:
    ``"0.115 (CI —)"``.
    """

    def one(x: float) -> str:
        if np.isfinite(x) and abs(x) >= 100:
            return format_number(x, sig=3)
        return format_number(x, decimals=decimals)

    if np.isnan(ci_low) and np.isnan(ci_high):
        return f"{one(hr)} (CI {MISSING_TEXT})"
    return f"{one(hr)} ({interval(one(ci_low), one(ci_high))})"


def cox_hr_text(hr: float, ci_low: float, ci_high: float, method: str, *, decimals: int = 3) -> str:
    """``"3.053 (1.003–9.289)"``, with :data:`FIRTH_MARK` for Firth fits, or "not estimable"."""
    if method == "not_estimable" or not np.isfinite(hr):
        return "not estimable"
    return format_hr(hr, ci_low, ci_high, decimals=decimals) + (
        FIRTH_MARK if method == "firth_profile" else ""
    )


def iqr_decimals(summaries: Sequence[Mapping], *, sig: int = 3) -> int:
    """Decimals shared by median (IQR) cells: ``sig`` significant digits of the largest number.

    ``summaries`` are :func:`netpet.stats.descriptive.median_iqr` results.  Whole-number data
    (counts) print with no decimal, or one when a quartile falls between two counts.
    """
    numbers = [s[k] for s in summaries for k in ("median", "q1", "q3") if s["n"] > 0]
    if not numbers:
        return 0
    if all(s["integer"] for s in summaries if s["n"] > 0):
        return 0 if all(float(v).is_integer() for v in numbers) else 1
    largest = max(abs(v) for v in numbers)
    return _decimals_for(largest, sig)


def format_median_iqr(summary: Mapping, *, decimals: int) -> str:
    """``"12.3 (8.4–20.1)"`` from a :func:`~netpet.stats.descriptive.median_iqr` summary.

    An em dash when there is no value.
    """
    if summary["n"] == 0:
        return MISSING_TEXT

    def f(v):
        return format_number(v, decimals=decimals)

    return f"{f(summary['median'])} ({interval(f(summary['q1']), f(summary['q3']))})"


def format_median_ci(km: Mapping) -> str:
    """``"8.0 (5.0–NR)"`` from :func:`netpet.stats.survival.median_survival`; NR: not reached."""

    def f(v):
        return NOT_REACHED if not np.isfinite(v) else format_number(v, decimals=1)

    if not np.isfinite(km["median"]):
        return NOT_REACHED
    return f"{f(km['median'])} ({interval(f(km['ci_low']), f(km['ci_high']))})"


def format_cutpoint(cutpoint: float) -> str:
    """Print a cut-point (3 significant digits) for the coding column."""
    return format_number(cutpoint, sig=3)


def dichotomy_label(cutpoint: float) -> str:
    """Coding text of a dichotomised parameter: ``"≤ c (ref.) vs > c"``.

    Groups as R's ``maxstat``: low = value ≤ cut-point (the reference of the HR), high =
    value > cut-point.
    """
    c = format_cutpoint(cutpoint)
    return f"≤ {c} (ref.) vs > {c}"


def note_parts(value) -> list[str]:
    """The reasons in a ``note`` cell to print, without the Firth explanation.

    Firth rows are marked (:data:`FIRTH_MARK`) and explained in a footnote of their own.
    """
    return [part for part in split_notes(value) if not part.startswith(FIRTH_NOTE)]
