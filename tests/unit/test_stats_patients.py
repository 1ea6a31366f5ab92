"""build_patient_table on a tiny hand-made cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netpet.errors import InputError
from netpet.stats.patients import build_patient_table, proportional_change_pct

CLINICAL = pd.DataFrame(
    {
        "patient_id": ["P01", "P02", "P03"],
        "sex": ["F", "M", "F"],
        "who_grade": ["G1", "G2", "G2"],
        "pfs_months": [12.0, 7.5, 20.0],
        "progression": [1, 1, 0],
    }
)
SCANS = pd.DataFrame(
    {
        "patient_id": ["P01", "P01", "P02", "P02", "P03"],
        "timepoint": ["basal", "interim", "basal", "interim", "basal"],
        "wtv_ml": [100.0, 90.0, 0.0, 5.0, 40.0],
        "tre": [800.0, 600.0, 0.0, 30.0, 100.0],
        "method": ["liver_mean_3sd"] * 5,
    }
)


def build(scans=SCANS, clinical=CLINICAL):
    return build_patient_table(
        scans, clinical, baseline="basal", followups=["interim"], parameters=["wtv_ml", "tre"]
    )


def test_wide_table_and_changes():
    out = build()
    assert out["patient_id"].tolist() == ["P01", "P02", "P03"]
    assert out.loc[0, "wtv_ml_basal"] == 100.0 and out.loc[0, "tre_interim"] == 600.0
    assert out.loc[0, "wtv_ml_change_interim_pct"] == pytest.approx(-10.0)
    assert out.loc[0, "tre_change_interim_pct"] == pytest.approx(-25.0)
    # baseline 0: undefined change, recorded; missing interim scan: recorded
    assert np.isnan(out.loc[1, "wtv_ml_change_interim_pct"])
    assert "wtv_ml_change_interim_pct: baseline is 0" in out.loc[1, "change_notes"]
    assert np.isnan(out.loc[2, "tre_interim"])
    assert out.loc[2, "change_notes"] == "no interim scan"
    assert out.loc[0, "change_notes"] == ""
    assert "method" not in out.columns and out.loc[1, "who_grade"] == "G2"


def test_proportional_change_never_infinite():
    np.testing.assert_array_equal(np.isnan(proportional_change_pct([0, 2], [1, 3])), [True, False])


@pytest.mark.parametrize(
    ("scans", "clinical", "match"),
    [
        (SCANS[SCANS["patient_id"] != "P03"], CLINICAL, "no 'basal' scan for patient"),
        (pd.concat([SCANS, SCANS.iloc[:1]]), CLINICAL, "more than one scan"),
        (SCANS, CLINICAL.assign(progression=[1, 2, 0]), "'progression' must be 0"),
        (SCANS, CLINICAL.assign(who_grade=["G1", "G4", "G2"]), "'who_grade' must be one of"),
        (SCANS.drop(columns="tre"), CLINICAL, "missing column 'tre'"),
        (
            SCANS.assign(timepoint=SCANS["timepoint"].replace("interim", "week6")),
            CLINICAL,
            "neither the baseline",
        ),
        (SCANS, CLINICAL.iloc[:2], "not in clinical table"),
    ],
)
def test_input_errors(scans, clinical, match):
    with pytest.raises(InputError, match=match):
        build(scans, clinical)
