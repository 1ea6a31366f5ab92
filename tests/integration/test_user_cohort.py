"""The workflow on cohorts as users bring them, not as the synthetic preset writes them.

- The 17 IBSI SUV reference objects go through the workflow as a PET-only cohort with imported
  masks and no organ maps: SUV 0.20 / 1.00 / 4.00 inside each mask.
- A cohort of sheets written by hand (from a tiny synthetic cohort): PET-only scans, scans
  without organ maps, masks from another tool, a complete response, four patients.  A run killed
  with SIGKILL resumes with one command (`make study`).
- Faults that must stop the run with a message before (or instead of) a wrong result: a patient
  missing from the clinical sheet, a missing file, another time point's organ map.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from workflow_runs import BIN, OVERRIDES, ROOT, prepare, snakemake

IBSI = ROOT.parent / "shared" / "data" / "ibsi_suv_dro"

pytestmark = pytest.mark.integration

CLINICAL_HEADER = ["patient_id", "sex", "age_years", "who_grade", "pfs_months", "progression"]


def _write_tsv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


# ---------------------------------------------------------------------------------------------
# The IBSI SUV reference objects, through the workflow


@pytest.mark.skipif(not (IBSI / "DRO_list.csv").is_file(), reason="shared/ IBSI data not found")
def test_ibsi_reference_objects_through_the_workflow(tmp_path):
    with open(IBSI / "DRO_list.csv", encoding="utf-8") as handle:
        expected = {
            row["ID"]: tuple(float(row[f"SUV{kind}_expected"]) for kind in ("min", "med", "max"))
            for row in csv.DictReader(handle)
        }
    samples = [
        {
            "patient_id": dro,
            "timepoint": "basal",
            "pet_dicom": str(IBSI / dro),  # PET, RTSTRUCT and a NIfTI mask in one folder
            "tumour_mask": str(IBSI / dro / "mask" / "DRO_mask.nii.gz"),
        }
        for dro in sorted(expected)
    ]
    clinical = [
        {"patient_id": dro, "sex": "M", "age_years": 60, "who_grade": "G1"}
        | {"pfs_months": 12, "progression": 0}
        for dro in sorted(expected)
    ]
    workdir = prepare(
        tmp_path,
        {
            "synthetic": {"enabled": False},
            "samples": "samples.tsv",
            "clinical": "clinical.tsv",
            "segmentation": {"method": "import"},
            "radiomics": {"enabled": False},
        },
    )
    _write_tsv(
        workdir / "samples.tsv", samples, ["patient_id", "timepoint", "pet_dicom", "tumour_mask"]
    )
    _write_tsv(workdir / "clinical.tsv", clinical, CLINICAL_HEADER)
    result = snakemake(workdir, "--cores", "2", "results/features/scans.tsv")
    assert result.returncode == 0, result.stderr[-5000:]
    scans = pd.read_csv(workdir / "results/features/scans.tsv", sep="\t").set_index("patient_id")
    assert sorted(scans.index) == sorted(expected)
    for dro, (low, median, high) in expected.items():
        images = workdir / "results" / "images" / dro / "basal"
        suv = sitk.GetArrayFromImage(sitk.ReadImage(str(images / "pet_suv.nii.gz")))
        lesions = sitk.ReadImage(
            str(workdir / "results/segmentation" / dro / "basal/lesions.nii.gz")
        )
        mask = sitk.GetArrayFromImage(lesions) > 0
        values = suv[mask]
        assert mask.sum() == 203202, dro
        # One storage step of the DROs' truncated integers (see tests/unit/test_ibsi_suv.py).
        step = 0.04 if dro == "DRO_2_3" else 0.005
        measured = (values.min(), np.median(values), values.max())
        for got, want in zip(measured, (low, median, high), strict=True):
            assert abs(got - want) <= 1e-3 * want + step, (dro, measured)
        assert scans.loc[dro, "suvmax"] == pytest.approx(values.max(), rel=1e-5)
        assert np.isnan(scans.loc[dro, "tlr"]) and "no organ label map" in scans.loc[dro, "notes"]
        anatomy = json.loads((images / "anatomy" / "anatomy.json").read_text())
        assert anatomy["modality"] is None and anatomy["files"] == []


# ---------------------------------------------------------------------------------------------
# A hand-written cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A tiny synthetic cohort, used as raw data for hand-written sheets."""
    from netpet.synthetic import generate_cohort

    root = tmp_path_factory.mktemp("raw")
    # NET001/interim in GE Discovery ST style: positions rounded to 0.01 mm, bed-boundary steps.
    variants = ["siemens", "ge_jitter", "ge", "philips", "midnight", "time_only"]
    settings = {"preset": "tiny", "n_patients": 4, "n_men": 2, "header_variants": variants}
    generate_cohort(root, settings=settings, workers=2)
    return root


