"""netpet.stats against R's survival / maxstat on the fixtures of tests/r/make_fixtures.R.

(The Wilcoxon fixtures of the same script are checked in test_stats_descriptive.py.)

Deterministic quantities must agree to a relative 5e-5 (4 significant digits) or better;
Monte-Carlo ones (R's Genz-Bretz pmvnorm, condMC permutations) within their error.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netpet.stats.cox import cox_table
from netpet.stats.cutpoint import (
    logrank_scores,
    maxstat_test,
    p_permutation,
    standardised_statistics,
)
from netpet.stats.survival import kaplan_meier, km_quantile, logrank_test, survival_at

FIXTURES = Path(__file__).parents[1] / "fixtures" / "r"
SCRIPT = Path(__file__).parents[1] / "r" / "make_fixtures.R"
RTOL = 5e-5
CASES = pd.read_csv(FIXTURES / "cases.tsv", sep="\t")
NAMES = list(CASES["name"])


def read(name: str, kind: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{name}_{kind}.tsv", sep="\t", keep_default_na=True)


def data(name: str) -> pd.DataFrame:
    return read(name, "data")


def assert_rel(actual, expected, rtol=RTOL, what=""):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_array_equal(np.isfinite(actual), np.isfinite(expected), err_msg=what)
    ok = np.isfinite(expected)
    np.testing.assert_allclose(actual[ok], expected[ok], rtol=rtol, atol=0, err_msg=what)


@pytest.mark.parametrize("name", NAMES)
def test_maxstat_deterministic_parts(name):
    d = data(name)
    for _, r in read(name, "maxstat").iterrows():
        res = maxstat_test(
            d["time"],
            d["event"],
            d[r.predictor],
            minprop=r.minprop,
            maxprop=r.maxprop,
            n_permutations=0,
        )
        what = f"{name} {r.predictor} minprop={r.minprop}"
        assert res.cutpoint == pytest.approx(r.cutpoint, rel=1e-12), what
        assert (res.n_low, res.n_high) == (r.n_low, r.n_high), what
        assert len(res.candidates) == r.n_candidates, what
        assert_rel(res.statistic, r.statistic, 1e-10, what)
        assert_rel(res.p_lau92, r.p_lau92, 1e-10, what)
        assert_rel(res.p_lau94, r.p_lau94, 1e-10, what)
        if r.p_exact_algorithm in ("Miwa", "normal"):
            # Miwa's algorithm is near exact: better than 4 significant digits
            assert_rel(res.p_exact, r.p_exact, 1e-5, what)
        else:
            # Genz-Bretz is randomised; its reported error bounds the difference
            assert abs(res.p_exact - r.p_exact) <= 2 * r.p_exact_error + 1e-9, what


@pytest.mark.parametrize("name", NAMES)
def test_cutpoint_curves(name):
    d = data(name)
    curves = read(name, "curves")
    for (pred, minprop), ref in curves.groupby(["predictor", "minprop"]):
        dd = d[d[pred].notna()]
        cuts, _, stat = standardised_statistics(
            logrank_scores(dd["time"], dd["event"]), dd[pred], minprop=minprop
        )
        assert_rel(cuts, ref["candidate"], 1e-12, f"{name} {pred}")
        assert_rel(stat, ref["statistic"], 1e-10, f"{name} {pred}")


@pytest.mark.parametrize("name", NAMES)
def test_permutation_p_within_monte_carlo_error(name):
    """R's condMC counts M* > M over B; ours with count_ties=False is the same estimator."""
    d = data(name)
    n_perm = 20000
    for _, r in read(name, "maxstat").iterrows():
        dd = d[d[r.predictor].notna()]
        scores = logrank_scores(dd["time"], dd["event"])
        _, m, stat = standardised_statistics(scores, dd[r.predictor], minprop=r.minprop)
        b = float(stat.max())
        x = np.sort(dd[r.predictor].to_numpy())
        strict = p_permutation(scores, x, m, b, n_permutations=n_perm, seed=7, count_ties=False)
        inclusive = p_permutation(scores, x, m, b, n_permutations=n_perm, seed=7)
        p = r.p_condmc
        se = np.sqrt(max(p * (1 - p), 1e-4) * (1 / r.n_permutations + 1 / n_perm))
        # R compares floating sums with ">", so exact ties of the maximum fall either way:
        # R's value lies between the strict and the tie-inclusive count
        assert strict - 4 * se <= p <= inclusive + 4 * se, (name, r.predictor, strict, p)


@pytest.mark.parametrize("name", NAMES)
def test_survdiff(name):
    d = data(name)
    for _, r in read(name, "survdiff").iterrows():
        dd = d[d[r.predictor].notna()]
        res = logrank_test(dd["time"], dd["event"], (dd[r.predictor] > r.cutpoint).astype(int))
        assert_rel(res.chisq, r.chisq, 1e-9, name)
        assert_rel(res.p, r.p, 1e-9, name)
        assert_rel(res.expected, [r.expected_low, r.expected_high], 1e-9, name)
        assert_rel(res.observed, [r.observed_low, r.observed_high], 0, name)


