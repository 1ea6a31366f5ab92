"""Modified Krenning score (netpet.imaging.krenning) and lesion CT density
(netpet.imaging.features.lesion_ct_hu_mean) against hand-made values."""

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from netpet.errors import InputError
from netpet.imaging.features import lesion_ct_hu_mean
from netpet.imaging.krenning import (
    KRENNING_COLUMN,
    KrenningSettings,
    krenning_scores,
    liver_band,
)


def lesions(suvmax, suvpeak=None):
    suvmax = list(suvmax)
    peak = suvpeak if suvpeak is not None else [np.nan] * len(suvmax)
    return pd.DataFrame({"lesion_id": range(1, len(suvmax) + 1), "suvmax": suvmax, "suvpeak": peak})


def scores(values, *, liver=8.0, sd=1.0, spleen=20.0, settings=None):
    out, note = krenning_scores(
        lesions(values),
        liver_suvmean=liver,
        liver_suvsd=sd,
        spleen_suvmean=spleen,
        settings=settings or KrenningSettings(),
    )
    return [None if pd.isna(v) else int(v) for v in out], note


def test_sd_band_edges_belong_to_liver_and_spleen_is_strict():
    # liver 8 +- 2 x 1 -> band [6, 10]; spleen 20
    values = [5.999, 6.0, 8.0, 10.0, 10.001, 20.0, 20.001, np.nan]
    got, note = scores(values)
    assert got == [1, 2, 2, 2, 3, 3, 4, None]
    assert note == "1 lesion(s) without suvmax: no Krenning score"


def test_percent_band_with_floating_point_edges():
    settings = KrenningSettings(equal_band="percent", equal_band_pct=20.0)
    # 6.1 x (1 -/+ 0.2) = 4.88 and 7.32, but 6.1 + 1.22 = 7.319999999999999 in floating point:
    # the hand-computed edge must still be in the band
    low, high = liver_band(6.1, np.nan, settings)
    assert high < 7.32 and (low, high) == pytest.approx((4.88, 7.32))
    got, note = scores([4.87, 4.88, 7.32, 7.33, 30.0], liver=6.1, sd=np.nan, settings=settings)
    assert got == [1, 2, 2, 3, 4]
    assert note == ""


def test_band_width_is_configurable():
    got, _ = scores([6.5, 9.5], settings=KrenningSettings(equal_band_sd_count=1.0))
    assert got == [1, 3]  # band [7, 9]


def test_statistic_column_is_configurable():
    table = lesions([30.0, 30.0], suvpeak=[5.0, 9.0])
    out, _ = krenning_scores(
        table,
        liver_suvmean=8.0,
        liver_suvsd=1.0,
        spleen_suvmean=20.0,
        settings=KrenningSettings(statistic="suvpeak"),
    )
    assert out.tolist() == [1, 2]
    assert out.name == KRENNING_COLUMN and str(out.dtype) == "Int64"
    assert out.index.equals(table.index)


@pytest.mark.parametrize("liver", [None, np.nan, 0.0])
def test_no_liver_reference_gives_empty_scores_and_a_note(liver):
    got, note = scores([5.0, 50.0], liver=liver)
    assert got == [None, None]
    assert note == "no liver reference: Krenning score not computed"


def test_no_spleen_scores_up_to_liver_and_leaves_the_rest_empty():
    got, note = scores([5.0, 8.0, 12.0, 40.0], spleen=None)
    assert got == [1, 2, None, None]
    assert note == "no spleen: Krenning score of the 2 lesion(s) above liver (3 or 4) not computed"
    got, note = scores([5.0, 8.0], spleen=np.nan)
    assert got == [1, 2] and note == ""


def test_spleen_below_the_liver_band_leaves_no_score_3():
    got, note = scores([9.0, 10.5], spleen=9.5)  # band [6, 10]
    assert got == [2, 4]
    assert "no lesion can score 3" in note


def test_no_lesions_and_missing_column():
    out, note = krenning_scores(
        lesions([]), liver_suvmean=8.0, liver_suvsd=1.0, spleen_suvmean=20.0
    )
    assert out.empty and note == ""
    with pytest.raises(InputError, match="suvmean"):
        krenning_scores(
            lesions([10.0]),
            liver_suvmean=8.0,
            liver_suvsd=1.0,
            spleen_suvmean=20.0,
            settings=KrenningSettings(statistic="suvmean"),
        )


def test_settings_from_config():
    assert KrenningSettings.from_config(None) == KrenningSettings()
    got = KrenningSettings.from_config({"equal_band": "percent", "equal_band_pct": 15})
    assert got.equal_band == "percent" and got.equal_band_pct == 15
    with pytest.raises(InputError, match="unknown key"):
        KrenningSettings.from_config({"band": "sd"})
    with pytest.raises(InputError, match="statistic"):
        KrenningSettings.from_config({"statistic": "suvtotal"})
    with pytest.raises(InputError, match="equal_band_sd_count"):
        KrenningSettings.from_config({"equal_band_sd_count": -1})
    with pytest.raises(InputError, match="equal_band_pct"):
        KrenningSettings.from_config({"equal_band_pct": 100})


# --- lesion CT density ---------------------------------------------------------------------------


def image(array, dtype):
    img = sitk.GetImageFromArray(np.asarray(array, dtype=dtype))
    img.SetSpacing((4.0, 4.0, 4.0))
    return img


def ct_phantom():
    labels = np.zeros((2, 3, 4), dtype=np.uint16)  # (z, y, x)
    hu = np.full(labels.shape, -1000.0)
    labels[0, 0, :3] = 1
    hu[0, 0, :3] = [10.0, 20.0, 60.0]
    labels[1, 2, 3] = 3
    hu[1, 2, 3] = -50.0
    return image(labels, np.uint16), image(hu, np.float32)


def test_ct_hu_mean_per_lesion():
    labels, ct = ct_phantom()
    np.testing.assert_array_equal(lesion_ct_hu_mean(labels, ct), [30.0, -50.0])
    # explicit ids: an absent label gives NaN, order follows the ids
    got = lesion_ct_hu_mean(labels, ct, lesion_ids=[3, 2, 1])
    np.testing.assert_array_equal(got, [-50.0, np.nan, 30.0])


def test_ct_hu_mean_without_ct_or_lesions():
    labels, ct = ct_phantom()
    got = lesion_ct_hu_mean(labels, None)
    assert got.shape == (2,) and np.isnan(got).all()
    empty = image(np.zeros((2, 3, 4)), np.uint16)
    assert lesion_ct_hu_mean(empty, ct).shape == (0,)


def test_ct_hu_mean_needs_the_pet_grid():
    labels, _ = ct_phantom()
    other = image(np.zeros((2, 3, 5)), np.float32)
    with pytest.raises(InputError, match="CT on the PET grid"):
        lesion_ct_hu_mean(labels, other)
