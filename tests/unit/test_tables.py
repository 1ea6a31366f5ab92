"""Paper tables, their number formatting, names and rendering, against hand-computed values."""

import numpy as np
import pandas as pd
import pytest

from netpet.errors import InputError
from netpet.report import format as fmt
from netpet.report import labels, render, tables


@pytest.fixture
def patients() -> pd.DataFrame:
    """Six patients; every number in the tests below was worked out by hand from these."""
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "sex": ["M", "F", "F", "M", "F", "F"],
            "age_years": [50, 60, 45, 70, 32, 74],
            "who_grade": ["G1", "G2", "G2", "G3", "G1", "G2"],
            "ki67": [2, 5, 10, 25, 1, np.nan],
            "primary_site": [
                "pancreas",
                "small bowel",
                "pancreas",
                "pancreas",
                "small bowel",
                "unknown",
            ],
            "pfs_months": [3.0, 5.0, 6.0, 8.0, 20.0, 15.0],
            "progression": [1, 1, 0, 1, 0, 1],
            "death": [0, 1, 0, 1, 0, 0],
            "wtv_ml_basal": [10, 20, 30, 40, 50, 60],
            "wtv_ml_interim": [12, 15, 33, 20, 40, 66],
            "wtv_ml_change_interim_pct": [20, -25, 10, -50, -20, 10],
        }
    )


# --- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0004, "< 0.001"),
        (0.000999, "< 0.001"),
        (0.001, "0.00100"),
        (0.049, "0.0490"),
        (0.04912, "0.0491"),
        (0.028, "0.0280"),
        (0.12345, "0.123"),
        (0.5, "0.500"),
        (0.99951, "1.00"),
        (1.0, "1.00"),
        (float("nan"), "—"),
    ],
)
def test_format_p(p, text):
    assert fmt.format_p(p) == text


def test_format_p_bounds():
    assert fmt.format_p(1.6009) == "1.00"  # a Lau94 bound above 1
    with pytest.raises(InputError, match="negative"):
        fmt.format_p(-0.1)


def test_format_hr_like_the_paper():
    assert fmt.format_hr(3.053, 1.003, 9.289) == "3.053 (1.003–9.289)"
    assert fmt.format_hr(0.5, 0.01234, np.inf, decimals=2) == "0.50 (0.01–∞)"
    assert fmt.format_hr(1234.0, 2.0, 1e6) == "1234 (2.000–1000000)"


def test_format_number_uses_typographic_minus_and_no_negative_zero():
    assert fmt.format_number(-10.26) == "−10.3"
    assert fmt.format_number(-0.01, decimals=1) == "0.0"
    assert fmt.format_number(1234.5) == "1234"
    assert fmt.format_number(0.012345) == "0.0123"


def test_parameter_labels():
    assert labels.parse_parameter("liver_suvmean_basal") == ("liver_suvmean", "basal", None)
    assert labels.parse_parameter("tre_change_interim_pct") == ("tre", None, "interim")
    assert labels.parameter_label("wtv_ml_basal", unit=True) == "WTV basal (mL)"
    assert labels.parameter_label("wtv_ml_change_interim_pct", unit=True) == "ΔWTV interim (%)"
    assert labels.parameter_label("age_years") == "age years"


# --- Table 1 -----------------------------------------------------------------------------------


def _cell(table, characteristic, level=""):
    data = table.data
    row = data[(data.characteristic == characteristic) & (data.level == level)]
    assert len(row) == 1, (characteristic, level)
    return row.iloc[0]


def test_patient_characteristics_counts_and_medians(patients):
    table = tables.patient_characteristics(patients)
    assert _cell(table, "Patients, n").text == "6"
    assert _cell(table, "Sex, n (%)", "Male").text == "2 (33.3)"
    assert _cell(table, "Sex, n (%)", "Female").text == "4 (66.7)"
    assert _cell(table, "Sex, n (%)", "Female").percent == pytest.approx(400 / 6)
    # Ages 32 45 50 60 70 74: median (50 + 60) / 2.
    age = _cell(table, "Age, years, median (range)")
    assert (age["median"], age.lower, age.upper) == (55.0, 32.0, 74.0)
    assert age.text == "55 (32–74)"
    assert _cell(table, "WHO grade, n (%)", "G1").text == "2 (33.3)"
    assert _cell(table, "WHO grade, n (%)", "G2").text == "3 (50.0)"
    assert _cell(table, "WHO grade, n (%)", "G3").text == "1 (16.7)"
    # Ki-67 1 2 5 10 25 (one missing): median 5, quartiles (type 7) 2 and 10.
    assert _cell(table, "Ki-67 index, %, median (IQR)").text == "5 (2–10)"
    assert _cell(table, "Ki-67 index, %, median (IQR)", "Missing").text == "1 (16.7)"
    assert list(
        table.data.loc[table.data.characteristic == "Primary tumour site, n (%)", "level"]
    ) == [
        "",
        "pancreas",
        "small bowel",
        "unknown",
    ]
    assert _cell(table, "Primary tumour site, n (%)", "pancreas").text == "3 (50.0)"
    assert _cell(table, "PFS events (progression or death), n (%)").text == "4 (66.7)"
    assert _cell(table, "Deaths, n (%)").text == "2 (33.3)"


