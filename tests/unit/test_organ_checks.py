"""Organ label maps checked against their scan: wrong maps stop the scan with a message.

The cases are those a user met with real maps: another time point's map (the body moved
12-17 mm between scans), a map shifted by 30 mm, a map mirrored left-right, a map in another
frame of reference, another patient's map and a label file that is not an image.  Each is made
from the synthetic cohort's own, correct maps, whose truth says where the body lies.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from netpet import labels
from netpet.config import validate_config
from netpet.errors import InputError
from netpet.imaging.grid import resample_labels_to
from netpet.imaging.organ_checks import (
    best_shift_mm,
    check_liver_reference,
    check_organ_map,
    correlation_ratio,
)
from netpet.steps.ingest import ingest_sample
from netpet.steps.scan import features_step, organs_step, segment_step

_CONFIG = validate_config(
    yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "config.yaml").read_text())
)
CHECKS = _CONFIG["organs"]["checks"]
LIVER_REFERENCE = _CONFIG["organs"]["liver_reference"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Three tiny patients, every scan converted (PET + CT) and every map at hand."""
    from netpet.synthetic import generate_cohort

    root = tmp_path_factory.mktemp("cohort")
    generate_cohort(root / "cohort", settings={"preset": "tiny", "n_patients": 3}, workers=1)
    samples = root / "cohort" / "samples.tsv"
    truth = pd.read_csv(root / "cohort" / "truth" / "scans.tsv", sep="\t")
    out = root / "images"
    for row in truth.itertuples():
        scan = out / row.patient_id / row.timepoint
        ingest_sample(
            samples,
            row.patient_id,
            row.timepoint,
            suv_type="bw",
            pet_suv_path=scan / "pet_suv.nii.gz",
            anatomy_dir=scan / "anatomy",
            provenance_path=scan / "suv.json",
        )
    return {"root": root, "truth": truth, "images": out, "labels": root / "cohort" / "labels"}


def _scan(cohort, patient, timepoint):
    scan = cohort["images"] / patient / timepoint
    return {
        "suv": sitk.ReadImage(str(scan / "pet_suv.nii.gz")),
        "ct": sitk.ReadImage(str(scan / "anatomy" / "ct_on_pet.nii.gz")),
        "map": cohort["labels"] / patient / f"{timepoint}_organs.nii.gz",
    }


def _check(cohort, patient, timepoint, labels_image, *, with_ct=True):
    scan = _scan(cohort, patient, timepoint)
    return check_organ_map(
        resample_labels_to(labels_image, scan["suv"]),
        scan["suv"],
        settings=CHECKS,
        source_labels=labels_image,
        anatomy_on_pet=scan["ct"] if with_ct else None,
        anatomy_modality="ct" if with_ct else None,
        what=f"{patient}/{timepoint} map",
    )


def _moved(image, shift_xyz_mm):
    moved = sitk.Image(image)
    moved.SetOrigin(tuple(np.asarray(image.GetOrigin()) + np.asarray(shift_xyz_mm)))
    return moved


def _mirrored(image):
    """The label array mirrored along x on the same grid: a left-right flipped map."""
    array = sitk.GetArrayFromImage(image)[:, :, ::-1].copy()
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(image)
    return out


def _read(path):
    return sitk.ReadImage(str(path))


# ---------------------------------------------------------------------------------------------
# The measure itself, on hand-made inputs


def test_correlation_ratio_by_hand():
    values = np.array([1.0, 1.0, 3.0, 3.0])
    assert correlation_ratio(values, np.array([0, 0, 1, 1])) == pytest.approx(1.0)
    assert correlation_ratio(values, np.array([0, 1, 0, 1])) == pytest.approx(0.0)
    # Classes {1, 1, 3} and {3}: grand mean 2, between-class SS 3 x (5/3 - 2)^2 + (3 - 2)^2.
    assert correlation_ratio(values, np.array([0, 0, 0, 1])) == pytest.approx((1 / 3 + 1) / 4)


def test_best_shift_finds_a_known_shift():
    image_zyx = np.zeros((30, 30, 30), dtype=np.float32)
    image_zyx[10:18, 12:20, 8:14] = 50.0
    image_zyx[5:9, 5:9, 20:26] = 10.0
    image = sitk.GetImageFromArray(image_zyx)
    image.SetSpacing((2.0, 3.0, 4.0))
    organs = np.zeros(image_zyx.shape, dtype=np.int64)
    organs[12:20, 11:19, 11:17] = 1  # the hot box moved by (z, y, x) = (+2, -1, +3) voxels
    organs[7:11, 4:8, 23:29] = 2
    shift, zero, best = best_shift_mm(image, organs, search_mm=12.0)
    # Moving the labels back: x -3 voxels x 2 mm, y +1 x 3 mm, z -2 x 4 mm.
    np.testing.assert_allclose(shift, [-6.0, 3.0, -8.0])
    assert best == pytest.approx(1.0) and zero < 0.5


