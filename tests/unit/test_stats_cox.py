"""Cox models: Firth fallback against an independent penalised-likelihood implementation,
separation detection, categorical coding.  (Efron fits, concordance and cox.zph are compared
with R in test_stats_r_agreement.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from netpet.stats.cox import (
    COX_COLUMNS,
    categorical_design,
    concordance_index,
    cox_table,
    fit_cox,
    fit_firth,
    fit_model,
    monotone_likelihood,
)

# 12 patients; nobody with x = 0 progresses: the dichotomy has a zero-event group
TIME = np.array([20, 22, 18, 25, 19, 24, 5, 7, 3, 9, 4, 6], dtype=float)
EVENT = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
HIGH = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], dtype=float)
G2 = np.array([0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1], dtype=float)


def breslow_penalised(beta, x, time, event):
    """Firth-penalised Breslow log partial likelihood, l + 1/2 log det I, written plainly."""
    beta = np.atleast_1d(beta)
    eta = x @ beta
    loglik = 0.0
    info = np.zeros((x.shape[1], x.shape[1]))
    for i in np.flatnonzero(event):
        risk = time >= time[i]
        w = np.exp(eta[risk])
        xr = x[risk]
        mean = w @ xr / w.sum()
        loglik += eta[i] - np.log(w.sum())
        info += (xr - mean).T @ ((xr - mean) * w[:, None]) / w.sum()
    return loglik + 0.5 * np.linalg.slogdet(info)[1]


def reference_firth(x, j=0):
    """Penalised MLE, profile-likelihood 95 % CI and penalised LR p of coefficient j."""

    def neg(b):
        return -breslow_penalised(b, x, TIME, EVENT)

    fit = optimize.minimize(neg, np.zeros(x.shape[1]), method="BFGS", options={"gtol": 1e-10})
    lmax = -fit.fun

    def profile(value):
        if x.shape[1] == 1:
            return breslow_penalised([value], x, TIME, EVENT)
        others = [k for k in range(x.shape[1]) if k != j]

        def neg_rest(r):
            b = np.empty(x.shape[1])
            b[j], b[others] = value, r
            return neg(b)

        return -optimize.minimize(
            neg_rest, fit.x[others], method="BFGS", options={"gtol": 1e-10}
        ).fun

    crit = stats.chi2.ppf(0.95, 1) / 2
    bhat = fit.x[j]
    low = optimize.brentq(lambda v: lmax - profile(v) - crit, bhat - 20, bhat)
    high = optimize.brentq(lambda v: lmax - profile(v) - crit, bhat, bhat + 20)
    p_lr = stats.chi2.sf(2 * (lmax - profile(0.0)), 1)
    return bhat, low, high, p_lr


@pytest.mark.parametrize("with_grade", [False, True])
def test_firth_matches_independent_penalised_likelihood(with_grade):
    x = np.column_stack([HIGH, G2]) if with_grade else HIGH[:, None]
    fit = fit_firth(TIME, EVENT, x)
    bhat, low, high, p_lr = reference_firth(x)
    assert fit.method == "firth_profile"
    np.testing.assert_allclose(
        [fit.coef[0], fit.ci_low[0], fit.ci_high[0], fit.p_lr[0]],
        [bhat, low, high, p_lr],
        rtol=2e-5,
    )


def test_separation_detected_and_falls_back():
    assert "no events" in monotone_likelihood(TIME, EVENT, HIGH[:, None])
    plain = fit_cox(TIME, EVENT, HIGH[:, None])
    assert plain.monotone_reason  # the Efron estimate diverges
    fit = fit_model(TIME, EVENT, HIGH[:, None])
    assert fit.method == "firth_profile"
    assert np.isfinite(fit.ci_high[0]) and fit.coef[0] > 0


def test_no_separation_keeps_efron():
    x = np.array([3.0, 1, 2, 5, 4, 0, 6, 8, 7, 9, 10, 11])
    fit = fit_model(TIME, EVENT, x[:, None])
    assert fit.method == "cox_efron" and fit.converged
    assert monotone_likelihood(TIME, EVENT, x[:, None]) == ""


def test_concordance_hand_computed():
    # comparable pairs (shorter time with event first): (1,2) and (1,3) concordant,
    # (2,3) tied risk, (1,4) and (2,4) discordant, (3,4) equal times, event vs censored:
    # comparable and discordant -> (2 + 1/2) / 6
    c = concordance_index([1, 2, 3, 3], [1, 1, 1, 0], [3.0, 2.0, 2.0, 5.0])
    assert c == pytest.approx(2.5 / 6)


def test_categorical_design_merges_single_patient_level():
    grade = pd.Series(["G1", "G2", "G2", "G3", "G1", "G2"])
    x, names, note = categorical_design(grade, name="who_grade", levels=("G1", "G2", "G3"))
    assert names == ["who_grade=G2+G3"]
    np.testing.assert_array_equal(x[:, 0], [0, 1, 1, 1, 0, 1])
    assert "G3 (1 patient) merged into G2" in note
    x, names, note = categorical_design(
        pd.Series(["G2", "G1", "G2", "G1"]), name="who_grade", levels=("G1", "G2", "G3")
    )
    assert names == ["who_grade=G2"] and note == ""  # absent G3 is simply dropped


def test_cox_table_columns_and_grade_note():
    d = pd.DataFrame(
        {
            "t": TIME,
            "e": EVENT,
            "v": np.arange(12.0) ** 1.3,
            "who_grade": ["G1", "G2"] * 5 + ["G3", "G2"],
        }
    )
    out = cox_table(
        d,
        ["v"],
        time_col="t",
        event_col="e",
        cutpoints=pd.DataFrame({"parameter": ["v"], "cutpoint": [6.0]}),
        adjust_for=["who_grade"],
    )
    assert tuple(out.columns) == COX_COLUMNS
    assert out["coding"].tolist() == ["continuous", "dichotomised"]
    assert "G3 (1 patient) merged into G2" in out.loc[0, "covariates"]
    assert out.loc[1, "method"] == "firth_profile"  # v > 6 holds all events here


def test_separation_with_events_in_both_groups_is_detected():
    """All events of the high group happen after the low group has left the risk set."""
    time = np.array([1, 2, 3, 4, 5, 6, 7], dtype=float)
    event = np.array([1, 1, 1, 1, 1, 0, 0])
    high = np.array([0, 0, 0, 1, 1, 1, 1], dtype=float)[:, None]
    assert monotone_likelihood(time, event, high) == ""  # both groups have events
    plain = fit_cox(time, event, high)
    assert plain.monotone_reason  # but the estimate diverges
    assert fit_model(time, event, high).method == "firth_profile"
