"""The SUV type carried through: SUL (lbm) segments the same voxels as SUVbw.

Thresholds are stated in SUVbw and converted per scan with its SUV / SUVbw ratio, so the
lesions found on SUL equal those found on SUVbw, and every SUV value is that ratio times its
SUVbw value; the tables say which SUV they hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from netpet.config import validate_config
from netpet.steps.ingest import ingest_sample
from netpet.steps.scan import features_step, organs_step, segment_step

CONFIG = validate_config(
    yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "config.yaml").read_text())
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from netpet.synthetic import generate_cohort

    root = tmp_path_factory.mktemp("suv_type")
    generate_cohort(root / "cohort", settings={"preset": "tiny", "n_patients": 1}, workers=1)
    return root


def _chain(cohort: Path, suv_type: str) -> Path:
    out = cohort / suv_type
    samples = cohort / "cohort" / "samples.tsv"
    ingest_sample(
        samples,
        "NET001",
        "basal",
        suv_type=suv_type,
        pet_suv_path=out / "pet_suv.nii.gz",
        anatomy_dir=out / "anatomy",
        provenance_path=out / "suv.json",
    )
    organs_step(
        patient_id="NET001",
        timepoint="basal",
        pet_suv_path=out / "pet_suv.nii.gz",
        anatomy_dir=out / "anatomy",
        organ_labels_path=cohort / "cohort" / "labels" / "NET001" / "basal_organs.nii.gz",
        organ_labels_origin="synthetic cohort",
        check_organ_labels=True,
        liver_reference_settings=CONFIG["organs"]["liver_reference"],
        checks=CONFIG["organs"]["checks"],
        organs_out=out / "organs.nii.gz",
        liver_json_out=out / "liver.json",
        liver_mask_out=out / "liver.nii.gz",
        suv_provenance_path=out / "suv.json",
    )
    segment_step(
        patient_id="NET001",
        timepoint="basal",
        pet_suv_path=out / "pet_suv.nii.gz",
        organs_path=out / "organs.nii.gz",
        liver_json_path=out / "liver.json",
        liver_mask_path=out / "liver.nii.gz",
        settings=CONFIG["segmentation"],
        labels_out=out / "lesions.nii.gz",
        info_out=out / "segmentation.json",
        suv_provenance_path=out / "suv.json",
    )
    features_step(
        patient_id="NET001",
        timepoint="basal",
        pet_suv_path=out / "pet_suv.nii.gz",
        labels_path=out / "lesions.nii.gz",
        organs_path=out / "organs.nii.gz",
        liver_json_path=out / "liver.json",
        liver_mask_path=out / "liver.nii.gz",
        segmentation_info_path=out / "segmentation.json",
        lesions_out=out / "lesions.tsv",
        scan_out=out / "scan.tsv",
        suv_provenance_path=out / "suv.json",
    )
    return out


def _array(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def test_sul_segments_the_same_lesions_and_scales_every_suv(cohort):
    bw, lbm = _chain(cohort, "bw"), _chain(cohort, "lbm")
    ratio = json.loads((lbm / "suv.json").read_text())["suv_per_suvbw"]
    assert json.loads((bw / "suv.json").read_text())["suv_per_suvbw"] == 1.0
    # The ratio is lean body mass over weight (Janmahasatian), checked on the images.
    provenance = json.loads((lbm / "suv.json").read_text())["pet"]
    assert 0.45 < ratio < 0.95
    suv_bw, suv_lbm = _array(bw / "pet_suv.nii.gz"), _array(lbm / "pet_suv.nii.gz")
    body = suv_bw > 0.5
    np.testing.assert_allclose(suv_lbm[body] / suv_bw[body], ratio, rtol=1e-5)
    assert provenance["suv_type"] == "lbm"
    # Same lesions, voxel for voxel; same liver reference sphere.
    np.testing.assert_array_equal(_array(bw / "lesions.nii.gz"), _array(lbm / "lesions.nii.gz"))
    np.testing.assert_array_equal(_array(bw / "liver.nii.gz"), _array(lbm / "liver.nii.gz"))
    scan_bw = pd.read_csv(bw / "scan.tsv", sep="\t").iloc[0]
    scan_lbm = pd.read_csv(lbm / "scan.tsv", sep="\t").iloc[0]
    assert (scan_bw["suv_type"], scan_lbm["suv_type"]) == ("bw", "lbm")
    assert scan_lbm["lesion_count"] == scan_bw["lesion_count"] > 0
    for column in ("suvmax", "suvmean", "suvpeak", "liver_suvmean", "tre"):
        assert scan_lbm[column] == pytest.approx(scan_bw[column] * ratio, rel=1e-4), column
    # Ratios of two SUVs of one scan do not depend on the SUV type.
    assert scan_lbm["tlr"] == pytest.approx(scan_bw["tlr"], rel=1e-4)
    lesions = pd.read_csv(lbm / "lesions.tsv", sep="\t")
    assert set(lesions["suv_type"]) == {"lbm"}
