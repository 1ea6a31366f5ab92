"""Internal validation of a data-driven cut-point: bootstrap of the whole search-and-fit.

A cut-point chosen to maximise the log-rank statistic makes the hazard ratio of the resulting
dichotomy too large (optimistic).  Harrell's bootstrap estimates that optimism by repeating
the *whole* procedure on resamples: for each bootstrap sample, search the cut-point and fit
the Cox model on the sample (``log HR_boot``), then apply that same cut-point to the original
data and fit again (``log HR_orig``).  The search is two-sided (it maximises ``|T|``), so the
direction of the effect is chosen by the data too; the optimism is therefore measured in the
direction each bootstrap search found, ``d_b = sign(log HR_boot)``:
``optimism = mean(d_b log HR_boot - d_b log HR_orig) = mean(|log HR_boot| - d_b log HR_orig)``,
and the optimism-corrected effect keeps the apparent direction with its size reduced,
``log HR_corrected = sign(a) (|a| - optimism)`` for apparent ``a`` (Harrell FE, Lee KL, Mark DB
(1996) Stat Med 15:361-387; Efron B, Tibshirani R (1993) An Introduction to the Bootstrap,
ch. 17).  A corrected value of the opposite sign means the apparent effect is explained by
the search.  How often each cut-point is chosen shows how stable the cut is.

With few events many resamples have no admissible cut-point (e.g. no event drawn) or a hazard
ratio that cannot be estimated even with Firth's penalty (e.g. a singular information); such
resamples are skipped and counted (``n_skipped_no_cutpoint``, ``n_skipped_not_estimable``),
and ``note`` says so.  The optimism is the mean over the used resamples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netpet.errors import InputError
from netpet.stats.columns import BOOTSTRAP_COLUMNS, join_notes
from netpet.stats.cox import (
    EstimationError,
    _newton_raphson,
    _RiskSets,
    firth_model,
    monotone_likelihood,
)
from netpet.stats.cutpoint import no_cutpoint_reason, require_columns, search_cutpoint
from netpet.stats.survival import check_survival_data


def dichotomy_log_hr(time, event, high) -> float:
    """Log hazard ratio of ``high`` (0/1) by Cox (Efron), or Firth when the likelihood is monotone.

    The same estimator as :func:`netpet.stats.cox.fit_model` uses for a single binary
    covariate, without CIs (for speed).  NaN when ``high`` does not vary, there is no event or
    the Firth fit fails (:class:`netpet.stats.cox.EstimationError`: e.g. one event whose risk
    set holds one group only).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    x = np.asarray(high, dtype=float)[:, None]
    if event.sum() == 0 or np.unique(x).size < 2:
        return float("nan")
    if not monotone_likelihood(time, event, x):
        rs = _RiskSets(time, event)
        beta, _, info, converged = _newton_raphson(x[rs.order], rs)
        se = 1 / np.sqrt(info[0, 0]) if info[0, 0] > 0 else np.inf
        if not monotone_likelihood(time, event, x, converged=converged, coef=beta, se=[se]):
            return float(beta[0])
    try:
        model, _ = firth_model(time, event, x)
    except EstimationError:
        return float("nan")
    return float(model.coef_[0])


@dataclass(frozen=True)
class BootstrapResult:
    """Result of :func:`bootstrap_cutpoint`.

    ``n_used + n_skipped_no_cutpoint + n_skipped_not_estimable == n_resamples``; ``note`` says
    why a value is NaN and how many resamples were skipped.
    """

    parameter: str
    cutpoint: float
    log_hr_apparent: float
    optimism: float
    n_resamples: int
    n_used: int
    boot_cutpoints: np.ndarray = field(repr=False)
    log_hr_boot: np.ndarray = field(repr=False)
    log_hr_orig: np.ndarray = field(repr=False)
    n_skipped_no_cutpoint: int = 0
    n_skipped_not_estimable: int = 0
    note: str = ""

    @property
    def log_hr_corrected(self) -> float:
        """Optimism-corrected log hazard ratio, ``sign(a) (|a| - optimism)``."""
        a = self.log_hr_apparent
        return float(np.sign(a) * (abs(a) - self.optimism))

    def cut_frequencies(self) -> pd.DataFrame:
        """How often each cut-point was chosen: ``cutpoint, count, fraction`` (of used samples)."""
        cuts = self.boot_cutpoints[np.isfinite(self.boot_cutpoints)]
        values, counts = np.unique(cuts, return_counts=True)
        total = counts.sum()
        return pd.DataFrame(
            {
                "parameter": self.parameter,
                "cutpoint": values,
                "count": counts,
                "fraction": counts / total if total else np.zeros(len(counts)),
            }
        )


