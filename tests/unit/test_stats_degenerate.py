"""Small and degenerate cohorts run through every statistics, table and figure step.

Each case writes ``patients.tsv`` as the workflow does, runs the study steps end to end into
``tmp_path`` (cut-points, Cox univariate and adjusted, bootstrap, paper tables, Kaplan-Meier,
forest, waterfall and cut-point figures) and checks the notes that say why a value is empty,
and that the values that can still be computed equal those of the ordinary functions (or a
closed form).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import optimize, stats

from netpet.io import write_tsv
from netpet.stats.cox import cox_table, fit_cox, fit_firth, fit_model
from netpet.stats.cutpoint import maxstat_test
from netpet.stats.patients import build_patient_table
from netpet.stats.validation import bootstrap_cutpoint, dichotomy_log_hr
from netpet.steps import study as study_steps

PARAMETERS = ["wtv_ml", "tre"]
COLUMNS = study_steps.analysed_columns(PARAMETERS, baseline="basal", followups=["interim"])
FIGURE_COLUMNS = ["wtv_ml_change_interim_pct", "tre_change_interim_pct"]
TABLES = ("table1", "table2", "table3", "table4", "tableS1")
N_RESAMPLES = 12


def make_patients(
    time,
    event,
    *,
    grades=None,
    seed: int = 0,
    change_pct: dict | None = None,
    basal: dict | None = None,
    with_interim: bool = True,
) -> pd.DataFrame:
    """A patients table built as the workflow builds it (:func:`build_patient_table`).

    Basal WTV and TRE are random unless given; interim = basal x (1 + change / 100) with
    random changes unless given.
    """
    n = len(time)
    rng = np.random.default_rng(seed)
    clinical = pd.DataFrame(
        {
            "patient_id": [f"P{i:02d}" for i in range(n)],
            "sex": np.where(np.arange(n) % 2, "F", "M"),
            "age_years": rng.integers(32, 75, n),
            "who_grade": grades
            if grades is not None
            else ["G1", "G2", "G3"] * (n // 3) + ["G2"] * (n % 3),
            "pfs_months": np.asarray(time, dtype=float),
            "progression": np.asarray(event, dtype=int),
        }
    )
    scans = []
    for timepoint in ("basal", "interim") if with_interim else ("basal",):
        scans.append(pd.DataFrame({"patient_id": clinical["patient_id"], "timepoint": timepoint}))
    scans = pd.concat(scans, ignore_index=True)
    for p in PARAMETERS:
        base = (basal or {}).get(p, np.round(rng.uniform(10, 300, n), 2))
        change = (change_pct or {}).get(p, np.round(rng.normal(-10, 35, n), 2))
        values = np.asarray(base, dtype=float)
        if with_interim:
            values = np.concatenate([values, values * (1 + np.asarray(change) / 100)])
        scans[p] = values
    return build_patient_table(
        scans, clinical, baseline="basal", followups=["interim"], parameters=PARAMETERS
    )


def run_study(patients: pd.DataFrame, out, *, n_resamples: int = N_RESAMPLES) -> dict:
    """Every statistics/table/figure step on ``patients``; returns the tables read back."""
    write_tsv(out / "patients.tsv", patients)
    common = {"time_col": "pfs_months", "event_col": "progression"}
    study_steps.cutpoints_step(
        patients_path=out / "patients.tsv",
        columns=COLUMNS,
        minprop=0.1,
        n_permutations=50,
        seed=1,
        out=out / "cutpoints.tsv",
        curves_out=out / "cutpoint_curves.tsv",
        **common,
    )
    for model, adjust in (("univariate", None), ("adjusted", ["who_grade"])):
        study_steps.cox_step(
            patients_path=out / "patients.tsv",
            cutpoints_path=out / "cutpoints.tsv",
            columns=COLUMNS,
            adjust_for=adjust,
            out=out / f"cox_{model}.tsv",
            **common,
        )
    study_steps.bootstrap_step(
        patients_path=out / "patients.tsv",
        columns=COLUMNS,
        minprop=0.1,
        n_resamples=n_resamples,
        seed=3,
        out=out / "bootstrap.tsv",
        frequencies_out=out / "bootstrap_cutpoints.tsv",
        **common,
    )
    study_steps.tables_step(
        patients_path=out / "patients.tsv",
        cutpoints_path=out / "cutpoints.tsv",
        cox_univariate_path=out / "cox_univariate.tsv",
        cox_adjusted_path=out / "cox_adjusted.tsv",
        bootstrap_path=out / "bootstrap.tsv",
        baseline="basal",
        followups=["interim"],
        parameters=PARAMETERS,
        corrected_p="p_exact",
        formats=["tsv", "html", "md", "tex"],
        stems={name: out / "tables" / name for name in TABLES},
        **common,
    )
    for column in FIGURE_COLUMNS:
        study_steps.km_step(
            patients_path=out / "patients.tsv",
            cutpoints_path=out / "cutpoints.tsv",
            cox_univariate_path=out / "cox_univariate.tsv",
            column=column,
            time_origin="start of PRRT",
            confidence_band=True,
            out=out / f"km_{column}.png",
            **common,
        )
    study_steps.summary_figures_step(
        patients_path=out / "patients.tsv",
        cutpoints_path=out / "cutpoints.tsv",
        curves_path=out / "cutpoint_curves.tsv",
        cox_univariate_path=out / "cox_univariate.tsv",
        cox_adjusted_path=out / "cox_adjusted.tsv",
        columns=FIGURE_COLUMNS,
        event_col="progression",
        corrected_p="p_exact",
        minprop=0.1,
        clip_pct=100,
        forest_out=out / "forest.png",
        waterfall_out=out / "waterfall.png",
        cutpoints_out=out / "cutpoints.png",
    )
    figures = [f"km_{c}.png" for c in FIGURE_COLUMNS] + ["forest.png", "waterfall.png"]
    for name in [*figures, "cutpoints.png"]:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and min(image.size) > 100, name
    for name in TABLES:
        for ext in ("tsv", "html", "md", "tex"):
            assert (out / "tables" / f"{name}.{ext}").stat().st_size > 0

    def read(name):
        return pd.read_csv(out / name, sep="\t", keep_default_na=True)

    result = {
        name: read(f"{name}.tsv")
        for name in ("patients", "cutpoints", "cox_univariate", "cox_adjusted", "bootstrap")
    }
    result["patients"] = read("patients.tsv")
    result["table2"] = read("tables/table2.tsv")
    result["tableS1_md"] = (out / "tables" / "tableS1.md").read_text()
    result["table3_md"] = (out / "tables" / "table3.md").read_text()
    result["table4_md"] = (out / "tables" / "table4.md").read_text()
    return result


def notes(table: pd.DataFrame) -> pd.Series:
    return table["note"].fillna("").astype(str)


def row(table: pd.DataFrame, parameter: str, coding: str | None = None) -> pd.Series:
    match = table["parameter"] == parameter
    if coding is not None:
        match &= table["coding"] == coding
    (index,) = np.flatnonzero(match)
    return table.iloc[index]


def assert_bootstrap_counts(boot: pd.DataFrame, n_resamples: int = N_RESAMPLES) -> None:
    total = boot["n_used"] + boot["n_skipped_no_cutpoint"] + boot["n_skipped_not_estimable"]
    assert (total == n_resamples).all()
    assert (boot["n_resamples"] == n_resamples).all()


def times_24(seed=1):
    return np.round(np.random.default_rng(seed).uniform(2, 30, 24), 1)


# --- no events, one event ----------------------------------------------------------------------


def test_zero_events(tmp_path):
    time = times_24()
    out = run_study(make_patients(time, np.zeros(24, int)), tmp_path)

    cut = out["cutpoints"]
    assert cut["cutpoint"].isna().all() and cut["statistic"].isna().all()
    assert cut[["p_naive", "p_exact", "p_permutation", "p_altman"]].isna().all().all()
    assert cut["n_low"].isna().all() and cut["n_high"].isna().all()  # no made-up 0
    assert (notes(cut) == "no events").all()
    for model in ("cox_univariate", "cox_adjusted"):
        cox = out[model]
        assert (cox["method"] == "not_estimable").all() and cox["hr"].isna().all()
        assert (cox["n"] == 24).all() and (cox["events"] == 0).all()
        dichotomised = cox["coding"] == "dichotomised"
        assert (notes(cox)[~dichotomised] == "no events").all()
        assert (notes(cox)[dichotomised] == "no cut-point (no events)").all()
    boot = out["bootstrap"]
    assert_bootstrap_counts(boot)
    assert (boot["n_used"] == 0).all() and (boot["n_skipped_no_cutpoint"] == N_RESAMPLES).all()
    assert boot[["hr_apparent", "hr_corrected", "cut_stability"]].isna().all().all()
    assert notes(boot).str.startswith("no cut-point (no events)").all()
    assert notes(boot).str.contains("no usable resample").all()
    assert "| no events |" in out["tableS1_md"]
    assert (
        "Not estimable (no events): ΔWTV interim (continuous), WTV basal (continuous)"
        in (out["table3_md"])
    )
    assert (
        "Not estimable (no cut-point (no events)): ΔWTV interim (dichotomised)"
        in (out["table3_md"])
    )


def test_one_event(tmp_path):
    time = times_24()
    event = np.zeros(24, int)
    event[np.argsort(time)[5]] = 1  # the sixth time: 19 patients at risk
    patients = make_patients(time, event)
    out = run_study(patients, tmp_path)

    # the cut-point search still works with one event and equals maxstat_test directly
    cut = out["cutpoints"]
    assert cut["cutpoint"].notna().all()
    for _, r in cut.iterrows():
        values = out["patients"][r["parameter"]]
        direct = maxstat_test(time, event, values, n_permutations=0)
        assert r["cutpoint"] == direct.cutpoint
        assert r["statistic"] == pytest.approx(direct.statistic, rel=1e-5)
        assert r["n_low"] + r["n_high"] == 24
    uni = out["cox_univariate"]
    assert uni["hr"].notna().all()
    efron = uni[uni["method"] == "cox_efron"]
    assert len(efron)
    for _, r in efron.iterrows():
        # the Efron fit equals fit_cox directly; one event leaves no PH test
        x = out["patients"][r["parameter"]].to_numpy(float)
        if r["coding"] == "dichotomised":
            x = (x > row(cut, r["parameter"])["cutpoint"]).astype(float)
        assert r["hr"] == pytest.approx(math.exp(fit_cox(time, event, x[:, None]).coef[0]), 1e-5)
        assert np.isnan(r["ph_p"])
        assert "PH test not computable: singular information (1 event)" in r["note"]
    firth = uni[uni["method"] == "firth_profile"]
    assert notes(firth).str.startswith("Firth-penalised fit, monotone likelihood: ").all()
    adj = out["cox_adjusted"]
    # all grade-adjusted fits are Firth fits (no events in two grades); the profile CIs
    # cannot be computed (the information becomes singular along the profile): said so
    assert (adj["method"] == "firth_profile").all() and adj["hr"].notna().all()
    assert adj["p_lr"].notna().all()
    no_ci = adj["ci_low"].isna() | adj["ci_high"].isna()
    assert no_ci.any()
    assert notes(adj)[no_ci].str.contains("profile-likelihood CI not computable").all()
    assert "(CI —)†" in out["table4_md"]
    boot = out["bootstrap"]
    assert_bootstrap_counts(boot)
    skipped = boot["n_skipped_no_cutpoint"] + boot["n_skipped_not_estimable"]
    assert (skipped > 0).all()  # resamples without the event have no cut-point
    assert notes(boot).str.contains(r"of 12 resamples skipped \(").all()


def test_one_event_with_three_at_risk_is_not_estimable_adjusted():
    """The only event has 3 patients at risk: it cannot carry the parameter and 2 grades."""
    time = times_24()
    event = np.zeros(24, int)
    event[np.argsort(time)[-3]] = 1
    patients = make_patients(time, event)
    adj = cox_table(
        patients,
        ["wtv_ml_basal"],
        time_col="pfs_months",
        event_col="progression",
        codings=("continuous",),
        adjust_for=["who_grade"],
    )
    r = adj.iloc[0]
    assert r["method"] == "not_estimable" and np.isnan(r["hr"])
    assert r["note"] == (
        "Firth fit not possible: Fisher information is rank deficient (1 event, 3 coefficients)"
    )
    assert (r["n"], r["events"]) == (24, 1)


# --- the reported bootstrap crash: 24 patients, 2 events, simulated -----------------------------


def simulated_cohort(seed: int, n_events: int) -> pd.DataFrame:
    """24 patients with random dWTV/dTRE (no effect) and ``n_events`` random events."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "pfs_months": np.round(rng.uniform(2, 30, 24), 1),
            "progression": 0,
            "dwtv": rng.normal(-10, 30, 24),
            "dtre": rng.normal(-20, 30, 24),
        }
    )
    d.loc[rng.choice(24, n_events, replace=False), "progression"] = 1
    return d