def test_patient_characteristics_median_pfs_from_kaplan_meier(patients):
    """KM by hand: S = 5/6 at 3, 4/6 at 5, censored at 6, 4/9 at 8, 2/9 at 15, censored 20.

    Median 8.  Greenwood: var(log S) = 1/30 + 1/20 at 5, so the log-transformed lower 95 %
    limit is 0.667 exp(-1.96 x 0.2887) = 0.379 <= 0.5 first at 5; the upper limit stays at 1
    (never <= 0.5): CI 5 to not reached.
    """
    table = tables.patient_characteristics(patients)
    row = _cell(table, "Median PFS, months (95 % CI)")
    assert row["median"] == 8.0
    assert row.lower == 5.0
    assert not np.isfinite(row.upper)
    assert row.text == "8.0 (5.0–NR)"
    # Reverse KM (censoring as event): S = 3/4 at 6, 0 at 20, so median follow-up 20.
    assert _cell(table, "Median follow-up, months (95 % CI)")["median"] == 20.0


def test_patient_characteristics_display_and_missing_grade(patients):
    patients.loc[0, "who_grade"] = np.nan
    table = tables.patient_characteristics(patients, followup=False)
    assert _cell(table, "WHO grade, n (%)", "Missing").text == "1 (16.7)"
    assert _cell(table, "WHO grade, n (%)", "G1").text == "1 (16.7)"
    assert list(table.display.columns) == ["Characteristic", "Patients (n = 6)"]
    assert "Median follow-up, months (95 % CI)" not in set(table.data.characteristic)
    # Level rows are indented under their header row.
    assert "\u2003Female" in list(table.display["Characteristic"])


def test_patient_characteristics_rejects_bad_event(patients):
    patients.loc[2, "progression"] = 2
    with pytest.raises(InputError, match="P3"):
        tables.patient_characteristics(patients)


# --- Table 2 -----------------------------------------------------------------------------------


def test_pet_parameters_medians_and_p(patients):
    table = tables.pet_parameters(
        patients, baseline="basal", followups=["interim"], parameters=["wtv_ml"]
    )
    data = table.data.set_index("column")
    # 10..60: median 35, type-7 quartiles 22.5 and 47.5.
    assert data.loc["wtv_ml_basal", ["median", "q1", "q3"]].tolist() == [35.0, 22.5, 47.5]
    # Changes -50 -25 -20 10 10 20: median -5, quartiles -25 + 0.25 x 5 and 10 + 0.75 x 0.
    assert data.loc["wtv_ml_change_interim_pct", ["median", "q1", "q3"]].tolist() == [
        -5.0,
        -23.75,
        10.0,
    ]
    assert data.loc["wtv_ml_interim", "p_wilcoxon"] == pytest.approx(0.5625)
    row = table.display.iloc[0]
    assert row["Parameter"] == "WTV (mL)"
    assert row["Basal, median (IQR)"] == "35.0 (22.5–47.5)"
    assert row["Change interim, %, median (IQR)"] == "−5.0 (−23.8 to 10.0)"
    assert row["p (interim vs basal)"] == "0.562"  # 0.5625 rounds half to even


def test_pet_parameters_missing_column_is_named(patients):
    with pytest.raises(InputError, match="tre_basal"):
        tables.pet_parameters(patients, baseline="basal", followups=["interim"], parameters=["tre"])


# --- Tables 3 and 4 ----------------------------------------------------------------------------


def _cox(covariates="none"):
    return pd.DataFrame(
        {
            "parameter": ["wtv_ml_change_interim_pct", "wtv_ml_change_interim_pct", "tre_basal"],
            "coding": ["continuous", "dichotomised", "dichotomised"],
            "covariates": [covariates] * 3,
            "n": [24, 24, 24],
            "events": [16, 16, 16],
            "hr": [1.012, 3.053, 0.05],
            "ci_low": [1.001, 1.003, 0.0021],
            "ci_high": [1.024, 9.289, 0.41],
            "p_wald": [0.031, 0.049, 0.0004],
            "p_lr": [0.02, 0.04, 0.0123],
            "concordance": [0.61, 0.64, 0.7],
            "method": ["cox_efron", "cox_efron", "firth_profile"],
            "ph_p": [0.5, 0.8, 0.3],
        }
    )


