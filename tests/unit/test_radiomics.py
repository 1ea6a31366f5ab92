"""Tests of netpet.imaging.radiomics: parameter file validation and hand-computed features."""

import logging
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

from netpet.errors import InputError
from netpet.imaging.radiomics import load_radiomics_params, radiomics_table

PARAMS = Path(__file__).resolve().parents[2] / "config" / "radiomics_pet.yaml"


def test_config_file_loads_with_pet_settings():
    params = load_radiomics_params(PARAMS)
    assert params["setting"]["binWidth"] == 0.25
    assert params["setting"]["resampledPixelSpacing"] == [4.0, 4.0, 4.0]
    assert "binCount" not in params["setting"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("binWidth"), "setting.binWidth is required"),
        (lambda s: s.update(binCount=64), "binCount"),
        (lambda s: s.update(resampledPixelSpacing=[4.0, 4.0]), "resampledPixelSpacing"),
        (lambda s: s.update(binWidht=0.5), "binWidht"),  # pyradiomics' schema
    ],
)
def test_bad_parameter_files(tmp_path, change, message):
    params = yaml.safe_load(PARAMS.read_text())
    change(params["setting"])
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(InputError, match=message):
        load_radiomics_params(path)


def test_first_order_features_hand_computed(caplog):
    """On the 4 mm grid resampling is the identity, so features are the voxels' own.

    Lesion 1 holds SUV 1.0, 1.1, 2.0, 2.3, 3.0, 3.05, 4.0, 4.2 (2x2x2 voxels): mean
    20.65 / 8 = 2.58125; energy = sum of squares = 63.4425; with 0.25 SUV bins (edges at
    multiples of 0.25) the bins are 4,4,8,9,12,12,16,16 -> p = 1/4,1/8,1/8,1/4,1/4,
    entropy = 3 x 0.5 + 2 x 0.375 = 2.25 bits; volume 8 x 64 = 512 mm^3.
    """
    suv = np.ones((8, 8, 8), dtype=np.float32)
    labels = np.zeros(suv.shape, dtype=np.uint16)
    values = np.array([1.0, 1.1, 2.0, 2.3, 3.0, 3.05, 4.0, 4.2], dtype=np.float32)
    suv[2:4, 2:4, 2:4] = values.reshape(2, 2, 2)
    labels[2:4, 2:4, 2:4] = 1
    suv[5:7, 5:7, 5:7] = 5.0
    labels[5:7, 5:7, 5:7] = 2
    labels[0, 0, 0] = 3  # one voxel: below min_volume_ml, no row
    image = sitk.GetImageFromArray(suv)
    image.SetSpacing((4.0, 4.0, 4.0))
    image.SetOrigin((10.0, -20.0, 30.0))
    label_image = sitk.GetImageFromArray(labels)
    label_image.CopyInformation(image)
    with caplog.at_level(logging.INFO, logger="radiomics"):
        table = radiomics_table(image, label_image, PARAMS, min_volume_ml=0.5)
    assert not [r for r in caplog.records if r.levelno < logging.WARNING]
    assert table["mask"].tolist() == ["whole_tumour", "lesion", "lesion"]
    assert table["lesion_id"].tolist() == [0, 1, 2]
    one = table.iloc[1]
    assert one["error"] == ""
    assert one["original_firstorder_Mean"] == pytest.approx(2.58125, rel=1e-6)
    assert one["original_firstorder_Energy"] == pytest.approx(63.4425, rel=1e-6)
    assert one["original_firstorder_Entropy"] == pytest.approx(2.25, rel=1e-9)
    assert one["original_firstorder_Maximum"] == pytest.approx(4.2, rel=1e-6)
    assert one["original_shape_VoxelVolume"] == pytest.approx(512.0)
    whole = table.iloc[0]
    assert whole["volume_ml"] == pytest.approx(17 * 0.064)
    assert whole["original_firstorder_Mean"] == pytest.approx((20.65 + 40 + 1) / 17, rel=1e-6)
    assert table.iloc[2]["original_firstorder_Variance"] == pytest.approx(0.0, abs=1e-9)
    assert any(c.startswith("original_glcm_") for c in table.columns)


def test_no_tumour_gives_empty_table():
    image = sitk.GetImageFromArray(np.ones((4, 4, 4), dtype=np.float32))
    labels = sitk.GetImageFromArray(np.zeros((4, 4, 4), dtype=np.uint16))
    assert radiomics_table(image, labels, PARAMS).empty
