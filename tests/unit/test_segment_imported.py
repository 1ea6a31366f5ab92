"""Masks imported from other tools become lesion label maps numbered by SUVmax."""

import numpy as np
import SimpleITK as sitk

from netpet.imaging.segment.imported import read_tumour_mask, relabel_by_suvmax


def _image(array, spacing=(4.0, 4.0, 4.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def _suv_and_blobs():
    suv = np.ones((10, 12, 14), np.float32)
    mask = np.zeros(suv.shape, np.uint8)
    mask[1:3, 1:3, 1:3] = 1  # cooler blob
    suv[1:3, 1:3, 1:3] = 5.0
    mask[6:9, 6:9, 6:9] = 1  # hotter blob
    suv[6:9, 6:9, 6:9] = 20.0
    return _image(suv), mask


def test_binary_mask_is_split_and_numbered_by_descending_suvmax():
    suv, mask = _suv_and_blobs()
    labels = relabel_by_suvmax(suv, _image(mask))
    out = sitk.GetArrayFromImage(labels)
    assert set(np.unique(out)) == {0, 1, 2}
    assert (out[7, 7, 7], out[1, 1, 1]) == (1, 2)  # hottest first
    assert (out == 1).sum() == 27 and (out == 2).sum() == 8


def test_multi_label_map_keeps_regions_and_renumbers():
    suv, mask = _suv_and_blobs()
    mask = mask.astype(np.uint16)
    mask[1:3, 1:3, 1:3] = 7
    mask[6:9, 6:9, 6:9] = 3
    mask[6, 6, 7] = 3
    out = sitk.GetArrayFromImage(relabel_by_suvmax(suv, _image(mask)))
    assert (out[7, 7, 7], out[2, 2, 2]) == (1, 2)


def test_nifti_tumour_mask_is_read_on_the_pet_grid(tmp_path):
    suv, mask = _suv_and_blobs()
    path = tmp_path / "mask.nii.gz"
    image = _image(mask)
    sitk.WriteImage(image, str(path))
    read = read_tumour_mask(str(path), suv, scan="P1/basal")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read) > 0, mask > 0)