def _cutpoints():
    return pd.DataFrame(
        {
            "parameter": ["wtv_ml_change_interim_pct", "tre_basal"],
            "cutpoint": [-10.0, 1523.7],
            "statistic": [2.1, 3.0],
            "p_naive": [0.03, 0.002],
            "p_lau92": [0.3, 0.05],
            "p_lau94": [0.25, 0.04],
            "p_exact": [0.21, 0.035],
            "p_permutation": [0.22, 0.036],
            "p_altman": [0.3, 0.02],
            "n_low": [12, 20],
            "n_high": [12, 4],
        }
    )


def test_cox_table_univariate(patients):
    table = tables.cox_table(_cox(), cutpoints=_cutpoints())
    d = table.display
    assert table.caption.startswith("Table 3. Univariate")
    assert list(d["HR (95 % CI)"]) == [
        "1.012 (1.001–1.024)",
        "3.053 (1.003–9.289)",
        "0.050 (0.002–0.410)†",
    ]
    # Firth rows print the penalised likelihood-ratio p that goes with their profile CI.
    assert list(d["p"]) == ["0.0310", "0.0490", "0.0123"]
    assert list(d["Coding"]) == [
        "continuous, per percentage point",
        "≤ −10.0 (ref.) vs > −10.0",
        "≤ 1524 (ref.) vs > 1524",
    ]
    assert list(d["p corrected for cut-point search"]) == ["", "0.210", "0.0350"]
    assert list(d["Events/n"]) == ["16/24"] * 3
    assert any(note.startswith("† ") and "Firth" in note for note in table.footnotes)
    assert any("≤ c" in note for note in table.footnotes)
    # The numbers stay in the data, unrounded.
    assert table.data.loc[1, "hr"] == 3.053
    assert np.isnan(table.data.loc[0, "p_search_corrected"])


def test_cox_table_adjusted_caption_and_footnote():
    cox = _cox("who_grade [who_grade: G3 (1 patient) merged into G2]").iloc[:2].copy()
    cox.loc[0, ["hr", "ci_low", "ci_high", "p_wald", "p_lr"]] = np.nan
    cox.loc[0, "method"] = "not_estimable"
    table = tables.cox_table(cox, number=4)
    assert table.caption == "Table 4. Cox proportional-hazards models of PFS adjusted for WHO grade"
    assert not any("Firth" in note for note in table.footnotes)
    assert (
        "Adjusted for WHO grade (categorical, dummy-coded; lowest level reference). "
        "who_grade: G3 (1 patient) merged into G2." in table.footnotes
    )
    assert list(table.display["Coding"])[1] == "dichotomised"  # no cut-points given
    assert list(table.display["HR (95 % CI)"]) == ["not estimable", "3.053 (1.003–9.289)"]
    assert list(table.display["p"]) == ["—", "0.0490"]


def test_cox_table_with_bootstrap():
    bootstrap = pd.DataFrame(
        {
            "parameter": ["wtv_ml_change_interim_pct", "tre_basal"],
            "hr_corrected": [2.1234, 0.2],
            "cut_stability": [0.314, 0.9],
            "n_used": [498, 500],
        }
    )
    table = tables.cox_table(_cox(), cutpoints=_cutpoints(), bootstrap=bootstrap)
    assert list(table.display["HR optimism-corrected"]) == ["", "2.123", "0.200"]
    assert list(table.display["Same cut-point in bootstrap, %"]) == ["", "31", "90"]
    assert any("500 resamples" in note for note in table.footnotes)
    with pytest.raises(InputError, match="univariate"):
        tables.cox_table(_cox("who_grade"), bootstrap=bootstrap)


def test_cutpoint_summary():
    table = tables.cutpoint_summary(_cutpoints())
    row = table.display.iloc[0]
    assert row["Parameter"] == "ΔWTV interim (%)"
    assert row["Cut-point (low ≤ c)"] == "−10.0"
    assert row["n low/high"] == "12/12"
    assert row["p naive log-rank"] == "0.0300"
    assert row["p exact (Gaussian process)"] == "0.210"


# --- rendering and writing ---------------------------------------------------------------------