@pytest.mark.parametrize(("n_events", "seeds", "n_resamples"), [(2, range(6), 30), (8, [4], 100)])
def test_bootstrap_with_few_events_skips_failed_resamples(tmp_path, n_events, seeds, n_resamples):
    """The reported crash: before, 5 of these 6 two-event cohorts (and the eight-event one)
    stopped the bootstrap on a singular or non-converging Firth fit of some resample."""
    skipped_not_estimable = 0
    for seed in seeds:
        write_tsv(tmp_path / "patients.tsv", simulated_cohort(seed, n_events))
        study_steps.bootstrap_step(
            patients_path=tmp_path / "patients.tsv",
            columns=["dwtv", "dtre"],
            time_col="pfs_months",
            event_col="progression",
            minprop=0.1,
            n_resamples=n_resamples,
            seed=seed,
            out=tmp_path / "bootstrap.tsv",
            frequencies_out=tmp_path / "frequencies.tsv",
        )
        boot = pd.read_csv(tmp_path / "bootstrap.tsv", sep="\t")
        assert_bootstrap_counts(boot, n_resamples)
        skipped_not_estimable += boot["n_skipped_not_estimable"].sum()
        read = pd.read_csv(tmp_path / "patients.tsv", sep="\t")
        for i, name in enumerate(["dwtv", "dtre"]):
            res = bootstrap_cutpoint(
                read.pfs_months,
                read.progression,
                read[name],
                n_resamples=n_resamples,
                seed=seed + i,
            )
            r = row(boot, name)
            assert r["n_used"] == res.n_used > 0
            assert r["optimism_log_hr"] == pytest.approx(res.optimism, rel=1e-5)
            # the optimism is the mean over the used resamples; each on-data HR is the fit
            # at that resample's cut-point; skipped resamples carry no cut-point
            used = np.isfinite(res.log_hr_boot)
            b, o = res.log_hr_boot[used], res.log_hr_orig[used]
            assert res.optimism == pytest.approx(np.mean(np.abs(b) - np.sign(b) * o))
            x = read[name].to_numpy(float)
            for c in np.unique(res.boot_cutpoints[used]):
                on_data = dichotomy_log_hr(read.pfs_months, read.progression, x > c)
                assert (o[res.boot_cutpoints[used] == c] == on_data).all()
            assert np.isnan(res.boot_cutpoints[~used]).all()
            skipped = n_resamples - res.n_used
            if skipped:
                assert f"{skipped} of {n_resamples} resamples skipped" in r["note"]
    assert skipped_not_estimable > 0


