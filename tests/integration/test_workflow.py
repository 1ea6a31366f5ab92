"""The whole workflow through Snakemake on a tiny synthetic cohort.

One run (module-scoped fixture) of the three-time-point configuration
(``config/longitudinal.yaml``: basal, interim, end of treatment; splits, new lesions that
resolve, body shifts) on the ``tiny`` preset; the tests then check its outputs against the
cohort's ground truth and the privacy rule.
"""

import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from workflow_runs import ROOT, prepare, snakemake

pytestmark = pytest.mark.integration

LONGITUDINAL = yaml.safe_load((ROOT / "config/longitudinal.yaml").read_text())
TIMEPOINTS = ["basal", "interim", "end_of_treatment"]
TINY = {
    "timepoints": LONGITUDINAL["timepoints"],
    "synthetic": {
        **LONGITUDINAL["synthetic"],
        "name": "tiny",
        "preset": "tiny",
        "n_patients": 4,
        "n_men": 2,
        "n_progressions": None,
    },
    "stats": {"n_permutations": 1000, "bootstrap_resamples": 50},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    prepare(workdir, TINY)
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def test_every_scan_has_features(run):
    scans = pd.read_csv(run / "results/features/scans.tsv", sep="\t")
    samples = pd.read_csv(run / "resources/synthetic/tiny/samples.tsv", sep="\t")
    assert len(scans) == len(samples) == 4 * len(TIMEPOINTS)
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
    assert not seg.get("PatientBirthDate") and not seg.get("PatientSex")
    assert not seg.get("StudyDate") and seg.PatientIdentityRemoved == "YES"
    # The SEG references the PET by de-identified UIDs; their map stays in private/.
    uid_map = pd.read_csv(run / "private/uid_map/NET001/basal.tsv", sep="\t", dtype=str)
    mapped = dict(zip(uid_map["source_uid"], uid_map["deidentified_uid"], strict=True))
    referenced = seg.ReferencedSeriesSequence[0]
    assert referenced.SeriesInstanceUID in mapped.values()
    assert (
        seg.StudyInstanceUID
        == mapped[uid_map.loc[uid_map["kind"] == "study", "source_uid"].iloc[0]]
    )


def test_no_source_uid_reaches_results(run):
    """Study, series, frame-of-reference and instance UIDs of the cohort's DICOM: none leaks."""
    import pydicom

    uids = set()
    for path in (run / "resources/synthetic/tiny/dicom").rglob("*"):
        if path.is_file():
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            for keyword in (
                "StudyInstanceUID",
                "SeriesInstanceUID",
                "SOPInstanceUID",
                "FrameOfReferenceUID",
            ):
                if ds.get(keyword):
                    uids.add(str(ds.get(keyword)).encode())
    assert len(uids) > 100
    leaks = []
    for path in (run / "results").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaks += [(str(path), uid) for uid in uids if uid in data]
    assert not leaks, leaks[:10]


def test_tracks_follow_the_true_lesions_over_three_scans(run):
    tracks = pd.read_csv(run / "results/longitudinal/tracks.tsv", sep="\t")
    assert set(tracks["timepoint"]) == set(TIMEPOINTS)
    accuracy = pd.read_csv(run / "results/validation/track_accuracy.tsv", sep="\t")
    value = accuracy.set_index("metric")["value"]
    assert value["track_continuity_ge_1ml"] >= 0.9
    assert value["measured_tracks_swapped"] == 0
    heterogeneity = pd.read_csv(run / "results/longitudinal/patients.tsv", sep="\t")
    assert len(heterogeneity) == 4 * (len(TIMEPOINTS) - 1)
    patients = pd.read_csv(run / "results/stats/patients.tsv", sep="\t")
    assert {"heterogeneous_interim", "n_new_end_of_treatment"} <= set(patients.columns)
    criteria = pd.read_csv(run / "results/stats/criteria.tsv", sep="\t")
    assert len(criteria) == 4 * (len(TIMEPOINTS) - 1)
    assert criteria["sst_tv"].isin(["CR", "PR", "SD", "PD"]).all()
    lesions = pd.read_csv(run / "results/features/lesions.tsv", sep="\t")
    assert lesions["krenning_score"].between(1, 4).all()
    for patient in ("NET001", "NET004"):
        assert (run / f"results/figures/tracks/{patient}.png").stat().st_size > 10_000
        assert (run / f"results/figures/lesion_mip/{patient}.png").stat().st_size > 10_000


def test_registration_recovers_the_true_body_shift(run):
    truth = pd.read_csv(run / "resources/synthetic/tiny/truth/scans.tsv", sep="\t")
    truth = truth.set_index(["patient_id", "timepoint"])
    errors_mm = []
    for (patient, timepoint), row in truth.iterrows():
        if timepoint == "basal":
            continue
        record = run / f"results/longitudinal/registration/{patient}/{timepoint}/registration.json"
        found = np.asarray(json.loads(record.read_text())["translation_mm"])
        shift = row[["shift_x_mm", "shift_y_mm", "shift_z_mm"]].to_numpy(float)
        errors_mm.append(np.abs(found - shift).max())
    assert len(errors_mm) == 8
    assert max(errors_mm) < 3.0, errors_mm  # 6 mm PET voxels


def test_scan_intervals_but_no_dates_reach_results(run):
    times = pd.read_csv(run / "results/longitudinal/scan_times.tsv", sep="\t")
    truth = pd.read_csv(run / "resources/synthetic/tiny/truth/scans.tsv", sep="\t")
    merged = times.merge(truth, on=["patient_id", "timepoint"])
    assert len(merged) == 12
    # Whole days apart in the truth; the scan reference times differ by the uptake jitter.
    assert (merged["days_from_baseline"] - merged["days_from_basal"]).abs().max() < 1.0
    assert list(times.columns) == [
        "patient_id",
        "timepoint",
        "days_from_baseline",
        "months_from_baseline",
    ]


def test_report_builds(run):
    result = snakemake(run, "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (run / "results/report.html").read_text(errors="replace")
    assert "mip_NET001.png" in html


def test_rerun_has_nothing_to_do(run):
    result = snakemake(run, "--dry-run", "--quiet")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_misspelt_config_key_stops_with_its_name(tmp_path):
    prepare(tmp_path, {"segmentaton": {"method": "fixed"}})
    result = snakemake(tmp_path, "--dry-run")
    assert result.returncode != 0
    assert "unknown key(s) 'segmentaton'" in result.stderr + result.stdout
