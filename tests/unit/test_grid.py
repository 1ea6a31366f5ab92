"""Tests of netpet.imaging.grid on tiny images with hand-computed answers."""

import numpy as np
import pytest
import SimpleITK as sitk

from netpet.errors import InputError
from netpet.imaging.grid import (
    PEAK_RADIUS_MM,
    ball_kernel,
    ball_offsets,
    check_same_grid,
    dilate_mm,
    resample_labels_to,
    robust_statistics,
    spacing_zyx,
    sphere_mean,
    voxel_volume_ml,
)


def image(array, spacing=(4.0, 4.0, 4.0), origin=(0.0, 0.0, 0.0)):
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    return img


def test_spacing_zyx_and_voxel_volume():
    img = image(np.zeros((2, 3, 4), np.float32), spacing=(2.0, 3.0, 5.0))
    assert spacing_zyx(img) == (5.0, 3.0, 2.0)
    assert voxel_volume_ml(img) == pytest.approx(0.03)  # 2 x 3 x 5 mm^3


def test_check_same_grid_names_the_image_and_the_fix():
    pet = image(np.zeros((2, 3, 4), np.float32))
    check_same_grid(image(np.zeros((2, 3, 4), np.uint8), origin=(0.0, 0.0, 5e-4)), pet, what="x")
    with pytest.raises(InputError, match=r"organ label map is not on the PET grid.*resample"):
        check_same_grid(
            image(np.zeros((2, 3, 4), np.uint8), origin=(0.0, 0.0, 2.0)),
            pet,
            what="organ label map",
        )


def test_resample_labels_nearest_neighbour():
    # 2 mm CT-like grid, label 7 in x indices 4..7 (centres 8..14 mm); PET grid 4 mm.
    fine = np.zeros((8, 8, 16), dtype=np.uint8)
    fine[:, :, 4:8] = 7
    labels = image(fine, spacing=(2.0, 2.0, 2.0))
    reference = image(np.zeros((4, 4, 8), dtype=np.float32), spacing=(4.0, 4.0, 4.0))
    out = resample_labels_to(labels, reference)
    got = sitk.GetArrayFromImage(out)
    assert out.GetPixelID() == sitk.sitkUInt8
    # PET x centres 0,4,8,12,...: 8 and 12 mm fall on fine voxels 4 and 6 (label 7).
    assert got[0, 0].tolist() == [0, 0, 7, 7, 0, 0, 0, 0]
    assert np.unique(got).tolist() == [0, 7]


def test_dilate_mm_anisotropic_ball():
    mask = np.zeros((5, 9, 9), dtype=bool)
    mask[2, 4, 4] = True
    out = dilate_mm(mask, (4.0, 2.0, 2.0), 4.0)
    # In-plane: dy^2 + dx^2 <= 4 (13 voxels); dz = +/-1 only on the axis (2 voxels).
    assert out.sum() == 15
    assert out[1, 4, 4] and out[3, 4, 4] and not out[1, 4, 5]
    assert out[2, 4, 6] and not out[2, 5, 6]


def test_ball_offsets_one_ml_sphere_at_4mm():
    offsets = ball_offsets(6.2035, (4.0, 4.0, 4.0))
    # i^2 + j^2 + k^2 <= 2.405: the centre, 6 faces and 12 edges.
    assert len(offsets) == 19


def test_ball_kernel_anisotropic():
    # 4 mm radius on (4, 2, 2) mm voxels: reach 1 slice in z, 2 voxels in y and x.
    kernel = ball_kernel(4.0, (4.0, 2.0, 2.0))
    assert kernel.shape == (3, 5, 5)
    assert kernel.sum() == 15 and kernel[1, 2, 2] and kernel[0, 2, 2] and not kernel[0, 2, 3]


def test_sphere_mean_is_mean_over_19_voxel_sphere():
    suv = np.zeros((12, 12, 12))
    suv[2:5, 2:5, 2:5] = 1.0
    suv[3, 3, 3] = 20.0
    peak = sphere_mean(suv, (4.0, 4.0, 4.0))
    assert PEAK_RADIUS_MM == pytest.approx((3 * 1000 / (4 * np.pi)) ** (1 / 3), abs=1e-4)
    # Centre of the block: its 19-voxel sphere lies in the block: (20 + 18 x 1) / 19 = 2.
    assert peak[3, 3, 3] == pytest.approx(2.0)
    # Image corner: only the 7 in-image voxels count (zero padding would give 7 / 19).
    assert sphere_mean(np.ones((4, 4, 4)), (4.0, 4.0, 4.0))[0, 0, 0] == pytest.approx(1.0)


def test_sphere_mean_within_averages_only_those_voxels():
    values = np.full((5, 5, 5), 2.0)
    values[2, 2, 3] = 100.0  # a face neighbour of the centre, left out
    within = np.ones(values.shape, dtype=bool)
    within[2, 2, 3] = False
    out = sphere_mean(values, (4.0, 4.0, 4.0), within=within)
    # Centre: 18 voxels of SUV 2 remain.
    assert out[2, 2, 2] == pytest.approx(2.0)
    assert sphere_mean(values, (4.0, 4.0, 4.0))[2, 2, 2] == pytest.approx((18 * 2 + 100) / 19)
    # A voxel whose sphere holds no voxel of ``within`` gets 0.
    alone = np.zeros(values.shape, dtype=bool)
    alone[0, 0, 0] = True
    assert sphere_mean(values, (4.0, 4.0, 4.0), within=alone)[4, 4, 4] == 0.0


def test_robust_statistics_hand_computed():
    # Median 3; absolute deviations 2, 1, 0, 1, 97 -> MAD 1; robust SD 1.4826.  The outlier
    # (a lesion voxel) moves neither.
    assert robust_statistics(np.array([1.0, 2.0, 3.0, 4.0, 100.0])) == pytest.approx((3.0, 1.4826))