def test_a_shift_that_fits_only_a_little_better_is_noise():
    # A box whose edge planes are half-filled and noisy: shifted by one voxel along z the
    # labels fit about 5 % better (a correct map on a coarse CT: the tiny preset's NET046 had
    # 1 %, and its +24 mm "best shift" stopped the run).
    image_zyx = np.zeros((60, 24, 24))
    image_zyx[31:50, 6:18, 6:18] = 1.0
    image_zyx[30, 6:18, 6:18] = 0.4
    image_zyx[50, 6:18, 6:18] = 0.6
    image_zyx += np.random.default_rng(0).normal(0.0, 0.3, image_zyx.shape)
    image = sitk.GetImageFromArray(image_zyx)
    image.SetSpacing((2.0, 2.0, 2.0))
    organs = np.zeros(image_zyx.shape, dtype=np.int64)
    organs[30:50, 6:18, 6:18] = 1
    shift, zero, best = best_shift_mm(image, organs, search_mm=10.0)
    np.testing.assert_allclose(shift, [0.0, 0.0, 2.0])
    assert 1.02 < best / zero < 1.08
    shift, zero, best = best_shift_mm(image, organs, search_mm=10.0, min_gain=0.1)
    np.testing.assert_allclose(shift, [0.0, 0.0, 0.0])
    assert best == zero


# ---------------------------------------------------------------------------------------------
# The six cases a user met, on the synthetic cohort


@pytest.mark.parametrize("with_ct", [True, False], ids=["pet_ct", "pet_only"])
def test_own_maps_pass(cohort, with_ct):
    for row in cohort["truth"].itertuples():
        scan = _scan(cohort, row.patient_id, row.timepoint)
        record = _check(cohort, row.patient_id, row.timepoint, _read(scan["map"]), with_ct=with_ct)
        assert record["best_shift_mm"] == 0.0
        assert record["inside_body_fraction"] > 0.99


@pytest.mark.parametrize("with_ct", [True, False], ids=["pet_ct", "pet_only"])
def test_map_of_another_time_point_is_refused(cohort, with_ct):
    truth = cohort["truth"]
    moved = truth[
        np.hypot(np.hypot(truth["shift_x_mm"], truth["shift_y_mm"]), truth["shift_z_mm"]) >= 12
    ]
    assert len(moved) >= 2  # the cohort holds follow-ups 17 mm away from their baseline
    for row in moved.itertuples():
        basal_map = _read(cohort["labels"] / row.patient_id / "basal_organs.nii.gz")
        with pytest.raises(InputError, match=r"fit the (CT|PET) best when the map is moved"):
            _check(cohort, row.patient_id, row.timepoint, basal_map, with_ct=with_ct)


@pytest.mark.parametrize("with_ct", [True, False], ids=["pet_ct", "pet_only"])
def test_map_shifted_30_mm_is_refused(cohort, with_ct):
    scan = _scan(cohort, "NET001", "basal")
    for shift in ([0, 0, 30], [0, 30, 0], [30, 0, 0]):
        with pytest.raises(InputError, match=r"moved by .*more than the"):
            _check(cohort, "NET001", "basal", _moved(_read(scan["map"]), shift), with_ct=with_ct)


@pytest.mark.parametrize("with_ct", [True, False], ids=["pet_ct", "pet_only"])
def test_mirrored_map_is_refused(cohort, with_ct):
    scan = _scan(cohort, "NET001", "basal")
    with pytest.raises(InputError, match="mirrored left-right"):
        _check(cohort, "NET001", "basal", _mirrored(_read(scan["map"])), with_ct=with_ct)
    # Without the left-right rule (situs inversus) the organ values still give it away.
    settings = {**CHECKS, "left_right": False}
    suv = scan["suv"]
    mirrored = _mirrored(_read(scan["map"]))
    with pytest.raises(InputError, match=r"moved by|SUV|HU"):
        check_organ_map(
            resample_labels_to(mirrored, suv),
            suv,
            settings=settings,
            source_labels=mirrored,
            anatomy_on_pet=scan["ct"] if with_ct else None,
            anatomy_modality="ct" if with_ct else None,
        )


def test_map_in_another_frame_of_reference_is_refused(cohort):
    scan = _scan(cohort, "NET001", "basal")
    labels_image = _read(scan["map"])
    # RAS coordinates written as LPS: x and y change sign, the map lands beside the body.
    ras = sitk.Image(labels_image)
    origin = np.asarray(labels_image.GetOrigin())
    ras.SetOrigin((-origin[0] + 400.0, -origin[1] + 400.0, origin[2]))
    with pytest.raises(InputError, match=r"% of the map's liver .* lies in the PET's field"):
        _check(cohort, "NET001", "basal", ras)


def test_map_of_another_patient_is_refused(cohort):
    other = _read(cohort["labels"] / "NET002" / "basal_organs.nii.gz")
    with pytest.raises(InputError, match="NET001/basal map"):
        _check(cohort, "NET001", "basal", other)


