"""Figures: what is drawn equals the numbers given (read back from the matplotlib artists)."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from PIL import Image

from netpet.errors import InputError
from netpet.figures import style
from netpet.figures.cutpoint import cutpoint_figure
from netpet.figures.forest import forest_plot
from netpet.figures.survival import default_risk_times, km_figure, plot_km
from netpet.figures.waterfall import waterfall_figure


def _by_gid(artists, gid):
    found = [a for a in artists if a.get_gid() == gid]
    assert found, gid
    return found


# --- Kaplan-Meier ------------------------------------------------------------------------------


@pytest.fixture
def km_curves() -> pd.DataFrame:
    """Hand-computed KM of two groups.

    low: times 3 (event), 5 (event), 6 (censored), 8 (event), 15 (event), 20 (censored):
    S = 5/6, 4/6, 4/6, 4/9, 2/9, 2/9.  high: 2 (event), 4 (event), 7 (censored): S = 2/3, 1/3.
    """
    low = pd.DataFrame(
        {
            "group": "low",
            "time": [3.0, 5.0, 6.0, 8.0, 15.0, 20.0],
            "survival": [5 / 6, 4 / 6, 4 / 6, 4 / 9, 2 / 9, 2 / 9],
            "n_risk": [6, 5, 4, 3, 2, 1],
            "n_event": [1, 1, 0, 1, 1, 0],
            "n_censor": [0, 0, 1, 0, 0, 1],
        }
    )
    high = pd.DataFrame(
        {
            "group": "high",
            "time": [2.0, 4.0, 7.0],
            "survival": [2 / 3, 1 / 3, 1 / 3],
            "n_risk": [3, 2, 1],
            "n_event": [1, 1, 0],
            "n_censor": [0, 0, 1],
        }
    )
    return pd.concat([low, high], ignore_index=True)


def test_km_steps_equal_estimates(km_curves):
    fig = plot_km(km_curves, groups=["low", "high"], annotation="Log-rank p = 0.0123")
    ax = fig.axes[0]
    (low,) = _by_gid(ax.lines, "km:low")
    assert low.get_drawstyle() == "steps-post"
    np.testing.assert_allclose(low.get_xdata(), [0, 3, 5, 6, 8, 15, 20])
    np.testing.assert_allclose(low.get_ydata(), [1, 5 / 6, 4 / 6, 4 / 6, 4 / 9, 2 / 9, 2 / 9])
    (high,) = _by_gid(ax.lines, "km:high")
    np.testing.assert_allclose(high.get_ydata(), [1, 2 / 3, 1 / 3, 1 / 3])
    assert to_hex(low.get_color()) == style.LOW_COLOUR.lower()
    assert to_hex(high.get_color()) == style.HIGH_COLOUR.lower()
    # Censor ticks at the censored times, on the curve.
    (censor,) = _by_gid(ax.lines, "censor:low")
    np.testing.assert_allclose(censor.get_xdata(), [6, 20])
    np.testing.assert_allclose(censor.get_ydata(), [4 / 6, 2 / 9])
    assert censor.get_marker() == "|"
    assert ax.get_legend().get_title().get_text() == "Log-rank p = 0.0123"


def test_km_numbers_at_risk_by_hand(km_curves):
    """At risk at t = patients with time >= t: low 6, 4 (6, 8, 15, 20), 2, 1, 0; high 3, 1, 0."""
    fig = plot_km(km_curves, groups=["low", "high"], risk_times=[0, 6, 12, 18, 24])
    ax_risk = fig.axes[1]
    low = {t.get_position()[0]: t.get_text() for t in _by_gid(ax_risk.texts, "at_risk:low")}
    high = {t.get_position()[0]: t.get_text() for t in _by_gid(ax_risk.texts, "at_risk:high")}
    assert low == {0: "6", 6: "4", 12: "2", 18: "1", 24: "0"}
    assert high == {0: "3", 6: "1", 12: "0", 18: "0", 24: "0"}
    np.testing.assert_allclose(fig.axes[0].get_xticks(), [0, 6, 12, 18, 24])


def test_km_uses_given_numbers_at_risk(km_curves):
    at_risk = pd.DataFrame({"group": ["low", "high"], "time": [0.0, 0.0], "n_risk": [60, 30]})
    fig = plot_km(km_curves, at_risk=at_risk, groups=["low", "high"], risk_times=[0, 12, 24])
    texts = {t.get_gid(): t.get_text() for t in fig.axes[1].texts if t.get_gid()}
    assert texts == {"at_risk:low": "60", "at_risk:high": "30"}


def test_km_figure_groups_by_cutpoint_and_prints_logrank(km_curves, tmp_path):
    """The same two groups as ``km_curves``, split at the cut-point -10 (low: value <= -10).

    R: survdiff(Surv(t, e) ~ g) gives chi-square 1.2353606, p = 0.26636706.
    """
    patients = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(10)],
            "pfs_months": [3, 5, 6, 8, 20, 15, 2, 4, 7, 9],
            "progression": [1, 1, 0, 1, 0, 1, 1, 1, 0, 1],
            "wtv_ml_change_interim_pct": [-50, -40, -30, -20, -15, -10, 5, 20, 60, np.nan],
        }
    )
    cox_row = {"hr": 3.053, "ci_low": 1.003, "ci_high": 9.289, "method": "cox_efron"}
    fig, facts = km_figure(
        patients,
        "wtv_ml_change_interim_pct",
        -10.0,
        cox_row=cox_row,
        risk_times=[0, 6, 12, 18, 24],
        path=tmp_path / "km.png",
    )
    assert (tmp_path / "km.png").stat().st_size > 0
    ax = fig.axes[0]
    for group in ("low", "high"):
        (line,) = _by_gid(ax.lines, f"km:{group}")
        expected = km_curves[km_curves.group == group]
        np.testing.assert_allclose(line.get_xdata()[1:], expected.time)
        np.testing.assert_allclose(line.get_ydata()[1:], expected.survival)
    risk = {t.get_gid(): [] for t in fig.axes[1].texts}
    for text in fig.axes[1].texts:
        risk[text.get_gid()].append(text.get_text())
    assert risk == {
        "at_risk:low": ["6", "4", "2", "1", "0"],
        "at_risk:high": ["3", "1", "0", "0", "0"],
    }
    title = ax.get_legend().get_title().get_text()
    assert title == "Log-rank p = 0.266\nHR 3.05 (1.00–9.29)"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ΔWTV interim ≤ −10.0 % (n = 6)", "ΔWTV interim > −10.0 % (n = 3)"]
    assert facts["logrank_chisq"] == pytest.approx(1.2353606, rel=1e-6)
    assert facts["logrank_p"] == pytest.approx(0.26636706, rel=1e-6)
    assert (facts["n_low"], facts["n_high"], facts["excluded"]) == (6, 3, 1)
    assert (facts["events_low"], facts["events_high"]) == (4, 2)


def test_default_risk_times_cover_follow_up():
    np.testing.assert_allclose(default_risk_times(20.0), [0, 6, 12, 18, 24])
    np.testing.assert_allclose(default_risk_times(9.0), [0, 3, 6, 9])
    np.testing.assert_allclose(default_risk_times(50.0), [0, 12, 24, 36, 48, 60])


def test_km_rejects_incomplete_table(km_curves):
    with pytest.raises(InputError, match="n_censor"):
        plot_km(km_curves.drop(columns="n_censor"))


# --- forest plot -------------------------------------------------------------------------------


def _cox(hrs, methods, covariates=""):
    params = ["wtv_ml_change_interim_pct", "tre_change_interim_pct", "suvmax_basal"]
    return pd.DataFrame(
        {
            "parameter": [*params, "wtv_ml_change_interim_pct"],
            "coding": ["dichotomised"] * 3 + ["continuous"],
            "covariates": covariates,
            "n": 24,
            "events": 16,
            "hr": [*hrs, 1.01],
            "ci_low": [h / 3 for h in hrs] + [1.0],
            "ci_high": [h * 3 for h in hrs[:2]] + [np.inf, 1.02],
            "p_wald": [0.049, 0.028, 0.5, 0.1],
            "p_lr": 0.05,
            "concordance": 0.6,
            "method": [*methods, "cox_efron"],
            "ph_p": 0.5,
        }
    )


def test_forest_positions_are_hazard_ratios_on_log_axis():
    uni = _cox([3.053, 3.567, 0.8], ["cox_efron", "cox_efron", "cox_efron"])
    adj = _cox([3.345, 3.894, 0.02], ["cox_efron", "cox_efron", "firth_profile"], "who_grade")
    cuts = pd.DataFrame(
        {
            "parameter": ["wtv_ml_change_interim_pct", "tre_change_interim_pct", "suvmax_basal"],
            "cutpoint": [-10.0, -21.0, 15.0],
        }
    )
    fig, facts = forest_plot({"Univariate": uni, "Adjusted": adj}, cutpoints=cuts)
    assert facts["rows"] == [
        ["wtv_ml_change_interim_pct", "dichotomised"],
        ["tre_change_interim_pct", "dichotomised"],
        ["suvmax_basal", "dichotomised"],
    ]
    assert facts["firth_rows"] == {"Univariate": [], "Adjusted": ["suvmax_basal"]}
    ax_uni = next(a for a in fig.axes if any(t.get_text() == "Univariate" for t in a.texts))
    ax_adj = next(a for a in fig.axes if any(t.get_text() == "Adjusted" for t in a.texts))
    for ax, hrs in ((ax_uni, [3.053, 3.567, 0.8]), (ax_adj, [3.345, 3.894, 0.02])):
        assert ax.get_xscale() == "log"
        for row, (param, hr) in enumerate(zip(facts["rows"], hrs, strict=True)):
            (point,) = _by_gid(ax.lines, f"hr:{param[0]}:dichotomised")
            assert point.get_xdata()[0] == pytest.approx(hr)
            assert point.get_ydata()[0] == row  # rows top to bottom in table order
            # On the log axis the display position is linear in log HR.
            x_pix = ax.transData.transform((hr, row))[0]
            x0, x1 = (ax.transData.transform((v, row))[0] for v in ax.get_xlim())
            frac = (np.log(hr) - np.log(ax.get_xlim()[0])) / np.log(
                ax.get_xlim()[1] / ax.get_xlim()[0]
            )
            assert (x_pix - x0) / (x1 - x0) == pytest.approx(frac)
    (firth,) = _by_gid(ax_adj.lines, "hr:suvmax_basal:dichotomised")
    assert firth.get_marker() == "D" and firth.get_markerfacecolor() == "white"
    # The infinite upper CI ends at the axis edge with an arrow head.
    (ci,) = _by_gid(ax_uni.lines, "ci:suvmax_basal:dichotomised")
    assert ci.get_xdata()[1] == pytest.approx(ax_uni.get_xlim()[1])
    assert any(line.get_marker() == ">" for line in ax_uni.lines)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "3.05 (1.02–9.16)" in texts
    assert "0.02 (0.01–∞)†" in texts
    # The Firth row prints its penalised likelihood-ratio p (0.05), not the Wald p (0.5).
    p_texts = [t.get_text() for t in fig.axes[-1].texts]
    assert p_texts == ["p", "0.0490", "0.0280", "0.0500"]
    assert "≤ −10.0 (ref.) vs > −10.0" in texts
    # Continuous rows are left out by default.
    assert not any("continuous" in t for t in texts)


# --- waterfall ---------------------------------------------------------------------------------


@pytest.fixture
def waterfall_patients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "progression": [1, 0, 1, 0, 0, 1],
            "wtv_ml_change_interim_pct": [-35.0, 245.0, 12.0, -80.0, 12.0, np.nan],
        }
    )


def test_waterfall_order_colours_clipping(waterfall_patients):
    column = "wtv_ml_change_interim_pct"
    cuts = pd.DataFrame({"parameter": [column], "cutpoint": [-10.0]})
    fig, facts = waterfall_figure(waterfall_patients, [column], cutpoints=cuts, clip_pct=100)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if str(p.get_gid()).startswith("bar:")]
    # Descending; the tie at 12 % goes to the smaller patient id; P6 (no value) is left out.
    assert [b.get_gid() for b in bars] == ["bar:P2", "bar:P3", "bar:P5", "bar:P1", "bar:P4"]
    assert [b.get_height() for b in bars] == [100.0, 12.0, 12.0, -35.0, -80.0]
    colours = [to_hex(b.get_facecolor()) for b in bars]
    prog, no_prog = style.PROGRESSION_COLOUR.lower(), style.NO_PROGRESSION_COLOUR.lower()
    assert colours == [no_prog, prog, no_prog, prog, no_prog]
    # The clipped bar shows its true value.
    assert "+245" in [t.get_text() for t in ax.texts]
    (cut_line,) = _by_gid(ax.lines, "cutpoint")
    assert cut_line.get_ydata()[0] == -10.0
    assert facts[column]["clipped"] == ["P2"]
    assert facts[column]["excluded"] == 1
    assert facts[column]["order"] == ["P2", "P3", "P5", "P1", "P4"]
    assert ax.get_ylim()[1] == 100.0


def test_waterfall_missing_column_is_named(waterfall_patients):
    with pytest.raises(InputError, match="tre_change_interim_pct"):
        waterfall_figure(waterfall_patients, ["tre_change_interim_pct"])


# --- cut-point curves --------------------------------------------------------------------------


def test_cutpoint_curve_draws_statistics_and_chosen_cut(waterfall_patients):
    column = "wtv_ml_change_interim_pct"
    curves = pd.DataFrame(
        {"parameter": column, "candidate": [12.0, -35.0], "statistic": [1.5, 2.2]}
    )
    cuts = pd.DataFrame(
        {
            "parameter": [column],
            "cutpoint": [-35.0],
            "statistic": [2.2],
            "p_naive": [0.028],
            "p_exact": [0.21],
        }
    )
    fig, facts = cutpoint_figure(curves, cuts, patients=waterfall_patients, minprop=0.1)
    ax = fig.axes[0]
    (line,) = _by_gid(ax.lines, "statistic")
    np.testing.assert_allclose(line.get_xdata(), [-35.0, 12.0])  # sorted by candidate
    np.testing.assert_allclose(line.get_ydata(), [2.2, 1.5])
    (chosen,) = _by_gid(ax.lines, "chosen")
    assert chosen.get_xdata()[0] == -35.0
    # Observed values beyond the candidates (-80 and 245) lie in shaded "not searched" bands.
    spans = _by_gid(ax.patches, "excluded")
    extents = sorted((p.get_x(), p.get_x() + p.get_width()) for p in spans)
    assert extents[0][1] == pytest.approx(-35.0) and extents[0][0] < -80
    assert extents[1][0] == pytest.approx(12.0) and extents[1][1] > 245
    (rug,) = _by_gid(ax.collections, "rug")
    assert sorted(rug.get_offsets()[:, 0]) == [-80.0, -35.0, 12.0, 12.0, 245.0]
    title = ax.get_legend().get_title().get_text()
    assert "naive p = 0.0280" in title and "corrected p = 0.210" in title
    assert facts[column]["n_candidates"] == 2


# --- saving ------------------------------------------------------------------------------------


def test_save_figure_png_size_and_reproducible_bytes(km_curves, tmp_path):
    fig = plot_km(km_curves, width_mm=85.0, height_mm=80.0)
    a = style.save_figure(fig, tmp_path / "a.png")
    b = style.save_figure(fig, tmp_path / "b.png")
    with Image.open(a) as image:
        width, height = image.size
        dpi = image.info["dpi"]
    assert (width, height) == (int(85 / 25.4 * 300), int(80 / 25.4 * 300))  # 1003 x 944
    assert dpi[0] == pytest.approx(300, abs=0.01)
    assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob(".*"))


def test_save_figure_rejects_unknown_suffix(km_curves, tmp_path):
    with pytest.raises(InputError, match=r"\.jpg"):
        style.save_figure(plot_km(km_curves), tmp_path / "a.jpg")


# --- small and degenerate cohorts: the figure is drawn and says why ------------------------------


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_km_figure_without_cutpoint_draws_all_patients_and_says_why(tmp_path):
    """No events: no cut-point; the single curve stays at 1, at risk = times >= t."""
    patients = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(5)],
            "pfs_months": [3.0, 5.0, 8.0, 13.0, 20.0],
            "progression": [0, 0, 0, 0, 0],
            "wtv_ml_change_interim_pct": [-50, -20, np.nan, 5, 30],
        }
    )
    fig, facts = km_figure(
        patients,
        "wtv_ml_change_interim_pct",
        np.nan,
        note="no events",
        risk_times=[0, 6, 12, 18, 24],
        path=tmp_path / "km.png",
    )
    ax = fig.axes[0]
    assert ax.get_legend().get_title().get_text() == "no events: no Kaplan-Meier comparison"
    (line,) = _by_gid(ax.lines, "km:all")
    np.testing.assert_allclose(line.get_xdata(), [0, 3, 5, 13, 20])
    np.testing.assert_allclose(line.get_ydata(), [1, 1, 1, 1, 1])
    risk = [t.get_text() for t in _by_gid(fig.axes[1].texts, "at_risk:all")]
    assert risk == ["4", "2", "2", "1", "0"]  # P2 has no value: left out
    assert facts["n_low"] is None and np.isnan(facts["logrank_p"])
    assert facts["excluded"] == 1
    assert facts["message"] == "no events: no Kaplan-Meier comparison"
    with Image.open(tmp_path / "km.png") as image:
        assert image.format == "PNG"


def test_km_figure_without_values_says_so():
    patients = pd.DataFrame(
        {"pfs_months": [3.0, 5.0], "progression": [1, 0], "tre_change_interim_pct": np.nan}
    )
    fig, facts = km_figure(patients, "tre_change_interim_pct", np.nan, note="no patient")
    (message,) = [t for ax in fig.axes for t in ax.texts if t.get_gid() == "message"]
    assert message.get_text().replace("\n", " ") == (
        "no patient with a value of ΔTRE interim: no Kaplan-Meier comparison"
    )
    assert facts["excluded"] == 2


def test_km_figure_prints_why_the_hr_is_missing(km_curves):
    patients = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(9)],
            "pfs_months": [3, 5, 6, 8, 20, 15, 2, 4, 7],
            "progression": [1, 1, 0, 1, 0, 1, 1, 1, 0],
            "wtv_ml_change_interim_pct": [-50, -40, -30, -20, -15, -10, 5, 20, 60],
        }
    )
    cox_row = {
        "hr": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "method": "not_estimable",
        "note": "Firth fit did not converge (2 events, 1 coefficient)",
    }
    fig, facts = km_figure(patients, "wtv_ml_change_interim_pct", -10.0, cox_row=cox_row)
    title = fig.axes[0].get_legend().get_title().get_text()
    assert title.replace("\n", " ") == (
        "Log-rank p = 0.266 HR not estimable: Firth fit did not converge (2 events, 1 coefficient)"
    )
    assert facts["logrank_p"] == pytest.approx(0.26636706, rel=1e-6)
    assert facts["hr_ci"] is None


def test_cutpoint_figure_without_cutpoint_shows_values_and_reason(waterfall_patients):
    column = "wtv_ml_change_interim_pct"
    curves = pd.DataFrame({"parameter": column, "candidate": [-35.0, 12.0], "statistic": np.nan})
    cuts = pd.DataFrame(
        {
            "parameter": [column],
            "cutpoint": [np.nan],
            "statistic": [np.nan],
            "p_naive": [np.nan],
            "p_exact": [np.nan],
            "note": ["no events"],
        }
    )
    fig, facts = cutpoint_figure(curves, cuts, patients=waterfall_patients)
    ax = fig.axes[0]
    assert not [line for line in ax.lines if line.get_gid() in ("statistic", "chosen")]
    (message,) = _by_gid(ax.texts, "message")
    assert message.get_text() == "no events: no cut-point search"
    (rug,) = _by_gid(ax.collections, "rug")
    assert sorted(rug.get_offsets()[:, 0]) == [-80.0, -35.0, 12.0, 12.0, 245.0]
    assert facts[column]["message"] == "no events: no cut-point search"
    assert np.isnan(facts[column]["cutpoint"])


def test_waterfall_without_values_says_so(waterfall_patients):
    column = "tre_change_interim_pct"
    patients = waterfall_patients.assign(**{column: np.nan})
    fig, facts = waterfall_figure(patients, [column])
    (message,) = _by_gid(fig.axes[0].texts, "message")
    assert message.get_text() == "no patient with a value of ΔTRE interim"
    assert facts[column]["n"] == 0 and facts[column]["excluded"] == 6


def test_forest_not_estimable_rows_and_missing_ci():
    uni = _cox([3.053, 3.567, 0.8], ["cox_efron", "not_estimable", "firth_profile"])
    uni.loc[1, ["hr", "ci_low", "ci_high"]] = np.nan
    uni.loc[2, ["ci_low", "ci_high"]] = np.nan
    uni["note"] = [
        "",
        "no events",
        "Firth-penalised fit, monotone likelihood: no events where x; profile-likelihood CI "
        "not computable: Fisher information is rank deficient",
        "",
    ]
    fig, facts = forest_plot({"Univariate": uni})
    ax = next(a for a in fig.axes if any(t.get_text() == "Univariate" for t in a.texts))
    assert not [
        line for line in ax.lines if line.get_gid() == "hr:tre_change_interim_pct:dichotomised"
    ]
    # the CI that was not computed is not drawn as if it were infinite
    (ci,) = _by_gid(ax.lines, "ci:suvmax_basal:dichotomised")
    np.testing.assert_allclose(ci.get_xdata(), [0.8, 0.8])
    assert not any(line.get_marker() in ("<", ">") for line in ax.lines)
    texts = _texts(fig)
    assert "not estimable" in texts and "0.80 (CI —)†" in texts
    assert facts["notes"] == [
        "† Monotone likelihood: Firth-penalised Cox regression, profile penalised-likelihood "
        "95 % CI and likelihood-ratio p.",
        "Not estimable: no events",
        "profile-likelihood CI not computable: Fisher information is rank deficient",
    ]
    assert [t.get_text() for t in fig.texts if t.get_gid() == "footnote"] == facts["notes"][::-1]
