"""Response criteria of the synthetic truth and their agreement, on a hand-built truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netpet.errors import InputError
from netpet.stats.criteria import response_criteria
from netpet.stats.criteria_truth import (
    AGREEMENT_CRITERIA,
    PAIR_COLUMNS,
    criteria_agreement,
    criteria_pairs,
    true_new_lesions,
    true_scans_table,
)

SCANS = pd.DataFrame(
    {
        "patient_id": ["P1", "P1", "P2", "P2", "P3", "P3"],
        "timepoint": ["basal", "interim"] * 3,
        "lesion_count": [2, 2, 1, 2, 1, 0],
        "wtv_ml": [10.0, 5.5, 4.0, 4.4, 2.0, 0.0],
        "suvmax": [20.0, 14.0, 30.0, 33.0, 25.0, 0.0],
        "liver_suvmean": [8.0, 7.0, 10.0, 11.0, 5.0, 5.0],
        "weight_kg": [70.0] * 6,
        "height_m": [1.7] * 6,
        "tre": [1.0] * 6,  # a truth column the table does not take
    }
)
LESIONS = pd.DataFrame(
    [
        # P1: lesion 1 splits at interim (child 3, family decreasing); 2 stays
        ("P1", "basal", 1, "present", "baseline", np.nan, "baseline"),
        ("P1", "basal", 2, "present", "baseline", np.nan, "baseline"),
        ("P1", "interim", 1, "present", "decreasing", np.nan, "decreasing"),
        ("P1", "interim", 3, "split", "new", 1.0, "decreasing"),
        # P2: one new lesion at interim
        ("P2", "basal", 1, "present", "baseline", np.nan, "baseline"),
        ("P2", "interim", 1, "present", "stable", np.nan, "stable"),
        ("P2", "interim", 2, "new", "new", np.nan, "new"),
        # P3: the only lesion disappears
        ("P3", "basal", 1, "present", "baseline", np.nan, "baseline"),
        ("P3", "interim", 1, "disappeared", "disappearing", np.nan, "disappearing"),
    ],
    columns=[
        "patient_id",
        "timepoint",
        "lesion_id",
        "status",
        "response",
        "parent_lesion_id",
        "family_response",
    ],
).assign(volume_ml=1.0, site="liver")


@pytest.fixture
def truth_dir(tmp_path):
    SCANS.to_csv(tmp_path / "scans.tsv", sep="\t", index=False)
    LESIONS.to_csv(tmp_path / "lesions.tsv", sep="\t", index=False)
    return tmp_path


def test_true_scans_table_has_the_criteria_inputs(truth_dir):
    table = true_scans_table(truth_dir).set_index(["patient_id", "timepoint"])
    assert table.loc[("P1", "interim"), "suvpeak"] == 14.0  # SUVmax as the SUVpeak proxy
    assert table.loc[("P1", "basal"), "tlr"] == pytest.approx(20.0 / 8.0)
    assert table.loc[("P2", "interim"), "wtv_ml"] == 4.4
    assert set(table["suv_type"]) == {"bw"}
    # no lesion left: no SUVmax (as in the features table), not 0
    assert np.isnan(table.loc[("P3", "interim"), "suvmax"])
    assert "tre" not in table


def test_true_new_lesions_leave_out_split_offs_and_gone_lesions(truth_dir):
    table = true_new_lesions(truth_dir, baseline="basal")
    assert table.to_dict("records") == [
        {"patient_id": "P1", "timepoint": "interim", "n_new": 0},  # child 3: family decreasing
        {"patient_id": "P2", "timepoint": "interim", "n_new": 1},
        {"patient_id": "P3", "timepoint": "interim", "n_new": 0},
    ]


def test_agreement_per_criterion_by_hand(truth_dir):
    true = response_criteria(
        true_scans_table(truth_dir),
        baseline="basal",
        followups=["interim"],
        new_lesions=true_new_lesions(truth_dir, baseline="basal"),
    )
    # truth: P1 SUVmax 20 -> 14 (-30 %), WTV 10 -> 5.5 (-45 %): PR by every criterion;
    # P2 has a new lesion: PD (not SSTR density: SUVmax +10 %, SD; early: WTV +10 %, no);
    # P3: nothing left: CR
    by_patient = true.set_index("patient_id")
    assert (
        by_patient.loc["P1", ["percist", "eortc", "sst_tv", "sstr_density"]].tolist() == ["PR"] * 4
    )
    assert by_patient.loc["P2", ["percist", "eortc", "sst_tv", "sstr_density"]].tolist() == [
        "PD",
        "PD",
        "PD",
        "SD",
    ]
    assert by_patient.loc["P3", "eortc"] == "CR"
    measured_scans = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", "P2"],
            "timepoint": ["basal", "interim"] * 2,
            "lesion_count": [2, 2, 1, 1],
            "wtv_ml": [10.0, 6.5, 4.0, 4.4],  # P1 -35 %: SD, not PR
            "suvmax": [20.0, 14.5, 30.0, 33.0],  # P1 -27.5 %: PR (EORTC), SD (PERCIST-like)
            "suvpeak": [12.0, 9.0, 20.0, 22.0],  # P1 -25 %: SD
        }
    )
    new = pd.DataFrame({"patient_id": ["P1", "P2"], "timepoint": "interim", "n_new": [0, 0]})
    measured = response_criteria(
        measured_scans, baseline="basal", followups=["interim"], new_lesions=new
    )
    pairs = criteria_pairs(measured, true)
    assert list(pairs.columns) == list(PAIR_COLUMNS)
    assert len(pairs) == 3 * len(AGREEMENT_CRITERIA)  # P3 was not measured: no classes
    p1 = pairs[pairs["patient_id"] == "P1"].set_index("criterion")
    assert p1.loc["eortc", ["measured", "true", "agree"]].tolist() == ["PR", "PR", True]
    assert p1.loc["sst_tv", ["measured_change_pct", "true_change_pct"]].tolist() == (
        pytest.approx([-35.0, -45.0])
    )
    assert pairs.loc[pairs["patient_id"] == "P2", "true_n_new"].unique().tolist() == [1]
    assert pairs.loc[pairs["patient_id"] == "P3", "agree"].isna().all()
    table = criteria_agreement(measured, true).set_index("metric")
    # P1: percist SD/PR, eortc PR/PR, sst_tv SD/PR, early yes/yes, sstr PR/PR;
    # P2 (new lesion missed): percist, eortc and sst_tv SD/PD, early no/no, sstr SD/SD
    assert table["value"].to_dict() == {
        "criteria_agreement_percist": 0.0,
        "criteria_agreement_eortc": 0.5,
        "criteria_agreement_sst_tv": 0.0,
        "criteria_agreement_early_sst_tv_reduction": 1.0,
        "criteria_agreement_sstr_density": 1.0,
    }
    assert set(table["n"]) == {2}
    assert table["target"].isna().all()


def test_bad_inputs_name_what_is_missing(truth_dir):
    SCANS.drop(columns="wtv_ml").to_csv(truth_dir / "scans.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"scans.tsv.*wtv_ml"):
        true_scans_table(truth_dir)
    table = pd.DataFrame({"patient_id": ["P1"], "timepoint": ["interim"], "n_new": [0]})
    with pytest.raises(InputError, match=r"measured criteria table.*percist"):
        criteria_pairs(table, table)
    with pytest.raises(InputError, match=r"unknown criteria.*recist"):
        criteria_pairs(table, table, criteria=["recist"])