def penalised_loglik_closed_form(beta):
    """Firth-penalised Breslow log likelihood of the two-event cohort below, by hand.

    Event 1 (low group): 1 low and 15 high patients at risk; event 2 (high group): only high
    patients at risk (no information).  With ``p = 15 e^b / (1 + 15 e^b)``:
    ``l* = -log(1 + 15 e^b) + 1/2 log(p (1 - p))``, maximal at ``p = 1/4``: ``HR = 1/45``.
    """
    p = 15 * np.exp(beta) / (1 + 15 * np.exp(beta))
    return -np.log1p(15 * np.exp(beta)) + 0.5 * np.log(p * (1 - p))


def test_firth_that_oscillates_is_refitted_and_matches_closed_form():
    """firthmodels' first Newton run oscillates about this maximum (HR 1/45) and warns."""
    low_times, high_times = [4.4, 8.5], [3.5, 3.6, 4.5, 5.0, 6.2, 7.6, 7.6, 8.7, 10.4, 11.4]
    high_times += [12.2, 13.3, 14.6, 18.2, 19.6, 20.8, 24.0, 24.3, 25.3, 26.5, 28.0, 28.4]
    time = np.array(low_times + high_times)
    event = np.zeros(24, int)
    event[[1, 19]] = 1  # 8.5 (low) and 24.3 (high)
    high = np.r_[np.zeros(2), np.ones(22)]
    d = pd.DataFrame({"t": time, "e": event, "x": high})
    out = cox_table(
        d,
        ["x"],
        time_col="t",
        event_col="e",
        codings=("dichotomised",),
        cutpoints=pd.DataFrame({"parameter": ["x"], "cutpoint": [0.5]}),
    )
    r = out.iloc[0]
    assert r["method"] == "firth_profile"
    assert r["hr"] == pytest.approx(1 / 45, rel=1e-5)
    best = penalised_loglik_closed_form(np.log(1 / 45))
    crit = stats.chi2.ppf(0.95, 1) / 2
    low = optimize.brentq(lambda b: best - penalised_loglik_closed_form(b) - crit, -20, -3.8)
    high = optimize.brentq(lambda b: best - penalised_loglik_closed_form(b) - crit, -3.8, 5)
    assert [r["ci_low"], r["ci_high"]] == pytest.approx([math.exp(low), math.exp(high)], 1e-4)
    p_lr = stats.chi2.sf(2 * (best - penalised_loglik_closed_form(0.0)), 1)
    assert r["p_lr"] == pytest.approx(p_lr, rel=1e-4)
    assert r["note"].startswith("Firth-penalised fit, monotone likelihood: ")


