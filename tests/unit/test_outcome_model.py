"""The synthetic outcome model is the proportional-hazards model it claims to be.

On a large cohort drawn from the generator (no images), a Cox model with the same terms must
recover the configured hazard ratios: an independent check of the simulation that the
study-level coverage check (results/validation/hazard_ratio_recovery.tsv) relies on.
"""

import numpy as np
import pandas as pd

from netpet.accuracy import hazard_ratio_recovery
from netpet.stats.cox import categorical_design, fit_model
from netpet.stats.patients import WHO_GRADE_LEVELS
from netpet.synthetic import draw_cohort

SETTINGS = {
    "n_patients": 2000,
    "n_men": 900,
    "n_progressions": None,
    "timepoints": ["basal", "interim"],
    "hr_dwtv_high": 2.0,
    "hr_dtre_high": 4.0,
    "hr_who_g2": 1.5,
    "hr_who_g3": 3.0,
    "hazard_terms": ["dwtv", "dtre", "who_grade"],
}


def test_large_cohort_recovers_configured_hazard_ratios():
    cohort = draw_cohort(SETTINGS)
    grade, grade_names, _ = categorical_design(
        cohort["who_grade"], name="who_grade", levels=WHO_GRADE_LEVELS
    )
    x = np.hstack([cohort[["dwtv_high", "dtre_high"]].to_numpy(float), grade])
    fit = fit_model(
        cohort["pfs_months"].to_numpy(float),
        cohort["progression"].to_numpy(int),
        x,
        names=["dwtv", "dtre", *grade_names],
    )
    true = np.log([2.0, 4.0, 1.5, 3.0])
    assert fit.method == "cox_efron"
    assert np.all((fit.ci_low <= true) & (true <= fit.ci_high)), np.exp(fit.coef)
    # and close: within 0.25 on the log scale with ~1300 events
    np.testing.assert_allclose(fit.coef, true, atol=0.25)


def test_recovery_table_flags_coverage(tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    cohort = draw_cohort({**SETTINGS, "n_patients": 600, "n_men": 300})
    settings = {
        "hazard_terms": SETTINGS["hazard_terms"],
        "dwtv_cut_percent": -10.0,
        "dtre_cut_percent": -21.0,
        **{k: SETTINGS[k] for k in ("hr_dwtv_high", "hr_dtre_high", "hr_who_g2", "hr_who_g3")},
    }
    (truth / "settings.json").write_text(pd.Series(settings).to_json())
    cohort[["patient_id", "dwtv_high", "dtre_high"]].to_csv(
        truth / "patients.tsv", sep="\t", index=False
    )
    # "Measured" changes equal to the true ones: both sources must give the same fit.
    patients = cohort[["patient_id", "who_grade", "pfs_months", "progression"]].assign(
        wtv_ml_change_interim_pct=cohort["dwtv_pct_interim"],
        tre_change_interim_pct=cohort["dtre_pct_interim"],
    )
    patients.to_csv(tmp_path / "patients.tsv", sep="\t", index=False)
    table = hazard_ratio_recovery(
        patients_path=tmp_path / "patients.tsv",
        truth_dir=truth,
        followup="interim",
        out=tmp_path / "recovery.tsv",
    )
    measured = table[table["source"] == "measured"].set_index("term")
    true = table[table["source"] == "true"].set_index("term")
    np.testing.assert_allclose(measured["hr"], true["hr"], rtol=1e-9)
    assert list(measured.index) == ["dwtv", "dtre", "who_grade=G2", "who_grade=G3"]
    assert measured["covered"].all(), measured
    expected = (measured["ci_low"] <= measured["true_hr"]) & (
        measured["true_hr"] <= measured["ci_high"]
    )
    assert (measured["covered"] == expected).all()
