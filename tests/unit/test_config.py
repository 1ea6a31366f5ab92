"""The config and sheet schemas reject bad input with messages that name the problem."""

import copy
from pathlib import Path

import pytest
import yaml

from netpet.config import load_sheet, validate_config
from netpet.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_default_config_is_valid(config):
    filled = validate_config(config)
    assert filled["timepoints"] == {"baseline": "basal", "followups": ["interim"]}
    assert filled["synthetic"]["enabled"] is True


def test_defaults_are_filled_without_touching_input(config):
    del config["suv"]
    before = copy.deepcopy(config)
    assert validate_config(config)["suv"] == {"type": "bw", "max_uptake_half_lives": 6}
    assert config == before


@pytest.mark.parametrize(
    ("section", "bad_key"),
    [(None, "timepoint"), ("suv", "tpye"), ("timepoints", "followup")],
)
def test_misspelt_key_is_named(config, section, bad_key):
    (config if section is None else config[section])[bad_key] = "x"
    with pytest.raises(InputError, match=rf"unknown key\(s\) '{bad_key}'"):
        validate_config(config, source="my.yaml")


def test_bad_value_names_key_and_choices(config):
    config["suv"]["type"] = "weight"
    with pytest.raises(InputError, match=r"suv\.type: 'weight' is not one of"):
        validate_config(config)


def test_missing_required_key(config):
    del config["timepoints"]["baseline"]
    with pytest.raises(InputError, match=r"timepoints: 'baseline' is a required property"):
        validate_config(config)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


SAMPLES_HEADER = "patient_id\ttimepoint\tpet_dicom\tct_dicom\tweight_kg\n"


def test_samples_sheet_is_typed(tmp_path):
    path = _write(
        tmp_path, "s.tsv", SAMPLES_HEADER + "P1\tbasal\td/p\td/c\t71.5\nP1\tinterim\td\td\t\n"
    )
    table = load_sheet(path, "samples")
    assert table["weight_kg"].tolist()[0] == 71.5
    assert table["weight_kg"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("P1\tbasal\td\td\t7\n", r"line 2, column weight_kg: 7 is less than the minimum of 20"),
        ("P 1\tbasal\td\td\t70\n", r"line 2, column patient_id: 'P 1' does not match"),
        ("P1\tbasal\td\td\tseventy\n", r"line 2, column weight_kg: 'seventy' is not of type"),
        ("P1\tbasal\td\td\t70\nP1\tbasal\td\td\t70\n", r"duplicate patient_id \+ timepoint"),
    ],
)
def test_samples_sheet_errors_name_line_and_column(tmp_path, body, message):
    path = _write(tmp_path, "s.tsv", SAMPLES_HEADER + body)
    with pytest.raises(InputError, match=message) as caught:
        load_sheet(path, "samples")
    assert str(path) in str(caught.value)


def test_samples_sheet_unknown_and_missing_columns(tmp_path):
    path = _write(tmp_path, "s.tsv", "patient_id\ttimepoint\tpet_dicom\tct_dicom\tweigth_kg\n")
    with pytest.raises(InputError, match=r"unknown column\(s\) weigth_kg"):
        load_sheet(path, "samples")
    path = _write(tmp_path, "s2.tsv", "patient_id\ttimepoint\tct_dicom\n")
    with pytest.raises(InputError, match=r"missing required column\(s\) pet_dicom"):
        load_sheet(path, "samples")
    # The CT is optional (PET only, PET/MR).
    path = _write(tmp_path, "s3.tsv", "patient_id\ttimepoint\tpet_dicom\nP1\tbasal\t/data/P1\n")
    assert load_sheet(path, "samples").loc[0, "pet_dicom"] == "/data/P1"


def test_missing_sheet(tmp_path):
    with pytest.raises(InputError, match="sheet not found"):
        load_sheet(tmp_path / "nope.tsv", "samples")


CLINICAL_HEADER = "patient_id\tsex\tage_years\twho_grade\tpfs_months\tprogression\trecist\n"


def test_clinical_keeps_extra_columns_and_checks_values(tmp_path):
    path = _write(tmp_path, "c.tsv", CLINICAL_HEADER + "P1\tF\t56\tG2\t14.5\t1\tPR\n")
    table = load_sheet(path, "clinical")
    assert table.loc[0, "recist"] == "PR"
    assert table.loc[0, "progression"] == 1
    path = _write(tmp_path, "c2.tsv", CLINICAL_HEADER + "P1\tF\t56\tG4\t14.5\t1\tPR\n")
    with pytest.raises(InputError, match=r"line 2, column who_grade: 'G4' is not one of"):
        load_sheet(path, "clinical")
    path = _write(tmp_path, "c3.tsv", CLINICAL_HEADER + "P1\tF\t56\tG2\t14.5\t2\tPR\n")
    with pytest.raises(InputError, match=r"column progression: 2 is not one of \[0, 1\]"):
        load_sheet(path, "clinical")


def test_config_yaml_segmentation_equals_the_schema_defaults(config):
    """config.yaml states the defaults; the schema is their only source in the code."""
    minimal = {k: config[k] for k in ("samples", "clinical", "timepoints")}
    minimal["synthetic"] = {"enabled": False}
    assert validate_config(config)["segmentation"] == validate_config(minimal)["segmentation"]