def test_non_convergence_becomes_a_note():
    """Four patients, one informative event: no Firth step size converges (firthmodels)."""
    d = pd.DataFrame(
        {
            "t": [24.8, 27.6, 19.0, 22.4],
            "e": [0, 1, 1, 0],
            "x": [82.5061, 5.26016, 86.4534, 8.19063],
        }
    )
    out = cox_table(d, ["x"], time_col="t", event_col="e", codings=("continuous",))
    r = out.iloc[0]
    assert r["method"] == "not_estimable" and np.isnan(r["hr"]) and np.isnan(r["p_wald"])
    assert r["note"].startswith("Firth fit did not converge: Maximum number of iterations")
    assert r["note"].endswith("(2 events, 1 coefficient)")
    assert (r["n"], r["events"]) == (4, 2)


# --- tiny cohorts, WHO grades -------------------------------------------------------------------


def assert_same_fit(a: pd.DataFrame, b: pd.DataFrame) -> None:
    columns = ["n", "events", "hr", "ci_low", "ci_high", "p_wald", "p_lr", "concordance", "ph_p"]
    pd.testing.assert_frame_equal(a[columns], b[columns])
    assert a["method"].tolist() == b["method"].tolist()
    assert notes(a).tolist() == notes(b).tolist()


def test_four_patients(tmp_path):
    time = [24.8, 27.6, 19.0, 22.4]
    event = [0, 1, 1, 0]
    out = run_study(make_patients(time, event, grades=["G1", "G2", "G2", "G3"]), tmp_path)
    cut = out["cutpoints"]
    assert ((cut["n_low"] + cut["n_high"]) == 4).all()
    uni, adj = out["cox_univariate"], out["cox_adjusted"]
    # G1 and G3 hold one patient each: merged, a single level remains, nothing to adjust for
    assert adj["covariates"].str.contains("single level: not adjusted").all()
    assert_same_fit(uni, adj)
    assert "single level: not adjusted" in out["table4_md"]
    # every empty value of the Cox tables says why
    empty = uni["hr"].isna() | uni["ph_p"].isna()
    assert (notes(uni)[empty] != "").all()
    assert_bootstrap_counts(out["bootstrap"])


