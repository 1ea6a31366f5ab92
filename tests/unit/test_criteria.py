"""Response criteria (netpet.stats.criteria) and their outcome statistics
(netpet.stats.criteria_outcomes) against hand-computed values and R's survival.

The R numbers below were produced by R 4 / survival 3.5 from the script ``R_SCRIPT`` (rerun by
``test_r_reference_values_are_what_r_produces`` when Rscript is installed).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from netpet.errors import InputError
from netpet.stats.columns import CRITERIA_COLUMNS, RESPONSE_CRITERIA, criteria_outcome_columns
from netpet.stats.criteria import (
    ChangeSettings,
    CriteriaSettings,
    change_class,
    response_criteria,
)
from netpet.stats.criteria_outcomes import (
    OutcomeSettings,
    criteria_km_table,
    criteria_outcomes,
    orr_confint,
)

# --- change_class: every threshold at and around its edge ------------------------------------


@pytest.mark.parametrize(
    ("baseline", "followup", "expected"),
    [
        (10.0, 7.5, "PR"),  # -25 % exactly
        (10.0, 7.51, "SD"),
        (10.0, 12.5, "PD"),  # +25 % exactly
        (10.0, 12.49, "SD"),
        (10.0, 10.0, "SD"),
    ],
)
def test_eortc_edges_are_inclusive(baseline, followup, expected):
    assert change_class(baseline, followup, pr_decrease_pct=25, pd_increase_pct=25) == expected


@pytest.mark.parametrize(
    ("baseline", "followup", "expected"),
    [
        (10.0, 7.0, "PR"),  # -30.000000000000004 % in floating point, 3 SUL
        (10.0, 7.01, "SD"),
        (2.0, 1.4, "SD"),  # -30 % but only 0.6 SUL
        (2.5, 1.7, "PR"),  # -32 %, 0.8 SUL exactly
        (2.5, 1.71, "SD"),  # 0.79 SUL
        (10.0, 13.0, "SD"),  # +30 % is not > 30 % (30.000000000000004 in floating point)
        (10.0, 13.01, "PD"),
        (2.0, 2.8, "SD"),  # +40 % but 0.8 SUL is not > 0.8
        (2.0, 2.81, "PD"),
    ],
)
def test_percist_edges(baseline, followup, expected):
    got = change_class(
        baseline,
        followup,
        pr_decrease_pct=30,
        pd_increase_pct=30,
        pr_decrease_abs=0.8,
        pd_increase_abs=0.8,
        strict_progression=True,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("followup", "expected"),
    [(60.0, "PR"), (60.01, "SD"), (120.0, "PD"), (119.99, "SD")],
)
def test_sst_tv_edges(followup, expected):
    assert change_class(100.0, followup, pr_decrease_pct=40, pd_increase_pct=20) == expected


@pytest.mark.parametrize(("baseline", "followup"), [(0.0, 5.0), (np.nan, 5.0), (5.0, np.nan)])
def test_change_class_undefined(baseline, followup):
    assert change_class(baseline, followup, pr_decrease_pct=25, pd_increase_pct=25) is None


# --- response_criteria ---------------------------------------------------------------------------


def scan(patient, timepoint, count, wtv, suvmax, suvpeak, sul=np.nan, **extra):
    return {
        "patient_id": patient,
        "timepoint": timepoint,
        "suv_type": "bw",
        "lesion_count": count,
        "wtv_ml": wtv,
        "suvmax": suvmax,
        "suvpeak": suvpeak,
        "sul_per_suvbw": sul,
        **extra,
    }


def run(rows, **kwargs):
    kwargs.setdefault("baseline", "basal")
    kwargs.setdefault("followups", ["interim"])
    return response_criteria(pd.DataFrame(rows), **kwargs).set_index("patient_id")


def test_columns_and_pet_criteria_by_hand():
    rows = [
        # SUL 0.8 x SUVpeak: 10 -> 7 SUL, -30 % and 3 SUL: PR; SUVmax -25 %: PR;
        # WTV -40 %: PR, early reduction yes
        scan("A", "basal", 3, 50.0, 20.0, 12.5, sul=0.8),
        scan("A", "interim", 3, 30.0, 15.0, 8.75, sul=0.8),
        # SUVmax +25 %: PD; WTV +20 %: PD; SULpeak +30 % (not > 30): SD; WTV change +20: no
        scan("B", "basal", 2, 10.0, 20.0, 10.0, sul=1.0),
        scan("B", "interim", 2, 12.0, 25.0, 13.0, sul=1.0),
        # WTV -9.99 %: no early reduction, SD
        scan("C", "basal", 2, 100.0, 20.0, 10.0, sul=1.0),
        scan("C", "interim", 2, 90.01, 20.0, 10.0, sul=1.0),
    ]
    out = response_criteria(pd.DataFrame(rows), baseline="basal", followups=["interim"])
    assert list(out.columns) == list(CRITERIA_COLUMNS)
    out = out.set_index("patient_id")
    a, b, c = out.loc["A"], out.loc["B"], out.loc["C"]
    assert (a.percist, a.eortc, a.sst_tv, a.early_sst_tv_reduction, a.sstr_density) == (
        "PR",
        "PR",
        "PR",
        "yes",
        "PR",
    )
    assert a.percist_quantity == "sulpeak"
    assert (a.percist_baseline, a.percist_followup) == pytest.approx((10.0, 7.0))
    assert a.percist_change_abs == pytest.approx(-3.0)
    assert a.sst_tv_change_pct == pytest.approx(-40.0)
    assert (b.percist, b.eortc, b.sst_tv, b.early_sst_tv_reduction, b.sstr_density) == (
        "SD",
        "PD",
        "PD",
        "no",
        "PD",
    )
    assert (c.sst_tv, c.early_sst_tv_reduction) == ("SD", "no")
    assert a.timepoint == "interim" and a.lesion_count_baseline == 3


def test_new_lesions_force_pd_except_sstr_density_by_default():
    rows = [
        scan("A", "basal", 3, 50.0, 20.0, 10.0, sul=1.0),
        scan("A", "interim", 4, 20.0, 10.0, 5.0, sul=1.0),  # everything fell by half
        scan("B", "basal", 3, 50.0, 20.0, 10.0, sul=1.0),
        scan("B", "interim", 3, 20.0, 10.0, 5.0, sul=1.0),
    ]
    new = pd.DataFrame({"patient_id": ["A", "B"], "timepoint": "interim", "n_new": [1, 0]})
    clinical = pd.DataFrame(
        {
            "patient_id": ["A", "B"],
            "recist_sum_mm_basal": [100.0, 100.0],
            "recist_sum_mm_interim": [50.0, 50.0],
        }
    )
    out = run(rows, new_lesions=new, clinical=clinical)
    a, b = out.loc["A"], out.loc["B"]
    for criterion in ("percist", "eortc", "sst_tv", "recist", "choi"):
        assert a[criterion] == "PD", criterion
        assert b[criterion] == "PR", criterion
    assert a.sstr_density == "PR" and a.early_sst_tv_reduction == "yes"
    assert a.n_new == 1 and b.n_new == 0
    assert "new lesions" not in a.note
    settings = CriteriaSettings.from_config({"sstr_density": {"new_lesions_progression": True}})
    assert run(rows, new_lesions=new, settings=settings).loc["A", "sstr_density"] == "PD"


def test_complete_response_when_no_lesion_is_left():
    rows = [
        scan("A", "basal", 3, 50.0, 20.0, 10.0, sul=1.0),
        scan("A", "interim", 0, 0.0, np.nan, np.nan, sul=1.0),
    ]
    clinical = pd.DataFrame(
        {
            "patient_id": ["A"],
            "recist_sum_mm_basal": [40.0],
            "recist_sum_mm_interim": [0.0],
        }
    )
    a = run(rows, clinical=clinical).loc["A"]
    for criterion in ("percist", "eortc", "sst_tv", "sstr_density", "recist", "choi"):
        assert a[criterion] == "CR", criterion
    assert a.early_sst_tv_reduction == "yes" and a.n_new == 0
    # no lesion left means no new lesion: nothing says new lesions were not assessed
    assert "new lesions" not in a.note


def test_new_lesions_unknown_baseline_without_lesions_and_missing_scans():
    rows = [
        scan("A", "basal", 3, 50.0, 20.0, 10.0, sul=1.0),
        scan("A", "interim", 3, 50.0, 20.0, 10.0, sul=1.0),
        scan("B", "basal", 0, 0.0, np.nan, np.nan, sul=1.0),
        scan("B", "interim", 2, 5.0, 20.0, 10.0, sul=1.0),
        scan("C", "basal", 0, 0.0, np.nan, np.nan, sul=1.0),
        scan("C", "interim", 0, 0.0, np.nan, np.nan, sul=1.0),
        scan("D", "basal", 3, 50.0, 20.0, 10.0, sul=1.0),
        scan("E", "interim", 3, 50.0, 20.0, 10.0, sul=1.0),
    ]
    out = run(rows)
    a, b, c, d, e = (out.loc[p] for p in "ABCDE")
    assert a.percist == "SD" and pd.isna(a.n_new)
    assert "new lesions not assessed (no lesion tracks)" in a.note
    # no lesion at baseline: every follow-up lesion is new
    assert (b.percist, b.eortc, b.sst_tv, b.n_new) == ("PD", "PD", "PD", 2)
    assert pd.isna(b.sstr_density) and pd.isna(b.early_sst_tv_reduction)
    assert "sstr_density: no lesion (or value 0) at baseline" in b.note
    # nothing before, nothing after: not evaluable (not a CR)
    assert pd.isna(c.percist) and pd.isna(c.sst_tv) and pd.isna(c.early_sst_tv_reduction)
    assert "percist: no lesion (or value 0) at baseline" in c.note
    assert d.note == "no interim scan" and pd.isna(d.percist)
    assert e.note == "no basal scan" and pd.isna(e.sst_tv)


def test_missing_row_in_new_lesion_table_is_noted():
    rows = [
        scan("A", "basal", 3, 50.0, 20.0, 10.0, sul=1.0),
        scan("A", "interim", 3, 50.0, 20.0, 10.0, sul=1.0),
    ]
    new = pd.DataFrame({"patient_id": ["Z"], "timepoint": ["interim"], "n_new": [2]})
    a = run(rows, new_lesions=new).loc["A"]
    assert "no n_new for this scan in the new-lesions table" in a.note


def test_sul_conversion_and_fallbacks():
    rows = [
        # SUL factors differ between scans: 10 x 0.8 = 8 -> 12 x 0.9 = 10.8: +35 %, +2.8: PD
        scan("A", "basal", 1, 5.0, 20.0, 10.0, sul=0.8),
        scan("A", "interim", 1, 5.0, 20.0, 12.0, sul=0.9),
        # no SUL at follow-up: SUVpeak for both, 10 -> 13.5: +35 %, +3.5: PD
        scan("B", "basal", 1, 5.0, 20.0, 10.0, sul=0.8),
        scan("B", "interim", 1, 5.0, 20.0, 13.5, sul=np.nan),
    ]
    out = run(rows)
    a, b = out.loc["A"], out.loc["B"]
    assert (a.percist, a.percist_quantity) == ("PD", "sulpeak")
    assert (a.percist_baseline, a.percist_followup) == pytest.approx((8.0, 10.8))
    assert (b.percist, b.percist_quantity) == ("PD", "suvpeak_bw")
    assert b.percist_baseline == 10.0
    assert "percist: no SUL (sul_per_suvbw unknown): on suvpeak_bw" in b.note
    empty = CriteriaSettings.from_config({"percist": {"without_sul": "empty"}})
    b = run(rows, settings=empty).loc["B"]
    assert pd.isna(b.percist) and pd.isna(b.percist_quantity)
    # a scans table without the column at all takes the same fallback
    no_column = [{k: v for k, v in r.items() if k != "sul_per_suvbw"} for r in rows]
    assert run(no_column).loc["A", "percist_quantity"] == "suvpeak_bw"


def test_sul_from_other_suv_types():
    rows = [
        # lbm: the table's SUVpeak already is SUL (factor ignored)
        scan("A", "basal", 1, 5.0, 20.0, 10.0, sul=0.5, suv_type="lbm", suv_per_suvbw=0.8),
        scan("A", "interim", 1, 5.0, 20.0, 7.0, sul=0.5, suv_type="lbm", suv_per_suvbw=0.8),
        # bsa: SUL = SUVbsa / suv_per_suvbw x sul_per_suvbw = 4 / 0.02 x 0.8 = 160
        scan("B", "basal", 1, 5.0, 20.0, 4.0, sul=0.8, suv_type="bsa", suv_per_suvbw=0.02),
        scan("B", "interim", 1, 5.0, 20.0, 4.0, sul=0.8, suv_type="bsa", suv_per_suvbw=0.02),
    ]
    out = run(rows)
    assert out.loc["A", "percist_baseline"] == 10.0 and out.loc["A", "percist"] == "PR"
    assert out.loc["B", "percist_baseline"] == pytest.approx(160.0)
    # bsa without suv_per_suvbw cannot be converted: SUVpeak fallback
    no_ratio = [{k: v for k, v in r.items() if k != "suv_per_suvbw"} for r in rows[2:]]
    assert run(no_ratio).loc["B", "percist_quantity"] == "suvpeak_bsa"


def recist_rows(patients):
    return [
        row
        for p in patients
        for row in (
            scan(p, "basal", 2, 10.0, 20.0, 10.0, sul=1.0),
            scan(p, "interim", 2, 10.0, 20.0, 10.0, sul=1.0),
            scan(p, "end", 2, 10.0, 20.0, 10.0, sul=1.0),
        )
    ]


def test_recist_thresholds_and_nadir():
    sums = {
        # basal, interim, end
        "A": (100.0, 70.0, 84.0),  # interim -30 %: PR; end +20 % and +14 mm above nadir 70: PD
        "B": (100.0, 70.01, 83.0),  # interim SD; end +18.6 % above the nadir: SD (-17 %)
        "C": (20.0, 24.0, 25.0),  # interim +20 % but 4 mm: SD; end +25 %, 5 mm: PD
        "D": (40.0, 0.0, 3.0),  # CR, then reappearance after CR: PD
        "E": (0.0, 0.0, 10.0),  # no target lesion at baseline: not evaluable
        "F": (50.0, np.nan, 50.0),  # interim missing: empty; end judged on basal nadir
    }
    clinical = pd.DataFrame(
        {
            "patient_id": list(sums),
            "recist_sum_mm_basal": [s[0] for s in sums.values()],
            "recist_sum_mm_interim": [s[1] for s in sums.values()],
            "recist_sum_mm_end": [s[2] for s in sums.values()],
        }
    )
    out = response_criteria(
        pd.DataFrame(recist_rows(sums)),
        baseline="basal",
        followups=["interim", "end"],
        clinical=clinical,
    ).set_index(["patient_id", "timepoint"])
    got = {key: out.loc[key, "recist"] for key in out.index}
    got = {k: (None if pd.isna(v) else v) for k, v in got.items()}
    assert got == {
        ("A", "interim"): "PR",
        ("A", "end"): "PD",
        ("B", "interim"): "SD",
        ("B", "end"): "SD",
        ("C", "interim"): "SD",
        ("C", "end"): "PD",
        ("D", "interim"): "CR",
        ("D", "end"): "PD",
        ("E", "interim"): None,
        ("E", "end"): None,
        ("F", "interim"): None,
        ("F", "end"): "SD",
    }
    a_end = out.loc[("A", "end")]
    assert (a_end.recist_nadir_mm, a_end.recist_change_nadir_mm) == (70.0, 14.0)
    assert a_end.recist_change_nadir_pct == pytest.approx(20.0)
    assert a_end.recist_change_pct == pytest.approx(-16.0)
    assert "recist: no target lesion at baseline" in out.loc[("E", "end"), "note"]
    assert "recist: missing value" in out.loc[("F", "interim"), "note"]


def test_recist_and_choi_without_clinical_columns_are_empty_with_a_note():
    rows = recist_rows(["A"])
    for clinical, why in [
        (None, "recist: no clinical table"),
        (pd.DataFrame({"patient_id": ["A"]}), "recist: no clinical column(s)"),
        (pd.DataFrame({"patient_id": ["B"]}), "recist: patient not in the clinical table"),
    ]:
        a = run(rows, clinical=clinical).loc["A"]
        assert pd.isna(a.recist) and pd.isna(a.choi)
        assert why in a.note
        assert "choi: no size" in a.note and "not evaluable" in a.note
        assert a.percist == "SD"  # the PET criteria are unaffected


def test_lesions_new_on_pet_do_not_make_recist_or_choi_progression_without_ct_sums():
    rows = recist_rows(["A"])
    new = pd.DataFrame({"patient_id": ["A"], "timepoint": ["interim"], "n_new": [2]})
    a = run(rows, new_lesions=new, clinical=pd.DataFrame({"patient_id": ["A"]})).loc["A"]
    assert pd.isna(a.recist) and pd.isna(a.choi)
    assert a.eortc == "PD" and a.sst_tv == "PD"  # PET criteria: new lesions are progression


def choi_case(size, hu, **kwargs):
    """Choi at interim for one patient with RECIST sums ``size`` and clinical HU ``hu``."""
    clinical = {"patient_id": ["A"]}
    for tp, s, h in zip(("basal", "interim"), size, hu, strict=True):
        clinical[f"recist_sum_mm_{tp}"] = [s]
        clinical[f"choi_hu_{tp}"] = [h]
    return run(recist_rows(["A"]), clinical=pd.DataFrame(clinical), **kwargs).loc["A"]


@pytest.mark.parametrize(
    ("size", "hu", "expected"),
    [
        ((100.0, 95.0), (100.0, 85.0), "PR"),  # density -15 %
        ((100.0, 95.0), (100.0, 85.01), "SD"),
        ((100.0, 90.0), (100.0, 100.0), "PR"),  # size -10 %
        ((100.0, 90.01), (100.0, 100.0), "SD"),
        ((100.0, 110.0), (100.0, 90.0), "PD"),  # size +10 %, density -10 %
        ((100.0, 109.99), (100.0, 90.0), "SD"),
        ((100.0, 120.0), (100.0, 80.0), "PR"),  # size +20 % but PR by density
        ((100.0, 0.0), (100.0, np.nan), "CR"),
        ((100.0, 80.0), (np.nan, np.nan), "PR"),  # PR by size needs no density
    ],
)
def test_choi_thresholds(size, hu, expected):
    assert choi_case(size, hu).choi == expected


def test_choi_undecidable_without_density_and_baseline_density_at_or_below_zero():
    a = choi_case((100.0, 95.0), (np.nan, np.nan))
    assert pd.isna(a.choi)
    assert "choi: no density" in a.note and "PR by density" not in a.note
    a = choi_case((100.0, 95.0), (0.0, -10.0))
    assert pd.isna(a.choi) and pd.isna(a.choi_density_change_pct)
    assert "baseline density 0 HU <= 0" in a.note


def test_choi_density_from_the_pet_lesions_on_ct():
    lesions = pd.DataFrame(
        {
            "patient_id": ["A"] * 4,
            "timepoint": ["basal", "basal", "interim", "interim"],
            "volume_ml": [1.0, 3.0, 2.0, 5.0],
            # basal (40 x 1 + 100 x 3) / 4 = 85 HU; interim 60 HU (the lesion without CT
            # value is left out): -29.4 %
            "ct_hu_mean": [40.0, 100.0, 60.0, np.nan],
        }
    )
    a = choi_case((100.0, 95.0), (np.nan, np.nan), lesions=lesions)
    assert a.choi == "PR" and a.choi_density_source == "pet_ct"
    assert (a.choi_density_baseline_hu, a.choi_density_followup_hu) == (85.0, 60.0)
    assert a.choi_density_change_pct == pytest.approx((60 - 85) / 85 * 100)
    # auto prefers the clinical values when the patient has both
    a = choi_case((100.0, 95.0), (100.0, 100.0), lesions=lesions)
    assert (a.choi, a.choi_density_source) == ("SD", "clinical")
    # pet_ct forces the lesions' density; clinical ignores it
    settings = CriteriaSettings.from_config({"choi": {"density": "pet_ct"}})
    assert choi_case((100.0, 95.0), (100.0, 100.0), lesions=lesions, settings=settings).choi == "PR"
    settings = CriteriaSettings.from_config({"choi": {"density": "clinical"}})
    a = choi_case((100.0, 95.0), (np.nan, np.nan), lesions=lesions, settings=settings)
    assert pd.isna(a.choi)


def test_sstr_density_on_another_parameter():
    rows = [
        scan("A", "basal", 1, 5.0, 20.0, 10.0, sul=1.0, tlr=4.0),
        scan("A", "interim", 1, 5.0, 20.0, 10.0, sul=1.0, tlr=3.0),
    ]
    settings = CriteriaSettings.from_config({"sstr_density": {"parameter": "tlr"}})
    a = run(rows, settings=settings).loc["A"]
    assert (a.sstr_density, a.eortc, a.sstr_density_parameter) == ("PR", "SD", "tlr")
    with pytest.raises(InputError, match=r"missing column\(s\) \['tlr'\]"):
        run([{k: v for k, v in r.items() if k != "tlr"} for r in rows], settings=settings)


def test_settings_from_config():
    assert CriteriaSettings.from_config(None) == CriteriaSettings()
    assert CriteriaSettings().sst_tv == ChangeSettings(40.0, 20.0)
    got = CriteriaSettings.from_config({"eortc": {"pd_increase_pct": 30}, "outcomes": {}})
    assert got.eortc == ChangeSettings(25.0, 30) and got.sst_tv == CriteriaSettings().sst_tv
    rows = [
        scan("A", "basal", 1, 5.0, 20.0, 10.0, sul=1.0),
        scan("A", "interim", 1, 5.0, 25.0, 10.0, sul=1.0),
    ]
    assert run(rows, settings=got).loc["A", "eortc"] == "SD"  # +25 % < 30 %
    for section, match in [
        ({"persist": {}}, "unknown key"),
        ({"eortc": {"pd_pct": 1}}, r"criteria\.eortc: unknown key"),
        ({"recist": {"pd_increase_mm": -1}}, r"criteria\.recist\.pd_increase_mm"),
        ({"sst_tv": {"pr_decrease_pct": 100}}, "use < 100"),
        ({"choi": {"density": "mri"}}, r"criteria\.choi\.density"),
        ({"percist": {"without_sul": "sul"}}, "without_sul"),
        ({"sstr_density": {"new_lesions_progression": "yes"}}, "true or false"),
        ({"early_sst_tv_reduction": {"min_decrease_pct": True}}, "min_decrease_pct"),
    ]:
        with pytest.raises(InputError, match=match):
            CriteriaSettings.from_config(section)


def test_bad_tables_raise():
    rows = [scan("A", "basal", 1, 5.0, 20.0, 10.0), scan("A", "basal", 1, 5.0, 20.0, 10.0)]
    with pytest.raises(InputError, match="more than one row"):
        run(rows)
    with pytest.raises(InputError, match=r"scans table: missing column\(s\) \['wtv_ml'\]"):
        run([{k: v for k, v in rows[0].items() if k != "wtv_ml"}])
    with pytest.raises(InputError, match="new-lesions table: missing"):
        run(rows[:1], new_lesions=pd.DataFrame({"patient_id": ["A"], "timepoint": ["interim"]}))


# --- outcomes ------------------------------------------------------------------------------------

R_SCRIPT = r"""
suppressMessages(library(survival))
d <- data.frame(
  cls = c("CR","PR","PR","PR","SD","SD","SD","SD","SD","PD","PD","PD"),
  time = c(30.0, 25.5, 18.0, 14.0, 22.0, 11.0, 16.5, 9.0, 14.0, 6.0, 11.0, 4.5),
  event = c(0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1))
