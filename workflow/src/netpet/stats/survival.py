"""Kaplan-Meier estimates and their quantiles, numbers at risk and the log-rank test.

The reference implementation is R's ``survival`` package (``survfit``, ``summary.survfit``,
``quantile.survfit``, ``survdiff``); the tests compare against it to at least 4 significant
digits.

Confidence intervals of the Kaplan-Meier estimate use R's default ``conf.type = "log"``
(interval symmetric on the log-survival scale, upper limit capped at 1).  lifelines and SAS
default to ``"log-log"``; both that and ``"plain"`` are available through ``conf_type``, but the
workflow uses "log" so that its numbers equal R's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from netpet.errors import InputError

CONF_TYPES = ("log", "log-log", "plain")


def check_survival_data(time, event, *, source: str = "survival data") -> tuple:
    """Return ``time`` (float) and ``event`` (0/1 int) as arrays after checking them.

    Raises
    ------
    InputError
        When times are missing, negative or not finite, or events are not 0/1.
    """
    time = np.asarray(time, dtype=float)
    event_raw = np.asarray(event, dtype=float)
    if time.shape != event_raw.shape or time.ndim != 1:
        raise InputError(f"{source}: time and event must be 1-d and of equal length")
    if not np.all(np.isfinite(time)) or np.any(time < 0):
        raise InputError(
            f"{source}: survival times must be finite and >= 0; fix or remove the rows with "
            "missing or negative times"
        )
    if not np.all(np.isin(event_raw, (0.0, 1.0))):
        raise InputError(f"{source}: the event indicator must be 0 (censored) or 1 (event)")
    return time, event_raw.astype(int)


def kaplan_meier(time, event, *, conf_level: float = 0.95, conf_type: str = "log") -> pd.DataFrame:
    """Kaplan-Meier product-limit estimate with Greenwood standard errors.

    ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` (Kaplan & Meier 1958), with ``n_j`` the number
    at risk (time >= t_j) and ``d_j`` the events at ``t_j``.  ``std_err`` is the standard error
    of the cumulative hazard ``-log S`` by Greenwood's formula,
    ``sqrt(sum_{t_j <= t} d_j / (n_j (n_j - d_j)))``, exactly R's ``survfit()$std.err``.

    Confidence limits (R ``survfit(conf.type=...)``):

    - ``"log"`` (default, as R): ``exp(log S -/+ z se)``, upper capped at 1;
    - ``"log-log"`` (lifelines, SAS): ``exp(-exp(log(-log S) +/- z se / log S))``;
    - ``"plain"``: ``S (1 -/+ z se)`` clipped to [0, 1].

    Limits are NaN where ``S = 0`` (log and log-log).

    Parameters
    ----------
    time, event : array-like of shape (n,)
        Follow-up time (any unit) and event indicator (1 event, 0 censored).
    conf_level : float
        Two-sided confidence level.
    conf_type : {"log", "log-log", "plain"}
        Transform for the confidence interval.

    Returns
    -------
    pandas.DataFrame
        One row per distinct observed time: ``time, n_risk, n_event, n_censor, survival,
        std_err, ci_low, ci_high``.
    """
    time, event = check_survival_data(time, event)
    if conf_type not in CONF_TYPES:
        raise InputError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    utimes = np.unique(time)
    n_risk = np.array([(time >= t).sum() for t in utimes], dtype=float)
    n_event = np.array([event[time == t].sum() for t in utimes], dtype=float)
    n_total = np.array([(time == t).sum() for t in utimes], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        varhaz = np.cumsum(n_event / (n_risk * (n_risk - n_event)))
    varhaz[np.isnan(varhaz)] = np.inf
    se = np.sqrt(varhaz)
    low, high = _confint(surv, se, conf_level=conf_level, conf_type=conf_type)
    return pd.DataFrame(
        {
            "time": utimes,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": (n_total - n_event).astype(int),
            "survival": surv,
            "std_err": se,
            "ci_low": low,
            "ci_high": high,
        }
    )


def _confint(surv, se, *, conf_level: float, conf_type: str):
    """Confidence limits for survival ``surv`` given the SE ``se`` of the cumulative hazard."""
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    surv = np.asarray(surv, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            s = np.where(surv > 0, surv, np.nan)
            low = np.exp(np.log(s) - z * se)
            high = np.minimum(np.exp(np.log(s) + z * se), 1.0)
        elif conf_type == "log-log":
            s = np.where((surv > 0) & (surv < 1), surv, np.nan)
            low = np.exp(-np.exp(np.log(-np.log(s)) - z * se / np.log(s)))
            high = np.exp(-np.exp(np.log(-np.log(s)) + z * se / np.log(s)))
            one = surv == 1
            low[one], high[one] = 1.0, 1.0
        else:
            low = np.clip(surv - z * se * surv, 0, 1)
            high = np.clip(surv + z * se * surv, 0, 1)
    return low, high


def numbers_at_risk(time, times) -> np.ndarray:
    """Number of subjects still at risk (follow-up time >= t) at each of ``times``."""
    time = np.asarray(time, dtype=float)
    return np.array([(time >= t).sum() for t in np.atleast_1d(times)], dtype=int)


def survival_at(
    time, event, times, *, conf_level: float = 0.95, conf_type: str = "log"
) -> pd.DataFrame:
    """Kaplan-Meier estimate at given times, as R's ``summary(survfit(...), times, extend=TRUE)``.

    The estimate at ``t`` is the step function's value at the last observed time ``<= t``
    (1 before the first time); ``n_risk`` is the number with follow-up ``>= t``.

    Returns
    -------
    pandas.DataFrame
        ``time, n_risk, survival, std_err, ci_low, ci_high``; here ``std_err`` is the standard
        error of the survival probability, ``S * se(cumulative hazard)``, as R's summary reports.
    """
    km = kaplan_meier(time, event, conf_level=conf_level, conf_type=conf_type)
    times = np.atleast_1d(np.asarray(times, dtype=float))
    idx = np.searchsorted(km["time"].to_numpy(), times, side="right") - 1
    before = idx < 0
    safe = np.where(before, 0, idx)
    surv = np.where(before, 1.0, km["survival"].to_numpy()[safe])
    se_h = np.where(before, 0.0, km["std_err"].to_numpy()[safe])
    low = np.where(before, 1.0, km["ci_low"].to_numpy()[safe])
    high = np.where(before, 1.0, km["ci_high"].to_numpy()[safe])
    with np.errstate(invalid="ignore"):
        se_s = surv * se_h
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": numbers_at_risk(time, times),
            "survival": surv,
            "std_err": se_s,
            "ci_low": low,
            "ci_high": high,
        }
    )


def km_quantile(km: pd.DataFrame, p: float = 0.5) -> dict:
    """Survival-time quantile and its confidence limits read off a Kaplan-Meier table.

    Exactly R's ``quantile.survfit`` (survival 3.x, internal ``findq``): with the distribution
    ``F = 1 - S`` as a step function starting at (0, 0), the ``p`` quantile is the first time at
    which ``F >= p``; where ``F`` equals ``p`` (within sqrt(machine epsilon)) over a flat
    stretch, the midpoint of that stretch (to the last time when it is the end of the curve).
    The lower (upper) limit is the same quantile of the lower (upper) confidence curve of
    ``S``, so it inherits the curve's CI transform.  NaN = not reached.

    Parameters
    ----------
    km : pandas.DataFrame
        :func:`kaplan_meier` output: ``time``, ``survival``, ``ci_low``, ``ci_high``.
    p : float, optional
        Probability (0.5: the median).

    Returns
    -------
    dict
        ``median`` (the quantile), ``ci_low``, ``ci_high``, in the unit of ``time``.
    """
    x = np.concatenate([[0.0], km["time"].to_numpy(float)])

    def find(surv) -> float:
        y = np.concatenate([[0.0], 1.0 - np.asarray(surv, dtype=float)])
        return _findq(x, y, p)

    return {
        "median": find(km["survival"]),
        "ci_low": find(km["ci_low"]),
        "ci_high": find(km["ci_high"]),
    }


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R survival:::findq for one probability (see :func:`km_quantile`).

    ``x`` times and ``y`` the distribution ``F = 1 - S`` at them, both starting at (0, 0).  A
    confidence curve need not be monotone (the "log" upper limit rises again where the
    standard error jumps); R's ``approx(method = "constant", f = 1)`` then picks the time of
    the smallest ``F`` at or above ``p`` (it sorts by ``F``), not the first time ``F`` reaches
    ``p``: so does this.
    """
    tol = np.sqrt(np.finfo(float).eps)
    if p == 0:
        return float(x[0])
    if not np.any(np.isfinite(y)) or np.nanmax(y) < p:
        return np.nan
    x_max = x[-1]
    # duplicated(y) in R: keep first occurrences (NaN duplicates NaN).
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    valid = np.flatnonzero(~np.isnan(y))

    def knot_at_or_above(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, method = "constant", f = 1, rule = 1)
        knots = y[valid] + shift
        if p < knots.min():
            return None
        above = np.flatnonzero(knots >= p)
        return int(valid[above[np.argmin(knots[above])]]) if above.size else None

    index1, index2 = knot_at_or_above(tol), knot_at_or_above(-tol)
    quant = np.nan
    if index1 is not None and index2 is not None:
        quant = (x[index1] + x[index2]) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        quant = (x[index1] + x_max) / 2 if index1 is not None else np.nan
    return float(quant)


def median_survival(time, event) -> dict:
    """Kaplan-Meier median time with its 95 % CI, as R's ``survfit`` prints it ("log" CI).

    With ``event`` reversed (censoring as the event) it is the reverse Kaplan-Meier median
    follow-up (Schemper & Smith 1996, Control Clin Trials 17:343).

    Returns
    -------
    dict
        ``median``, ``ci_low``, ``ci_high`` (:func:`km_quantile`; NaN = not reached).
    """
    return km_quantile(kaplan_meier(time, event, conf_type="log"))


@dataclass(frozen=True)
class LogrankResult:
    """Result of :func:`logrank_test` (fields as R's ``survdiff``)."""

    chisq: float
    df: int
    p: float
    groups: tuple
    observed: np.ndarray
    expected: np.ndarray


def logrank_test(time, event, group) -> LogrankResult:
    """Log-rank test of equal survival between groups, as R's ``survdiff(rho = 0)``.

    At each distinct event time with ``d`` events among ``n`` at risk (``n_g`` in group g):
    expected ``E_g += d n_g / n``; hypergeometric covariance
    ``V_gh += d (n - d) / (n - 1) * n_g / n * (delta_gh - n_h / n)``.  The statistic is
    ``(O - E)' V^- (O - E)`` on k - 1 groups, chi-square with k - 1 degrees of freedom
    (Mantel 1966; Peto & Peto 1972).

    Parameters
    ----------
    time, event : array-like of shape (n,)
    group : array-like of shape (n,)
        Group labels (at least two distinct values).

    Returns
    -------
    LogrankResult
        ``chisq``, ``df``, ``p``, the sorted group labels and observed/expected events.
    """
    time, event = check_survival_data(time, event)
    group = np.asarray(group)
    levels = np.unique(group)
    if len(levels) < 2:
        raise InputError("log-rank test needs at least two groups")
    k = len(levels)
    gidx = np.searchsorted(levels, group)
    observed = np.bincount(gidx, weights=event, minlength=k).astype(float)
    expected = np.zeros(k)
    var = np.zeros((k, k))
    for t in np.unique(time[event == 1]):
        at_risk = time >= t
        n = at_risk.sum()
        d = event[(time == t)].sum()
        n_g = np.bincount(gidx[at_risk], minlength=k).astype(float)
        expected += d * n_g / n
        if n > 1:
            frac = n_g / n
            var += d * (n - d) / (n - 1) * (np.diag(frac) - np.outer(frac, frac))
    diff = (observed - expected)[:-1]
    chisq = float(diff @ np.linalg.solve(var[:-1, :-1], diff))
    df = k - 1
    return LogrankResult(
        chisq=chisq,
        df=df,
        p=float(stats.chi2.sf(chisq, df)),
        groups=tuple(levels.tolist()),
        observed=observed,
        expected=expected,
    )