def test_all_patients_in_one_grade(tmp_path):
    time = times_24(2)
    event = (np.random.default_rng(2).uniform(size=24) < 0.45).astype(int)
    out = run_study(make_patients(time, event, grades=["G2"] * 24), tmp_path)
    adj, uni = out["cox_adjusted"], out["cox_univariate"]
    assert (adj["covariates"] == "who_grade [who_grade: single level: not adjusted]").all()
    assert_same_fit(uni, adj)
    assert uni["hr"].notna().all()


def test_grade_with_one_patient_is_merged(tmp_path):
    time = times_24(3)
    event = (np.random.default_rng(3).uniform(size=24) < 0.5).astype(int)
    grades = ["G1"] * 11 + ["G2"] * 12 + ["G3"]
    patients = make_patients(time, event, grades=grades, seed=3)
    out = run_study(patients, tmp_path)
    adj = out["cox_adjusted"]
    assert adj["covariates"].str.contains(r"G3 \(1 patient\) merged into G2").all()
    # the merged model equals fit_model with the merged grade coded by hand
    r = row(adj, "wtv_ml_change_interim_pct", "continuous")
    x = out["patients"]["wtv_ml_change_interim_pct"].to_numpy(float)
    g23 = np.isin(grades, ["G2", "G3"]).astype(float)
    fit = fit_model(time, event, np.column_stack([x, g23]))
    assert r["hr"] == pytest.approx(math.exp(fit.coef[0]), rel=1e-5)
    assert r["p_wald"] == pytest.approx(fit.p_wald[0], rel=1e-5)
    assert "G3 (1 patient) merged into G2" in out["table4_md"]


