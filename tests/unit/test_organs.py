"""Tests of netpet.imaging.organs: organ masks and uptake, liver reference sphere."""

import itertools

import numpy as np
import pytest
import SimpleITK as sitk

from netpet import labels as organ_numbers
from netpet.errors import InputError
from netpet.imaging.organs import organ_uptake, physiological_mask, place_liver_reference


def image(array, spacing=(4.0, 4.0, 4.0), origin=(0.0, 0.0, 0.0)):
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    return img


def test_physiological_mask_and_organ_uptake():
    labels = np.zeros((2, 2, 3), dtype=np.uint16)
    labels[0, 0, :] = organ_numbers.SPLEEN
    labels[1, 1, 2] = organ_numbers.KIDNEY_LEFT
    mask = physiological_mask(labels, organ_numbers.PHYSIOLOGICAL_UPTAKE)
    assert mask.sum() == 4
    suv = np.zeros((2, 2, 3), dtype=np.float32)
    suv[0, 0, :] = [20.0, 25.0, 30.0]
    stats = organ_uptake(image(suv), image(labels), organ_numbers.SPLEEN)
    assert stats["suvmean"] == pytest.approx(25.0)
    assert stats["suvsd"] == pytest.approx(5.0)
    assert stats["n_voxels"] == 3
    missing = organ_uptake(image(suv), image(labels), organ_numbers.LIVER)
    assert missing["n_voxels"] == 0 and np.isnan(missing["suvmean"])


def liver_phantom(seed=0, lesion=True):
    """Ellipsoid liver (label 5) with SUV 8, 10 % noise, and a hot lesion on the right."""
    shape = (30, 40, 50)  # (z, y, x), 4 mm voxels
    z, y, x = np.indices(shape)
    liver = ((z - 15) / 12) ** 2 + ((y - 20) / 14) ** 2 + ((x - 25) / 22) ** 2 <= 1
    rng = np.random.default_rng(seed)
    suv = np.where(liver, 8.0 * (1 + 0.1 * rng.standard_normal(shape)), 1.0)
    lesion_mask = ((z - 15) ** 2 + (y - 20) ** 2 + (x - 14) ** 2) <= 9
    if lesion:
        suv[lesion_mask] = 40.0
    labels = np.where(liver, organ_numbers.LIVER, 0).astype(np.uint16)
    origin = (-100.0, -80.0, -60.0)
    return (
        image(suv.astype(np.float32), origin=origin),
        image(labels, origin=origin),
        liver,
        lesion_mask,
    )


def test_liver_reference_inside_liver_away_from_edge_and_lesion():
    suv, labels, liver, lesion_mask = liver_phantom()
    ref = place_liver_reference(suv, labels, radius_mm=15.0, margin_mm=8.0)
    assert ref.mask.shape == liver.shape
    assert not (ref.mask & ~liver).any()
    # n_voxels: lattice points of 4 mm spacing within 15 mm, counted by brute force.
    brute = sum(
        1
        for i, j, k in itertools.product(range(-4, 5), repeat=3)
        if 16 * (i * i + j * j + k * k) <= 225
    )
    assert ref.n_voxels == brute == ref.mask.sum()
    # Independent distance check: every sphere voxel >= margin from every non-liver voxel.
    centre = np.array(suv.TransformPhysicalPointToIndex(ref.centre_mm)[::-1])
    outside = np.argwhere(~liver)
    nearest_edge_mm = np.sqrt((((outside - centre) * 4.0) ** 2).sum(axis=1)).min()
    assert nearest_edge_mm >= 15.0 + 8.0
    lesion_voxels = np.argwhere(lesion_mask)
    nearest_lesion_mm = np.sqrt((((lesion_voxels - centre) * 4.0) ** 2).sum(axis=1)).min()
    assert nearest_lesion_mm >= 15.0 + 10.0
    values = sitk.GetArrayFromImage(suv)[ref.mask]
    assert ref.suvmean == pytest.approx(values.mean())
    assert ref.suvsd == pytest.approx(values.std(ddof=1))
    assert 7.0 < ref.suvmean < 9.0
    # Right lobe preferred: x (LPS, patient's left positive) below the liver's median x.
    liver_x = -60.0 + 4.0 * np.nonzero(liver)[2]
    assert ref.centre_mm[0] <= np.median(liver_x)


def test_liver_reference_deterministic_and_right_lobe_without_lesion():
    suv, labels, liver, _ = liver_phantom(seed=3, lesion=False)
    a = place_liver_reference(suv, labels)
    b = place_liver_reference(suv, labels)
    assert a.centre_mm == b.centre_mm and a.suvmean == b.suvmean
    liver_x = -60.0 + 4.0 * np.nonzero(liver)[2]
    assert a.centre_mm[0] <= np.median(liver_x)


def test_liver_reference_respects_exclude_mask():
    suv, labels, liver, _ = liver_phantom(lesion=False)
    first = place_liver_reference(suv, labels)
    exclude = np.zeros(liver.shape, dtype=bool)
    exclude[first.mask] = True
    second = place_liver_reference(suv, labels, exclude_mask=exclude)
    assert not (second.mask & exclude).any()
    assert second.centre_mm != first.centre_mm


def test_liver_reference_errors():
    suv, labels, _, _ = liver_phantom()
    no_liver = sitk.GetArrayFromImage(labels) * 0
    with pytest.raises(InputError, match="no liver"):
        place_liver_reference(suv, image(no_liver, origin=labels.GetOrigin()))
    with pytest.raises(InputError, match="smaller radius_mm"):
        place_liver_reference(suv, labels, radius_mm=40.0)
    with pytest.raises(InputError, match="not on the PET grid"):
        place_liver_reference(suv, image(sitk.GetArrayFromImage(labels)))
