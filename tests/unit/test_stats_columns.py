"""Column names and cell grammar of the study's tables: each built in one place, read back."""

import numpy as np
import pytest

from netpet.stats import columns


@pytest.mark.parametrize(
    ("parameter", "followup"), [("wtv_ml", "interim"), ("liver_suvmean", "week_12")]
)
def test_change_column_round_trip(parameter, followup):
    name = columns.change_column(parameter, followup)
    assert columns.is_change_column(name)
    assert columns.parse_column(name, [parameter, "suvmean"]) == (parameter, None, followup)


def test_value_column_round_trip_prefers_the_longest_parameter():
    name = columns.value_column("liver_suvmean", "basal")
    assert name == "liver_suvmean_basal" and not columns.is_change_column(name)
    assert columns.parse_column(name, ["suvmean", "liver_suvmean"]) == (
        "liver_suvmean",
        "basal",
        None,
    )
    assert columns.parse_column("age_years", ["wtv_ml"]) == ("age_years", None, None)


def test_notes_round_trip():
    cell = columns.join_notes(["no events", "PH test not computable"])
    assert cell == "no events; PH test not computable"
    assert columns.split_notes(cell) == ["no events", "PH test not computable"]
    assert columns.split_notes(np.nan) == [] and columns.note_text(np.nan) == ""


def test_covariates_cell_round_trip():
    cell = columns.covariates_cell(
        ["who_grade", "ki67"], ["who_grade: G3 (1 patient) merged into G2"]
    )
    assert cell == "who_grade, ki67 [who_grade: G3 (1 patient) merged into G2]"
    assert columns.parse_covariates([cell, cell]) == (
        ["who_grade", "ki67"],
        ["who_grade: G3 (1 patient) merged into G2"],
    )
    assert columns.covariates_cell([]) == "none"
    assert columns.parse_covariates(["none", np.nan]) == ([], [])
