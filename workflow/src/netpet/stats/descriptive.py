"""Descriptive statistics of the paper tables, computed as R computes them.

- :func:`median_iqr`: median and quartiles as R's ``quantile(type = 7)`` (numpy's default);
- :func:`wilcoxon_signed_rank_p`: R's ``wilcox.test(after, before, paired = TRUE)``.

Kaplan-Meier medians live with the Kaplan-Meier estimate in :mod:`netpet.stats.survival`
(:func:`~netpet.stats.survival.median_survival`).  The tests compare both with R
(``tests/fixtures/r/wilcoxon.tsv``, made by ``tests/r/make_fixtures.R``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.stats


def median_iqr(values: Sequence[float]) -> dict:
    """n, median and quartiles of the finite values (linear interpolation: R type 7, numpy).

    Returns
    -------
    dict
        ``n``, ``median``, ``q1``, ``q3`` (NaN when there is no value) and ``integer`` (all
        values are whole numbers, e.g. lesion counts).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan, "integer": False}
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    return {
        "n": int(x.size),
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "integer": bool(np.all(x == np.round(x))),
    }


def wilcoxon_signed_rank_p(after: Sequence[float], before: Sequence[float]) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p of paired differences ``after - before``.

    Computed as R's ``wilcox.test(after, before, paired = TRUE)`` does: pairs with a missing
    value and zero differences are dropped; the exact null distribution is used when fewer
    than 50 pairs remain, no difference was zero and no absolute differences are tied,
    otherwise the normal approximation with tie-corrected variance and continuity correction
    (Wilcoxon 1945; Hollander & Wolfe 1999, Nonparametric Statistical Methods, section 3.1).

    Parameters
    ----------
    after, before : sequence of float, shape (n,)
        Paired values, e.g. a parameter at follow-up and at baseline of the same patients.

    Returns
    -------
    p : float
        NaN when no non-zero difference remains.
    method : str
        ``"exact"``, ``"normal approximation"`` or ``"not computed"``.
    """
    a = np.asarray(after, dtype=float)
    b = np.asarray(before, dtype=float)
    d = a - b
    d = d[np.isfinite(d)]
    # R leaves the exact test when it drops zero differences, as it does with ties.
    zeros = bool(np.any(d == 0))
    d = d[d != 0]
    if d.size == 0:
        return np.nan, "not computed"
    ties = np.unique(np.abs(d)).size < d.size
    if d.size < 50 and not ties and not zeros:
        return float(scipy.stats.wilcoxon(d, method="exact").pvalue), "exact"
    res = scipy.stats.wilcoxon(d, method="approx", correction=True)
    return float(res.pvalue), "normal approximation"
