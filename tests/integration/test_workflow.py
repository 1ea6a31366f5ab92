"""The whole workflow through Snakemake on a tiny synthetic cohort.

One run (module-scoped fixture) on the ``tiny`` preset; the tests then check its outputs
against the cohort's ground truth and the privacy rule.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"

pytestmark = pytest.mark.integration

TINY = {
    "synthetic": {"enabled": True, "preset": "tiny", "n_patients": 4, "n_men": 2},
    "stats": {"n_permutations": 1000, "bootstrap_resamples": 50},
}


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        str(SNAKEMAKE),
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        "config/config.yaml",
        "tiny.yaml",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=workdir, check=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    shutil.copytree(ROOT / "config", workdir / "config")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    result = _snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def test_every_scan_has_features(run):
    scans = pd.read_csv(run / "results/features/scans.tsv", sep="\t")
    samples = pd.read_csv(run / "resources/synthetic/tiny/samples.tsv", sep="\t")
    assert len(scans) == len(samples) == 8
    assert set(scans["segmentation_method"]) == {"percent_max"}
    lesions = pd.read_csv(run / "results/features/lesions.tsv", sep="\t")
    per_scan = lesions.groupby(["patient_id", "timepoint"])["volume_ml"].sum()
    joined = scans.set_index(["patient_id", "timepoint"])["wtv_ml"]
    pd.testing.assert_series_equal(
        per_scan.reindex(joined.index).fillna(0), joined, check_names=False, rtol=1e-4
    )


def test_suv_image_matches_truth_grid_and_liver(run):
    truth = pd.read_csv(run / "resources/synthetic/tiny/truth/scans.tsv", sep="\t")
    scans = pd.read_csv(run / "results/features/scans.tsv", sep="\t")
    merged = truth.merge(scans, on=["patient_id", "timepoint"], suffixes=("_true", ""))
    # Liver reference SUVmean within 10 % of the true normal-liver SUV (noise CV 15 %,
    # a 3 cm sphere averages it down).
    rel = (merged["liver_suvmean"] / merged["liver_suvmean_true"] - 1).abs()
    assert rel.max() < 0.10, merged[["liver_suvmean", "liver_suvmean_true"]]
    image = sitk.ReadImage(str(run / "results/images/NET001/basal/pet_suv.nii.gz"))
    labels = sitk.ReadImage(
        str(run / "resources/synthetic/tiny/truth/lesion_labels/NET001/basal.nii.gz")
    )
    assert image.GetSize() == labels.GetSize()


def test_no_identifying_value_reaches_results(run):
    identifiers = pd.read_csv(
        run / "resources/synthetic/tiny/truth/identifiers.tsv", sep="\t", dtype=str
    )
    secrets = set()
    for column in identifiers.columns.drop(["patient_id", "timepoint"]):
        for value in identifiers[column].dropna():
            secrets.add(value)
            secrets.update(part for part in value.split("^") if len(part) > 3)
    assert secrets
    leaks = []
    for path in (run / "results").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaks += [(str(path), s) for s in secrets if s.encode() in data]
    assert not leaks, leaks[:10]


def test_dicom_seg_references_pet_and_is_deidentified(run):
    import pydicom

    seg = pydicom.dcmread(run / "results/segmentation/NET001/basal/lesions_seg.dcm")
    assert seg.Modality == "SEG"
    assert seg.PatientID == "NET001"
    assert not seg.get("PatientBirthDate")


def test_report_builds(run):
    result = _snakemake(run, "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (run / "results/report.html").read_text(errors="replace")
    assert "mip_NET001.png" in html


def test_rerun_has_nothing_to_do(run):
    result = _snakemake(run, "--dry-run", "--quiet")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_misspelt_config_key_stops_with_its_name(tmp_path):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump({"segmentaton": {"method": "fixed"}}))
    result = _snakemake(tmp_path, "--dry-run")
    assert result.returncode != 0
    assert "unknown key(s) 'segmentaton'" in result.stderr + result.stdout