d$resp <- as.integer(d$cls %in% c("CR","PR"))
d$pd <- as.integer(d$cls == "PD")
out <- function(key, value) {
  cat(key, "\t", paste(format(value, digits = 15), collapse = " "), "\n", sep = "")
}
s <- summary(survfit(Surv(time, event) ~ 1, data = d), times = c(11, 14))
out("surv", s$surv); out("lower", s$lower); out("upper", s$upper)
for (g in c("resp", "pd")) {
  f <- as.formula(paste("Surv(time, event) ~", g))
  out(paste0(g, "_logrank_p"), survdiff(f, data = d)$pvalue)
  fit <- coxph(f, data = d, ties = "efron")
  out(paste0(g, "_hr"), c(exp(coef(fit)), exp(confint(fit))))
  out(paste0(g, "_p"), summary(fit)$coefficients[, "Pr(>|z|)"])
  out(paste0(g, "_c"), fit$concordance[["concordance"]])
}
out("classes_logrank_p", survdiff(Surv(time, event) ~ cls, data = d)$pvalue)
out("binom_4_12", binom.test(4, 12)$conf.int)
g <- summary(survfit(Surv(time, event) ~ resp, data = d), times = c(11, 14))
out("resp0_surv", g$surv[1:2]); out("resp0_lower", g$lower[1:2]); out("resp0_upper", g$upper[1:2])
q <- quantile(survfit(Surv(time, event) ~ resp, data = d), 0.5)
out("median", q$quantile); out("median_lower", q$lower)
"""

R_REFERENCE = {
    "surv": [0.666666666666667, 0.476190476190476],
    "lower": [0.446846081150264, 0.257166363398903],
    "upper": [0.994625360259091, 0.881753611232502],
    "resp_logrank_p": [0.0606965510838792],
    "resp_hr": [0.1661604355033452, 0.0193831934065656, 1.4243932745008550],
    "resp_p": [0.1015746489063238],
    "resp_c": [0.6862745098039216],
    "pd_logrank_p": [0.0610836370450488],
    "pd_hr": [5.594451260644800, 0.751181657371778, 41.664868411769710],
    "pd_p": [0.092824250196757],
    "pd_c": [0.656862745098039],
    "classes_logrank_p": [0.0948969465539004],
    "binom_4_12": [0.0992460911495833, 0.6511244935811860],
    "resp0_surv": [0.5, 0.333333333333333],
    "resp0_lower": [0.25004882186, 0.11565845102],
    "resp0_upper": [0.99980475068, 0.96068302945],
    "median": [12.5, 25.5],
    "median_lower": [9.0, 14.0],
}

CLASSES = ["CR", "PR", "PR", "PR", "SD", "SD", "SD", "SD", "SD", "PD", "PD", "PD"]
TIMES = [30.0, 25.5, 18.0, 14.0, 22.0, 11.0, 16.5, 9.0, 14.0, 6.0, 11.0, 4.5]
EVENTS = [0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1]


def outcome_tables(classes=CLASSES, times=TIMES, events=EVENTS, column="percist"):
    ids = [f"P{i:02d}" for i in range(len(classes))]
    criteria = pd.DataFrame({c: None for c in CRITERIA_COLUMNS}, index=range(len(ids)))
    criteria["patient_id"], criteria["timepoint"], criteria[column] = ids, "interim", classes
    clinical = pd.DataFrame({"patient_id": ids, "pfs_months": times, "progression": events})
    return criteria, clinical


def test_orr_clopper_pearson_by_hand():
    # k = 0: upper = 1 - (alpha/2)^(1/n); k = n: lower = (alpha/2)^(1/n)
    assert orr_confint(0, 12) == pytest.approx((0.0, 1 - 0.025 ** (1 / 12)), rel=1e-12)
    assert orr_confint(12, 12) == pytest.approx((0.025 ** (1 / 12), 1.0), rel=1e-12)
    # beta quantiles (Clopper & Pearson) and R's binom.test
    low, high = orr_confint(4, 12)
    assert low == pytest.approx(stats.beta.ppf(0.025, 4, 9), rel=1e-10)
    assert high == pytest.approx(stats.beta.ppf(0.975, 5, 8), rel=1e-10)
    assert (low, high) == pytest.approx(R_REFERENCE["binom_4_12"], rel=1e-10)
    assert np.isnan(orr_confint(0, 0)).all()


def test_outcomes_agree_with_r():
    criteria, clinical = outcome_tables()
    out = criteria_outcomes(criteria, clinical).set_index("criterion")
    assert list(out.reset_index().columns) == list(criteria_outcome_columns([11.0, 14.0]))
    row = out.loc["percist"]
    assert (row.n, row.n_cr, row.n_pr, row.n_sd, row.n_pd, row.n_responders) == (
        12,
        1,
        3,
        5,
        3,
        4,
    )
    assert row.orr == pytest.approx(4 / 12) and row.events == 8
    ref = R_REFERENCE
    rates = [row.pfs_rate_11m, row.pfs_rate_14m]
    assert rates == pytest.approx(ref["surv"], rel=1e-9)
    assert [row.pfs_rate_11m_ci_low, row.pfs_rate_14m_ci_low] == pytest.approx(ref["lower"])
    assert [row.pfs_rate_11m_ci_high, row.pfs_rate_14m_ci_high] == pytest.approx(ref["upper"])
    assert row.groups == "CR+PR vs SD+PD"
    assert row.logrank_p == pytest.approx(ref["resp_logrank_p"][0], rel=1e-9)
    assert row.logrank_p_classes == pytest.approx(ref["classes_logrank_p"][0], rel=1e-9)
    assert [row.hr, row.hr_ci_low, row.hr_ci_high] == pytest.approx(ref["resp_hr"], rel=1e-6)
    assert row.hr_p == pytest.approx(ref["resp_p"][0], rel=1e-6)
    assert row.concordance == pytest.approx(ref["resp_c"][0], rel=1e-9)
    assert row.hr_method == "cox_efron" and row.note == ""
    # PD versus the rest
    pd_row = (
        criteria_outcomes(criteria, clinical, settings=OutcomeSettings(hr_groups="progression"))
        .set_index("criterion")
        .loc["percist"]
    )
    assert pd_row.groups == "PD vs CR+PR+SD"
    assert pd_row.logrank_p == pytest.approx(ref["pd_logrank_p"][0], rel=1e-9)
    assert [pd_row.hr, pd_row.hr_ci_low, pd_row.hr_ci_high] == pytest.approx(ref["pd_hr"], rel=1e-6)
    assert pd_row.concordance == pytest.approx(ref["pd_c"][0], rel=1e-9)
    # criteria without any class: a row with a note
    assert out.loc["recist", "n"] == 0 and pd.isna(out.loc["recist", "orr"])
    assert "no patient with a class and PFS data" in out.loc["recist", "note"]


def test_km_by_class_agrees_with_r():
    criteria, clinical = outcome_tables()
    km = criteria_km_table(criteria, clinical)
    km = km[km.criterion == "percist"].set_index("group")
    assert list(km.index) == ["all", "CR", "PR", "SD", "PD", "responders", "non_responders"]
    non, resp = km.loc["non_responders"], km.loc["responders"]
    assert (non.n, non.events, resp.n, resp.events) == (8, 6, 4, 2)
    ref = R_REFERENCE
    assert [non.pfs_rate_11m, non.pfs_rate_14m] == pytest.approx(ref["resp0_surv"], rel=1e-9)
    assert [non.pfs_rate_11m_ci_low, non.pfs_rate_14m_ci_low] == pytest.approx(
        ref["resp0_lower"], rel=1e-9
    )
    assert [non.pfs_rate_11m_ci_high, non.pfs_rate_14m_ci_high] == pytest.approx(
        ref["resp0_upper"], rel=1e-9
    )
    assert [non.median_pfs, resp.median_pfs] == ref["median"]
    assert [non.median_pfs_ci_low, resp.median_pfs_ci_low] == ref["median_lower"]
    assert np.isnan(non.median_pfs_ci_high)
    cr = km.loc["CR"]  # one censored patient
    assert (cr.n, cr.events, cr.pfs_rate_11m) == (1, 0, 1.0)
    assert "median PFS not reached" in cr.note


def test_degenerate_comparisons_give_notes():
    # all one group
    criteria, clinical = outcome_tables(classes=["SD"] * 6 + ["PD"] * 6)
    row = criteria_outcomes(criteria, clinical).set_index("criterion").loc["percist"]
    assert row.orr == 0 and pd.isna(row.hr) and pd.isna(row.logrank_p)
    assert np.isfinite(row.logrank_p_classes)  # SD versus PD still compares
    assert "all patients SD+PD: no comparison of CR+PR vs SD+PD" in row.note
    # no events
    criteria, clinical = outcome_tables(events=[0] * 12)
    row = criteria_outcomes(criteria, clinical).set_index("criterion").loc["percist"]
    assert row.events == 0 and row.pfs_rate_11m == 1.0
    assert pd.isna(row.hr) and pd.isna(row.logrank_p) and pd.isna(row.logrank_p_classes)
    assert "no events: no log-rank test or Cox model" in row.note
    # fewer than 3 patients: ORR only
    criteria, clinical = outcome_tables(classes=["PR", "PD"], times=[5.0, 3.0], events=[0, 1])
    row = criteria_outcomes(criteria, clinical).set_index("criterion").loc["percist"]
    assert row.orr == 0.5 and pd.isna(row.pfs_rate_11m) and pd.isna(row.hr)
    assert "2 patient(s) with a class and PFS data (< 3): no survival statistics" in row.note


def test_zero_event_group_uses_firth_and_unreached_times_are_empty():
    # responders never progress: monotone likelihood -> Firth
    classes = ["PR"] * 4 + ["PD"] * 4
    criteria, clinical = outcome_tables(
        classes=classes, times=[8.0, 9.0, 10.0, 12.0, 2.0, 3.0, 4.0, 5.0], events=[0] * 4 + [1] * 4
    )
    row = criteria_outcomes(criteria, clinical).set_index("criterion").loc["percist"]
    assert row.hr_method == "firth_profile" and row.hr < 1 and row.hr_ci_high < 1
    assert "Firth-penalised fit" in row.note
    # nobody followed to 14 months while the curve is above 0: no rate
    assert np.isfinite(row.pfs_rate_11m) and pd.isna(row.pfs_rate_14m)
    assert "pfs_rate_14m: nobody followed to 14 months" in row.note


def test_early_reduction_counts_yes_as_response():
    criteria, clinical = outcome_tables(
        classes=["yes"] * 4 + ["no"] * 8, column="early_sst_tv_reduction"
    )
    row = criteria_outcomes(criteria, clinical).set_index("criterion").loc["early_sst_tv_reduction"]
    assert (row.n_responders, row.groups) == (4, "yes vs no") and pd.isna(row.n_cr)
    # the first four patients are CR, PR, PR, PR above: the same split as responders
    assert row.hr == pytest.approx(R_REFERENCE["resp_hr"][0], rel=1e-6)
    with pytest.raises(InputError, match="holds"):
        criteria_outcomes(*outcome_tables(classes=["maybe"] * 12, column="early_sst_tv_reduction"))


def test_outcome_settings():
    assert OutcomeSettings.from_config({"pfs_rate_months": [6, 12]}).pfs_rate_months == (6.0, 12.0)
    for section, match in [
        ({"pfs_rates": [6]}, "unknown key"),
        ({"pfs_rate_months": [0]}, "pfs_rate_months"),
        ({"hr_groups": "pd"}, "hr_groups"),
        ({"min_patients": 1}, "min_patients"),
    ]:
        with pytest.raises(InputError, match=match):
            OutcomeSettings.from_config(section)
    criteria, clinical = outcome_tables()
    out = criteria_outcomes(criteria, clinical, settings=OutcomeSettings(pfs_rate_months=(6.5,)))
    assert "pfs_rate_6.5m_ci_high" in out.columns and "pfs_rate_11m" not in out.columns


def test_every_criterion_gets_a_row():
    criteria, clinical = outcome_tables()
    out = criteria_outcomes(criteria, clinical)
    assert list(out.criterion) == [*RESPONSE_CRITERIA, "early_sst_tv_reduction"]


def _r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(survival)"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.r
@pytest.mark.skipif(not _r_available(), reason="Rscript with survival missing")
def test_r_reference_values_are_what_r_produces():
    result = subprocess.run(["Rscript", "-e", R_SCRIPT], check=True, capture_output=True, text=True)
    produced = {}
    for line in result.stdout.splitlines():
        key, values = line.split("\t")
        produced[key] = [float(v) for v in values.split()]
    assert produced.keys() == R_REFERENCE.keys()
    for key, values in R_REFERENCE.items():
        assert produced[key] == pytest.approx(values, rel=1e-9), key