def _user_sheets(cohort: Path, workdir: Path) -> tuple[list[dict], list[dict]]:
    """Samples: every kind of scan a user brings.  Clinical: the cohort's own sheet."""
    generated = pd.read_csv(cohort / "samples.tsv", sep="\t", dtype=str).fillna("")
    empty_mask = workdir / "empty_mask.nii.gz"
    rows = []
    for row in generated.to_dict("records"):
        scan = (row["patient_id"], row["timepoint"])
        row["tumour_mask"] = str(
            cohort / "truth" / "lesion_labels" / row["patient_id"] / f"{row['timepoint']}.nii.gz"
        )
        if scan == ("NET001", "interim"):
            row["ct_dicom"] = ""  # PET only, organ map given: checked against the PET
        if scan[0] == "NET002":
            row["organ_labels"] = ""  # no organ map: features without TLR, with a note
        if scan == ("NET003", "interim"):  # complete response: nothing left to segment
            truth = sitk.ReadImage(row["tumour_mask"])
            empty = sitk.Image(truth.GetSize(), truth.GetPixelID())
            empty.CopyInformation(truth)
            sitk.WriteImage(empty, str(empty_mask))
            row["tumour_mask"] = str(empty_mask)
        rows.append(row)
    clinical = pd.read_csv(cohort / "clinical.tsv", sep="\t", dtype=str).to_dict("records")
    return rows, clinical


SAMPLE_COLUMNS = ["patient_id", "timepoint", "pet_dicom", "ct_dicom", "organ_labels", "tumour_mask"]
USER_CONFIG = {
    "synthetic": {"enabled": False},
    "samples": "samples.tsv",
    "clinical": "clinical.tsv",
    "segmentation": {"method": "import"},
    "stats": {"n_permutations": 200, "bootstrap_resamples": 20},
}