def test_format_table_renders_all_formats():
    df = pd.DataFrame({"Parameter": ["ΔWTV", "a|b"], "p": ["< 0.001", "≤ 0.5"]})
    out = render.format_table(df, caption="Table X. Demo", footnotes=["† Firth."])
    assert "<caption>Table X. Demo</caption>" in out["html"]
    assert "<td>&lt; 0.001</td>" in out["html"]
    assert '<td colspan="2">† Firth.</td>' in out["html"]
    md = out["markdown"].splitlines()
    assert md[0] == "**Table X. Demo**"
    assert md[2:6] == ["| Parameter | p |", "|---|---|", "| ΔWTV | < 0.001 |", "| a\\|b | ≤ 0.5 |"]
    assert r"$\Delta$WTV & $<$ 0.001 \\" in out["latex"]
    assert r"$\leq$ 0.5" in out["latex"]
    assert r"\textsuperscript{\dag} Firth." in out["latex"]


def test_write_table_writes_numbers_and_text(tmp_path):
    table = tables.cox_table(_cox(), cutpoints=_cutpoints())
    written = render.write_table(
        table, tmp_path / "table3_cox", formats=("tsv", "html", "md", "tex")
    )
    assert [p.name for p in written] == [
        "table3_cox.tsv",
        "table3_cox.html",
        "table3_cox.md",
        "table3_cox.tex",
    ]
    back = pd.read_csv(tmp_path / "table3_cox.tsv", sep="\t")
    assert back["hr"].tolist() == [1.012, 3.053, 0.05]
    assert "3.053 (1.003–9.289)" in (tmp_path / "table3_cox.md").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind


# --- small and degenerate cohorts: empty values with the reason ---------------------------------


def test_cutpoint_summary_without_cutpoint_prints_dashes_and_note():
    cuts = _cutpoints()
    cuts["note"] = ["", "no events"]
    cuts.loc[1, ["cutpoint", "statistic", *labels.CUTPOINT_P_LABELS]] = np.nan
    cuts["n_low"] = pd.array([12, pd.NA], dtype="Int64")
    cuts["n_high"] = pd.array([12, pd.NA], dtype="Int64")
    table = tables.cutpoint_summary(cuts)
    empty = table.display.iloc[1]
    assert empty["n low/high"] == "—" and empty["Cut-point (low ≤ c)"] == "—"
    assert empty["p exact (Gaussian process)"] == "—"
    assert list(table.display["Note"]) == ["", "no events"]
    assert table.display.iloc[0]["n low/high"] == "12/12"
    # without notes there is no Note column
    assert "Note" not in tables.cutpoint_summary(_cutpoints()).display.columns


def test_cox_table_footnotes_say_why_values_are_missing():
    cox = _cox()
    cox["note"] = [
        "no events",
        "Firth-penalised fit, monotone likelihood: no events where x; profile-likelihood CI "
        "not computable: Fisher information is rank deficient",
        "Firth-penalised fit, monotone likelihood: no events where y",
    ]
    cox.loc[0, ["hr", "ci_low", "ci_high", "p_wald", "p_lr", "concordance", "ph_p"]] = np.nan
    cox.loc[0, "method"] = "not_estimable"
    cox.loc[1, ["ci_low", "ci_high"]] = np.nan
    cox.loc[1, "method"] = "firth_profile"
    table = tables.cox_table(cox)
    assert list(table.display["HR (95 % CI)"]) == [
        "not estimable",
        "3.053 (CI —)†",
        "0.050 (0.002–0.410)†",
    ]
    assert "Not estimable (no events): ΔWTV interim (continuous)." in table.footnotes
    # the Firth explanation has its own footnote; the other reasons are listed by row
    assert (
        "profile-likelihood CI not computable: Fisher information is rank deficient: "
        "ΔWTV interim (dichotomised)." in table.footnotes
    )
    assert not any("monotone likelihood: no events where" in note for note in table.footnotes)
    assert table.data["note"].tolist() == cox["note"].tolist()


def test_cox_table_bootstrap_footnote_counts_skipped_resamples():
    bootstrap = pd.DataFrame(
        {
            "parameter": ["wtv_ml_change_interim_pct", "tre_basal"],
            "hr_corrected": [2.1, np.nan],
            "cut_stability": [0.3, np.nan],
            "n_resamples": [500, 500],
            "n_used": [480, 0],
        }
    )
    table = tables.cox_table(_cox(), cutpoints=_cutpoints(), bootstrap=bootstrap)
    assert list(table.display["HR optimism-corrected"]) == ["", "2.100", ""]
    assert any(
        "500 resamples, of which 0–480 per parameter had an admissible cut-point and an "
        "estimable HR; the others were skipped" in note
        for note in table.footnotes
    )


def test_format_hr_without_ci():
    assert fmt.format_hr(0.1154, np.nan, np.nan) == "0.115 (CI —)"
    assert fmt.format_hr(0.1154, np.nan, 2.0) == "0.115 (—–2.000)"
