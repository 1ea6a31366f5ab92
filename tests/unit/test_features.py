"""Tests of netpet.imaging.features against hand-computed values on tiny images."""

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from netpet import labels as organ_numbers
from netpet.imaging.features import LESION_COLUMNS, lesion_features, scan_features
from netpet.imaging.organs import LiverReference


def image(array, dtype=np.float32, origin=(10.0, -20.0, 30.0)):
    img = sitk.GetImageFromArray(np.asarray(array, dtype=dtype))
    img.SetSpacing((4.0, 4.0, 4.0))
    img.SetOrigin(origin)
    return img


def phantom():
    suv = np.zeros((12, 12, 12))
    lesions = np.zeros(suv.shape, dtype=np.uint16)
    # Lesion 1: 3x3x3 block of SUV 1 with a 20 in the middle.
    suv[2:5, 2:5, 2:5] = 1.0
    suv[3, 3, 3] = 20.0
    lesions[2:5, 2:5, 2:5] = 1
    # Lesion 2: two voxels, SUV 4 and 6.
    suv[8, 8, 8:10] = [4.0, 6.0]
    lesions[8, 8, 8:10] = 2
    organs = np.zeros(suv.shape, dtype=np.uint16)
    organs[2:5, 2:5, 2:4] = organ_numbers.LIVER  # 18 of 27 voxels of lesion 1
    return suv, lesions, organs


def test_lesion_features_hand_computed():
    suv, lesions, organs = phantom()
    table = lesion_features(
        image(suv), image(lesions, np.uint16), organ_labels=image(organs, np.uint16)
    )
    assert list(table.columns) == list(LESION_COLUMNS)
    one, two = table.iloc[0], table.iloc[1]
    assert one.lesion_id == 1 and one.n_voxels == 27
    assert one.volume_ml == pytest.approx(27 * 0.064)
    assert one.suvmax == 20.0
    assert one.suvmean == pytest.approx(46 / 27)
    values = np.ones(27)
    values[13] = 20.0
    assert one.suvsd == pytest.approx(values.std(ddof=1))
    assert one.suvtotal == pytest.approx(46.0)
    assert one.tla == pytest.approx(27 * 0.064 * 46 / 27)
    assert one.suvpeak == pytest.approx(2.0)
    # Geometric centre: voxel (3, 3, 3) -> origin + 3 x 4 mm.
    assert (one.centre_x_mm, one.centre_y_mm, one.centre_z_mm) == (22.0, -8.0, 42.0)
    assert one.organ_label == organ_numbers.LIVER and one.organ == "liver"
    assert two.suvmean == 5.0 and two.suvmax == 6.0 and two.suvtotal == 10.0
    assert two.centre_x_mm == pytest.approx(10.0 + 8.5 * 4)
    # SUVpeak of lesion 2: best sphere centred on the 6 holds 6 + 4 among 19 voxels.
    assert two.suvpeak == pytest.approx(10.0 / 19)
    assert two.organ == "other"


def test_scan_features_tre_equals_wtv_times_mean_of_all_voxels():
    suv, lesions, _ = phantom()
    table = lesion_features(image(suv), image(lesions, np.uint16))
    liver = LiverReference((0.0, 0.0, 0.0), 15.0, np.zeros(1, bool), 8.0, 1.0, 220)
    scan = scan_features(table, liver, spleen_suvmean=25.0)
    tumour = suv[lesions > 0]
    wtv = tumour.size * 0.064
    assert scan["lesion_count"] == 2
    assert scan["wtv_ml"] == pytest.approx(wtv)
    assert scan["tre"] == pytest.approx(wtv * tumour.mean())
    assert scan["tre"] == pytest.approx((table.volume_ml * table.suvmean).sum())
    assert scan["suvmean"] == pytest.approx(tumour.mean())
    assert scan["suvmax"] == 20.0 and scan["tlr"] == pytest.approx(20.0 / 8.0)
    assert scan["tsr"] == pytest.approx(20.0 / 25.0)
    assert scan["suvpeak"] == pytest.approx(2.0)


def test_scan_without_lesions():
    suv, _, _ = phantom()
    table = lesion_features(image(suv), image(np.zeros(suv.shape), np.uint16))
    assert table.empty and list(table.columns) == list(LESION_COLUMNS)
    scan = scan_features(table, None)
    assert scan["lesion_count"] == 0 and scan["wtv_ml"] == 0.0 and scan["tre"] == 0.0
    assert np.isnan(scan["suvmax"]) and np.isnan(scan["tlr"]) and np.isnan(scan["liver_suvmean"])
    assert isinstance(pd.DataFrame([scan]), pd.DataFrame)