def test_label_file_that_is_not_an_image(cohort, tmp_path):
    scan = cohort["images"] / "NET001" / "basal"
    bad = tmp_path / "organs.nii.gz"
    bad.write_text("patient_id\tliver\nNET001\t5\n")
    with pytest.raises(InputError, match=r"organs.nii.gz is not a readable label image"):
        _organs_step(scan, tmp_path, bad)
    probabilities = tmp_path / "probabilities.nii.gz"
    image = sitk.GetImageFromArray(np.full((4, 4, 4), 0.5, dtype=np.float32))
    sitk.WriteImage(image, str(probabilities))
    with pytest.raises(InputError, match="non-integer values"):
        _organs_step(scan, tmp_path, probabilities)
    assert not (tmp_path / "out").exists()  # nothing half-written


def _organs_step(scan, tmp_path, organ_map, *, check=True, checks=CHECKS):
    out = tmp_path / "out"
    organs_step(
        patient_id="NET001",
        timepoint="basal",
        pet_suv_path=scan / "pet_suv.nii.gz",
        anatomy_dir=scan / "anatomy",
        organ_labels_path=organ_map,
        organ_labels_origin="samples sheet",
        check_organ_labels=check,
        liver_reference_settings=LIVER_REFERENCE,
        checks=checks,
        organs_out=out / "organs.nii.gz",
        liver_json_out=out / "liver.json",
        liver_mask_out=out / "liver.nii.gz",
    )
    return out


def test_organs_step_records_the_checks_and_allows_an_override(cohort, tmp_path):
    scan = cohort["images"] / "NET001" / "basal"
    own = cohort["labels"] / "NET001" / "basal_organs.nii.gz"
    record = json.loads((_organs_step(scan, tmp_path, own) / "liver.json").read_text())
    assert record["organ_checks"]["alignment_on"] == "CT"
    assert record["organ_labels_checked"] is True
    truth = cohort["truth"].set_index(["patient_id", "timepoint"]).loc[("NET001", "basal")]
    assert record["suvmean"] == pytest.approx(truth["liver_suvmean"], rel=0.15)
    # A shifted map goes through only with check_organ_labels: no for that scan.
    shifted = tmp_path / "shifted.nii.gz"
    sitk.WriteImage(_moved(_read(own), (0, 0, 30)), str(shifted))
    with pytest.raises(InputError, match="check_organ_labels to no"):
        _organs_step(scan, tmp_path / "a", shifted)
    record = json.loads(
        (_organs_step(scan, tmp_path / "b", shifted, check=False) / "liver.json").read_text()
    )
    assert record["organ_labels_checked"] is False and "organ_checks" not in record


def test_liver_reference_out_of_the_tracer_range_is_refused(cohort, tmp_path):
    scan = cohort["images"] / "NET001" / "basal"
    own = cohort["labels"] / "NET001" / "basal_organs.nii.gz"
    checks = {**CHECKS, "liver_suvmean_range": [20.0, 40.0]}
    with pytest.raises(
        InputError, match=r"median SUV 7.\d\d in the liver label, outside the 20-40"
    ):
        _organs_step(scan, tmp_path, own, checks=checks)
    with pytest.raises(InputError, match=r"liver reference SUVmean is 0.39, outside the 2-20"):
        check_liver_reference(0.39, settings=CHECKS, what="NET001/basal")


def test_scan_without_organs_gets_features_and_says_why_tlr_is_missing(cohort, tmp_path):
    """Imported masks and no organ map: every feature but TLR/TSR, with a note."""
    scan = cohort["images"] / "NET001" / "basal"
    out = _organs_step(scan, tmp_path, None)
    record = json.loads((out / "liver.json").read_text())
    assert record["available"] is False and "TLR" in record["note"]
    mask = cohort["root"] / "cohort" / "truth" / "lesion_labels" / "NET001" / "basal.nii.gz"
    segment_step(
        patient_id="NET001",
        timepoint="basal",
        tumour_mask_path=mask,
        pet_suv_path=scan / "pet_suv.nii.gz",
        organs_path=out / "organs.nii.gz",
        liver_json_path=out / "liver.json",
        liver_mask_path=out / "liver.nii.gz",
        settings={"method": "import"},
        labels_out=tmp_path / "lesions.nii.gz",
        info_out=tmp_path / "segmentation.json",
    )
    features_step(
        patient_id="NET001",
        timepoint="basal",
        pet_suv_path=scan / "pet_suv.nii.gz",
        labels_path=tmp_path / "lesions.nii.gz",
        organs_path=out / "organs.nii.gz",
        liver_json_path=out / "liver.json",
        liver_mask_path=out / "liver.nii.gz",
        segmentation_info_path=tmp_path / "segmentation.json",
        lesions_out=tmp_path / "lesions.tsv",
        scan_out=tmp_path / "scan.tsv",
    )
    row = pd.read_csv(tmp_path / "scan.tsv", sep="\t").iloc[0]
    truth = cohort["truth"].set_index(["patient_id", "timepoint"]).loc[("NET001", "basal")]
    assert row["lesion_count"] == truth["lesion_count"]
    assert row["wtv_ml"] == pytest.approx(truth["wtv_ml"], rel=1e-6)
    assert np.isnan(row["tlr"]) and np.isnan(row["tsr"])
    assert "no organ label map" in row["notes"]
    assert labels.LIVER not in np.unique(sitk.GetArrayFromImage(_read(out / "organs.nii.gz")))