def bootstrap_cutpoint(
    time,
    event,
    x,
    *,
    parameter: str = "x",
    minprop: float = 0.1,
    n_resamples: int = 500,
    seed: int = 0,
) -> BootstrapResult:
    """Bootstrap optimism of the HR of a dichotomy at the maximally selected cut-point.

    Each resample draws n patients with replacement (``numpy.random.default_rng(seed)``),
    searches the cut-point (:func:`netpet.stats.cutpoint.search_cutpoint`, same ``minprop``),
    fits the HR of ``x > cut`` on the resample and on the original data
    (:func:`dichotomy_log_hr`).  Resamples without an admissible cut-point or with an
    inestimable HR (on the resample or on the original data at the resample's cut-point) are
    skipped and counted.  Rows with missing ``x`` are dropped first.

    Returns
    -------
    BootstrapResult
        Apparent log HR, optimism (see module docstring: measured in the direction each
        resample's search found), the chosen cut-point of every resample (NaN when skipped),
        the counts of skipped resamples and a note: NaN values (no cut-point or no estimable
        HR on the data, no usable resample) and skipped resamples are explained there.
    """
    if n_resamples < 1:
        raise InputError(f"n_resamples must be >= 1, got {n_resamples}")
    time, event = check_survival_data(time, event, source=f"bootstrap of {parameter!r}")
    x = np.asarray(x, dtype=float)
    keep = ~np.isnan(x)
    time, event, x = time[keep], event[keep], x[keep]
    n = len(x)
    notes = []
    cut, _ = search_cutpoint(time, event, x, minprop=minprop) if n else (np.nan, np.nan)
    if np.isfinite(cut):
        apparent = dichotomy_log_hr(time, event, x > cut)
        if not np.isfinite(apparent):
            notes.append("HR at the cut-point not estimable (Firth fit failed)")
    else:
        apparent = float("nan")
        notes.append(f"no cut-point ({no_cutpoint_reason(event, x, minprop=minprop)})")
    rng = np.random.default_rng(seed)
    cuts = np.full(n_resamples, np.nan)
    boot = np.full(n_resamples, np.nan)
    orig = np.full(n_resamples, np.nan)
    on_data: dict[float, float] = {}  # log HR on the original data per cut-point (reused)
    no_cut = not_estimable = 0
    for b in range(n_resamples):
        if n == 0:
            no_cut += 1
            continue
        idx = rng.integers(0, n, n)
        c, _ = search_cutpoint(time[idx], event[idx], x[idx], minprop=minprop)
        if not np.isfinite(c):
            no_cut += 1
            continue
        lb = dichotomy_log_hr(time[idx], event[idx], x[idx] > c)
        if c not in on_data:
            on_data[c] = dichotomy_log_hr(time, event, x > c)
        lo = on_data[c]
        if np.isfinite(lb) and np.isfinite(lo):
            cuts[b], boot[b], orig[b] = c, lb, lo
        else:
            not_estimable += 1
    used = np.isfinite(boot)
    direction = np.sign(boot[used])
    optimism = float(np.mean(direction * (boot[used] - orig[used]))) if used.any() else np.nan
    if no_cut or not_estimable:
        notes.append(
            f"{no_cut + not_estimable} of {n_resamples} resamples skipped ({no_cut} without an "
            f"admissible cut-point, {not_estimable} with an inestimable HR)"
        )
    if not used.any():
        notes.append("no usable resample: optimism not estimable")
    return BootstrapResult(
        parameter=parameter,
        cutpoint=float(cut),
        log_hr_apparent=apparent,
        optimism=optimism,
        n_resamples=n_resamples,
        n_used=int(used.sum()),
        boot_cutpoints=cuts,
        log_hr_boot=boot,
        log_hr_orig=orig,
        n_skipped_no_cutpoint=no_cut,
        n_skipped_not_estimable=not_estimable,
        note=join_notes(notes),
    )


def bootstrap_table(
    patients: pd.DataFrame,
    parameters: list[str],
    time_col: str,
    event_col: str,
    *,
    minprop: float = 0.1,
    n_resamples: int = 500,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bootstrap validation of the cut-point of every parameter.

    Parameter ``i`` uses seed ``seed + i``.

    Returns
    -------
    summary : pandas.DataFrame
        Columns :data:`BOOTSTRAP_COLUMNS`: apparent and optimism-corrected HR of
        ``x > cutpoint``, the optimism on the log scale, resamples drawn, used and skipped
        (without an admissible cut-point; with an inestimable HR), ``cut_stability``, the
        fraction of used resamples whose cut-point equals the original one (NaN when none
        was used), and ``note`` (why a value is empty, how many resamples were skipped).
    frequencies : pandas.DataFrame
        ``parameter, cutpoint, count, fraction``: how often each cut-point was chosen.
    """
    require_columns(patients, [time_col, event_col, *parameters], "bootstrap validation")
    rows, freqs = [], []
    for i, name in enumerate(parameters):
        res = bootstrap_cutpoint(
            patients[time_col],
            patients[event_col],
            patients[name],
            parameter=name,
            minprop=minprop,
            n_resamples=n_resamples,
            seed=seed + i,
        )
        freq = res.cut_frequencies()
        same = freq.loc[freq["cutpoint"] == res.cutpoint, "fraction"]
        stability = float(same.iloc[0]) if len(same) else 0.0
        rows.append(
            {
                "parameter": name,
                "cutpoint": res.cutpoint,
                "hr_apparent": float(np.exp(res.log_hr_apparent)),
                "optimism_log_hr": res.optimism,
                "hr_corrected": float(np.exp(res.log_hr_corrected)),
                "n_resamples": res.n_resamples,
                "n_used": res.n_used,
                "n_skipped_no_cutpoint": res.n_skipped_no_cutpoint,
                "n_skipped_not_estimable": res.n_skipped_not_estimable,
                "cut_stability": stability if res.n_used else float("nan"),
                "note": res.note,
            }
        )
        freqs.append(freq)
    summary = pd.DataFrame(rows, columns=list(BOOTSTRAP_COLUMNS))
    frequencies = (
        pd.concat(freqs, ignore_index=True)
        if freqs
        else pd.DataFrame(columns=["parameter", "cutpoint", "count", "fraction"])
    )
    return summary, frequencies