def test_group_without_events(tmp_path):
    """Only patients whose WTV fell by more than 25 % progress: the high group has none."""
    rng = np.random.default_rng(4)
    change = np.round(np.r_[rng.uniform(-80, -30, 10), rng.uniform(-20, 60, 14)], 2)
    time = np.round(np.r_[rng.uniform(2, 12, 10), rng.uniform(6, 30, 14)], 1)
    event = np.r_[np.ones(8, int), np.zeros(16, int)]
    out = run_study(make_patients(time, event, change_pct={"wtv_ml": change}, seed=4), tmp_path)
    column = "wtv_ml_change_interim_pct"
    cut = row(out["cutpoints"], column)
    values = out["patients"][column].to_numpy(float)
    high = values > cut["cutpoint"]
    assert event[high].sum() == 0 and cut["note"] != cut["note"]  # no note: NaN read back
    r = row(out["cox_univariate"], column, "dichotomised")
    assert r["method"] == "firth_profile"
    assert r["note"].startswith(
        f"Firth-penalised fit, monotone likelihood: no events where {column} > "
    )
    # the Firth row equals fit_firth directly
    fit = fit_firth(time, event, high.astype(float)[:, None])
    assert [r["hr"], r["ci_low"], r["ci_high"], r["p_lr"]] == pytest.approx(
        [*np.exp([fit.coef[0], fit.ci_low[0], fit.ci_high[0]]), fit.p_lr[0]],
        rel=1e-5,
    )
    assert "†" in out["table3_md"]


# --- parameters without usable values ------------------------------------------------------------


def test_constant_parameter(tmp_path):
    time = times_24(5)
    event = (np.random.default_rng(5).uniform(size=24) < 0.5).astype(int)
    patients = make_patients(time, event, basal={"wtv_ml": np.full(24, 50.0)}, seed=5)
    out = run_study(patients, tmp_path)
    assert row(out["cutpoints"], "wtv_ml_basal")["note"] == "single value (50)"
    uni = out["cox_univariate"]
    assert row(uni, "wtv_ml_basal", "continuous")["note"] == "single value (50)"
    assert row(uni, "wtv_ml_basal", "dichotomised")["note"] == "no cut-point (single value (50))"
    assert np.isnan(row(uni, "wtv_ml_basal", "continuous")["hr"])
    assert row(out["bootstrap"], "wtv_ml_basal")["note"].startswith(
        "no cut-point (single value (50))"
    )
    # the other parameters are unaffected: equal to a cohort without the constant column
    others = [c for c in COLUMNS if c != "wtv_ml_basal"]
    direct = cox_table(
        out["patients"],
        others,
        time_col="pfs_months",
        event_col="progression",
        cutpoints=out["cutpoints"],
    )
    assert_same_fit(uni[uni["parameter"] != "wtv_ml_basal"].reset_index(drop=True), direct)


def test_all_followup_values_missing(tmp_path):
    time = times_24(6)
    event = (np.random.default_rng(6).uniform(size=24) < 0.5).astype(int)
    patients = make_patients(time, event, with_interim=False, seed=6)
    assert (patients["change_notes"] == "no interim scan").all()
    out = run_study(patients, tmp_path)
    missing = [c for c in COLUMNS if "interim" in c]
    cut = out["cutpoints"].set_index("parameter")
    assert (cut.loc[missing, "note"] == "no patient with a value").all()
    assert cut.loc[missing, "cutpoint"].isna().all()
    for model in ("cox_univariate", "cox_adjusted"):
        cox = out[model]
        gone = cox[cox["parameter"].isin(missing)]
        assert (gone["n"] == 0).all() and (gone["method"] == "not_estimable").all()
        continuous = gone["coding"] == "continuous"
        assert (notes(gone)[continuous] == "no patient with a value").all()
        assert (notes(gone)[~continuous] == "no cut-point (no patient with a value)").all()
        # the baseline columns are fitted as usual
        assert cox.loc[~cox["parameter"].isin(missing), "hr"].notna().all()
    table2 = out["table2"].set_index("column")
    assert (table2.loc[missing, "n"] == 0).all()
    assert (table2.loc[["wtv_ml_basal", "tre_basal"], "n"] == 24).all()