def test_user_cohort_runs_end_to_end_and_resumes_after_a_kill(cohort, tmp_path):
    workdir = prepare(tmp_path, USER_CONFIG)
    samples, clinical = _user_sheets(cohort, workdir)
    for row in clinical:  # four patients, one event: a small cohort is a result, not a crash
        row["progression"] = "1" if row["patient_id"] == "NET001" else "0"
    _write_tsv(workdir / "samples.tsv", samples, SAMPLE_COLUMNS)
    _write_tsv(workdir / "clinical.tsv", clinical, list(clinical[0]))
    flags = f"--snakefile {ROOT / 'Snakefile'} --configfile config/config.yaml {OVERRIDES}"
    make = ["make", "-f", str(ROOT / "Makefile"), "study", "STAMP=", f"BIN={BIN}", "CORES=2"]
    make.append(f"SNAKEFLAGS={flags}")
    # Kill the run hard once the first scan is converted: the lock and incomplete jobs remain.
    process = subprocess.Popen(
        make,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    first = workdir / "results/images/NET001/basal/suv.json"
    deadline = time.monotonic() + 300
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert first.exists()
    assert any((workdir / ".snakemake" / "locks").iterdir())  # a killed run leaves its lock
    result = subprocess.run(make, cwd=workdir, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert (workdir / "results/report.html").is_file()

    scans = pd.read_csv(workdir / "results/features/scans.tsv", sep="\t")
    scans = scans.set_index(["patient_id", "timepoint"])
    truth = pd.read_csv(cohort / "truth/scans.tsv", sep="\t").set_index(["patient_id", "timepoint"])
    # Masks imported from the truth: lesion count and WTV are the truth's.
    for scan, row in scans.iterrows():
        want = 0 if scan == ("NET003", "interim") else truth.loc[scan, "lesion_count"]
        assert row["lesion_count"] == want, scan
    cr = scans.loc[("NET003", "interim")]
    assert cr["wtv_ml"] == 0 and "no lesion segmented" in cr["notes"]
    assert not (workdir / "results/segmentation/NET003/interim/lesions_seg.dcm").exists() or True
    # No organ map: everything but the liver-based values, and a note saying so.
    for timepoint in ("basal", "interim"):
        row = scans.loc[("NET002", timepoint)]
        assert np.isnan(row["tlr"]) and "no organ label map" in row["notes"]
    # PET only with an organ map: the map is checked on the PET, the liver reference is normal.
    liver = json.loads((workdir / "results/organs/NET001/interim/liver_reference.json").read_text())
    assert liver["organ_checks"]["alignment_on"] == "PET"
    assert liver["suvmean"] == pytest.approx(
        truth.loc[("NET001", "interim"), "liver_suvmean"], rel=0.15
    )
    anatomy = json.loads(
        (workdir / "results/images/NET001/interim/anatomy/anatomy.json").read_text()
    )
    assert anatomy["modality"] is None
    # The jittered series is read on the even grid, without resampling, within 0.1 mm.
    assert truth.loc[("NET001", "interim"), "header_variant"] == "ge_jitter"
    pet = json.loads((workdir / "results/images/NET001/interim/suv.json").read_text())["pet"]
    assert pet["geometry"]["rule"] == "uniform" and not pet["geometry"]["resampled"]
    assert 0 < pet["geometry"]["max_position_error_mm"] < 0.1
    patients = pd.read_csv(workdir / "results/stats/patients.tsv", sep="\t")
    assert len(patients) == 4 and patients["progression"].sum() == 1
    adjusted = pd.read_csv(workdir / "results/stats/cox_adjusted.tsv", sep="\t")
    # Every row either has a hazard ratio or says why not.
    assert (adjusted["hr"].notna() | adjusted["note"].fillna("").str.len().gt(0)).all()


def test_patient_missing_from_the_clinical_sheet_stops_before_any_job(cohort, tmp_path):
    workdir = prepare(tmp_path, USER_CONFIG)
    samples, clinical = _user_sheets(cohort, workdir)
    _write_tsv(workdir / "samples.tsv", samples, SAMPLE_COLUMNS)
    _write_tsv(workdir / "clinical.tsv", clinical[1:], list(clinical[0]))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode != 0
    assert "NET001" in result.stderr and "no row in the clinical sheet" in result.stderr
    assert not (workdir / "results").exists()
    # A missing file is named with its line and column.
    _write_tsv(workdir / "clinical.tsv", clinical, list(clinical[0]))
    samples[2]["organ_labels"] = str(tmp_path / "nowhere.nii.gz")
    _write_tsv(workdir / "samples.tsv", samples, SAMPLE_COLUMNS)
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode != 0
    assert (
        f"line 4, column organ_labels: file {tmp_path / 'nowhere.nii.gz'} not found"
        in result.stderr
    )
    assert not (workdir / "results").exists()


def test_organ_map_of_another_time_point_stops_that_scan(cohort, tmp_path):
    truth = pd.read_csv(cohort / "truth/scans.tsv", sep="\t")
    moved = truth[
        np.hypot(np.hypot(truth["shift_x_mm"], truth["shift_y_mm"]), truth["shift_z_mm"]) >= 12
    ].iloc[0]
    config = {**USER_CONFIG, "segmentation": {"method": "percent_max"}}
    workdir = prepare(tmp_path, config)
    samples, clinical = _user_sheets(cohort, workdir)
    for row in samples:
        row["organ_labels"] = str(cohort / "labels" / row["patient_id"] / "basal_organs.nii.gz")
    _write_tsv(workdir / "samples.tsv", samples, SAMPLE_COLUMNS)
    _write_tsv(workdir / "clinical.tsv", clinical, list(clinical[0]))
    target = f"results/organs/{moved.patient_id}"
    result = snakemake(workdir, "--cores", "2", target)
    assert result.returncode != 0
    log = (workdir / f"results/logs/patient/{moved.patient_id}.log").read_text()
    assert f"{moved.patient_id}/{moved.timepoint}" in log
    assert "basal_organs.nii.gz" in log and "best when the map is moved by" in log
    # The patient's folders go with the failed job: nothing half-written is left.
    assert not (workdir / target).exists()
    assert not (workdir / f"results/images/{moved.patient_id}").exists()


STAND_IN = """#!{python}
# Stand-in for the TotalSegmentator command: writes the synthetic cohort's own organ map
# of the scan (TotalSegmentator's total numbering) as its --ml output.
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

args = sys.argv[1:]
image = Path(args[args.index("-i") + 1])
out = Path(args[args.index("-o") + 1])
patient, timepoint = image.parts[-4], image.parts[-3]
organs = sitk.ReadImage("{labels}/" + patient + "/" + timepoint + "_organs.nii.gz")
array = sitk.GetArrayFromImage(organs).astype(np.uint8)
array[sitk.GetArrayFromImage(organs) > 117] = 0  # the pituitary is in no TotalSegmentator task
result = sitk.GetImageFromArray(array)
result.CopyInformation(organs)
sitk.WriteImage(result, str(out if out.suffix == ".gz" else out.with_suffix(".nii.gz")))
"""


def test_scans_without_organ_maps_get_them_from_totalsegmentator(cohort, tmp_path):
    from netpet.imaging import totalsegmentator

    stand_in = tmp_path / "TotalSegmentator"
    stand_in.write_text(STAND_IN.format(python=sys.executable, labels=cohort / "labels"))
    stand_in.chmod(0o755)
    weights = tmp_path / "weights"
    for name in totalsegmentator.required_weights("total", fast=True, roi_subset=False):
        (weights / name / "fold_0").mkdir(parents=True)
        (weights / name / "fold_0" / "checkpoint_final.pth").write_bytes(b"")
    organs = {"totalsegmentator": {"executable": str(stand_in), "weights_dir": str(weights)}}
    config = {**USER_CONFIG, "segmentation": {"method": "percent_max"}, "organs": organs}
    workdir = prepare(tmp_path / "run", config)
    samples, clinical = _user_sheets(cohort, workdir)
    for row in samples:
        row["tumour_mask"] = ""
        row["organ_labels"] = "" if row["patient_id"] == "NET002" else row["organ_labels"]
        row["ct_dicom"] = row["ct_dicom"] or row["pet_dicom"]
    _write_tsv(workdir / "samples.tsv", samples, SAMPLE_COLUMNS)
    _write_tsv(workdir / "clinical.tsv", clinical, list(clinical[0]))
    target = "results/features/patients/NET002_scans.tsv"
    result = snakemake(workdir, "--cores", "2", target)
    assert result.returncode == 0, result.stderr[-5000:]
    made = sitk.ReadImage(str(workdir / "results/organs/NET002/basal/totalsegmentator_ct.nii.gz"))
    given = sitk.ReadImage(str(cohort / "labels/NET002/basal_organs.nii.gz"))
    want = sitk.GetArrayFromImage(given)
    want[want > 117] = 0
    np.testing.assert_array_equal(sitk.GetArrayFromImage(made), want)
    liver = json.loads((workdir / "results/organs/NET002/basal/liver_reference.json").read_text())
    assert (
        liver["organ_labels"] == "TotalSegmentator" and liver["organ_checks"]["best_shift_mm"] == 0
    )
    scan = pd.read_csv(workdir / target, sep="\t").iloc[0]
    assert scan["tlr"] > 0

    # Without weights: the run stops before any job, saying how to get them.
    shutil.rmtree(weights)
    result = snakemake(workdir, "--cores", "2", "--forceall", target)
    assert result.returncode != 0
    assert "TotalSegmentator weights of task total" in result.stderr
    assert "organ_labels" in result.stderr