@pytest.mark.parametrize("name", NAMES)
def test_survfit_log_ci(name):
    d = data(name)
    sd = read(name, "survdiff")
    sf = read(name, "survfit")
    sf["predictor"] = sf["predictor"].fillna("")
    for (pred, minprop, group), ref in sf.groupby(["predictor", sf["minprop"].fillna(-1), "group"]):
        if group == "all":
            dd = d
        else:
            cut = sd[(sd.predictor == pred) & (sd.minprop == minprop)]["cutpoint"].iloc[0]
            dd = d[d[pred].notna()]
            dd = dd[(dd[pred] > cut) == (group == "high")]
        out = survival_at(dd["time"], dd["event"], ref["time"])
        what = f"{name} {pred} {group}"
        assert_rel(out["n_risk"], ref["n_risk"], 0, what)
        assert_rel(out["survival"], ref["surv"], 1e-10, what)
        assert_rel(out["std_err"], ref["std_err"], 1e-9, what)
        assert_rel(out["ci_low"], ref["lower"], 1e-9, what)
        assert_rel(out["ci_high"], ref["upper"], 1e-9, what)


@pytest.mark.parametrize("name", NAMES)
def test_km_quantiles(name):
    """quantile(survfit(conf.type = "log"), c(0.25, 0.5, 0.75)): quartiles and their CIs.

    Overall, by reverse Kaplan-Meier (censoring as event: the median follow-up of Table 1) and
    for the low and high groups of each cut-point; NaN where R says NA (not reached).
    """
    d = data(name)
    sd = read(name, "survdiff")
    ref = read(name, "quantile")
    ref["predictor"] = ref["predictor"].fillna("")
    for (pred, minprop, group), rows in ref.groupby(
        ["predictor", ref["minprop"].fillna(-1), "group"]
    ):
        if group in ("all", "reverse"):
            dd = d
        else:
            cut = sd[(sd.predictor == pred) & (sd.minprop == minprop)]["cutpoint"].iloc[0]
            dd = d[d[pred].notna()]
            dd = dd[(dd[pred] > cut) == (group == "high")]
        event = 1 - dd["event"] if group == "reverse" else dd["event"]
        km = kaplan_meier(dd["time"], event, conf_type="log")
        for r in rows.itertuples():
            got = km_quantile(km, r.p)
            what = f"{name} {pred} {group} p={r.p}"
            assert_rel(got["median"], r.quantile, 1e-12, what)
            assert_rel(got["ci_low"], r.lower, 1e-12, what)
            assert_rel(got["ci_high"], r.upper, 1e-12, what)


@pytest.mark.parametrize("name", NAMES)
def test_coxph_efron(name):
    case = CASES.set_index("name").loc[name]
    d = data(name)
    ms = read(name, "maxstat").rename(columns={"predictor": "parameter"})
    ms = ms[ms["minprop"] == ms["minprop"].iloc[0]]
    ref = read(name, "cox")
    ref["covariates"] = ref["covariates"].fillna("")
    for adjust in (None, [case["adjust"]]):
        out = cox_table(
            d,
            list(ms["parameter"]),
            time_col="time",
            event_col="event",
            cutpoints=ms,
            adjust_for=adjust,
        )
        for _, row in out.iterrows():
            r = ref[
                (ref.predictor == row.parameter)
                & (ref.coding == row.coding)
                & (ref.covariates == ("" if adjust is None else case["adjust"]))
            ].iloc[0]
            what = f"{name} {row.parameter} {row.coding} {adjust}"
            assert (row.n, row.events) == (r.n, r.events), what
            assert_rel(row.concordance, r.concordance, 1e-9, what)
            if row.method == "firth_profile":
                # R's coxph diverges here (HR ~ 0 or ~ 1e8, CI 0-Inf): the row must be Firth
                assert abs(r.coef) > 5 or not np.isfinite(r.ci_high) or r.ci_low == 0, what
                continue
            assert row.method == "cox_efron"
            for col in ("hr", "ci_low", "ci_high", "p_wald", "p_lr", "ph_p"):
                assert_rel(row[col], r[col], 1e-6, f"{what} {col}")


def test_zero_event_group_falls_back_to_firth():
    out = cox_table(
        data("zero_event"),
        ["x"],
        time_col="time",
        event_col="event",
        codings=("dichotomised",),
        cutpoints=pd.DataFrame({"parameter": ["x"], "cutpoint": [-25.0]}),
    )
    row = out.iloc[0]
    assert row.method == "firth_profile"
    assert np.isfinite(row.ci_high) and row.hr > 1 and row.ci_low > 1


def _r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "library(survival); library(maxstat); library(mvtnorm)"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.r
@pytest.mark.skipif(not _r_available(), reason="Rscript with survival and maxstat missing")
def test_fixtures_are_what_r_produces(tmp_path):
    """Rerun the R script on two cases, the Wilcoxon samples (and once via --input), compare."""
    subprocess.run(
        ["Rscript", str(SCRIPT), "--out", str(tmp_path), "--cases", "zero_event,veteran,wilcoxon"],
        check=True,
        capture_output=True,
    )
    produced = sorted(p.name for p in tmp_path.iterdir())
    assert len(produced) == 16
    for fname in produced:
        assert (tmp_path / fname).read_text() == (FIXTURES / fname).read_text(), fname
    # the generic entry point (any patients table) gives the same numbers
    out2 = tmp_path / "input"
    subprocess.run(
        [
            "Rscript",
            str(SCRIPT),
            "--out",
            str(out2),
            "--input",
            str(FIXTURES / "zero_event_data.tsv"),
            "--name",
            "zero_event",
            "--time",
            "time",
            "--event",
            "event",
            "--predictors",
            "x",
            "--adjust",
            "grade",
            "--times",
            "5,10,20",
        ],
        check=True,
        capture_output=True,
    )
    for kind in ("maxstat", "cox", "survdiff", "survfit", "quantile", "curves"):
        fname = f"zero_event_{kind}.tsv"
        assert (out2 / fname).read_text() == (FIXTURES / fname).read_text(), fname
