"""Tests of netpet.imaging.segment on exact tiny images and realistic blurred, noisy spheres."""

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from netpet import labels as organ_numbers
from netpet.config import validate_config
from netpet.errors import InputError
from netpet.imaging.organs import LiverReference
from netpet.imaging.segment import SegmentationSettings, segment_tumours
from netpet.imaging.segment.percent_max import tissue_statistics
from netpet.imaging.segment.thresholds import liver_threshold

VOXEL_MM = 4.0
FWHM_MM = 7.0
# The smallest valid config: every segmentation setting takes the schema's default.
MINIMAL_CONFIG = {
    "samples": "samples.tsv",
    "clinical": "clinical.tsv",
    "timepoints": {"baseline": "basal", "followups": ["interim"]},
    "synthetic": {"enabled": False},
}


def settings_of(**overrides) -> SegmentationSettings:
    """Settings validated by the config schema: its defaults, with ``overrides``."""
    config = validate_config({**MINIMAL_CONFIG, "segmentation": overrides})
    return SegmentationSettings.from_config(config["segmentation"])


def image(array, dtype=np.float32):
    img = sitk.GetImageFromArray(np.asarray(array, dtype=dtype))
    img.SetSpacing((VOXEL_MM,) * 3)
    return img


def liver_ref(mean, sd):
    return LiverReference((0.0, 0.0, 0.0), 15.0, np.zeros(1, bool), mean, sd, 220)


def sphere_phantom(volume_ml, uptake, background, *, seed=0, n=40, centre=None):
    """Blurred sphere (true volume ``volume_ml``) with Poisson-like noise (CV 15 % at SUV 8).

    The sphere is rasterised with 4x4x4 sub-voxels (partial-volume fractions), blurred with
    a Gaussian of 7 mm FWHM, then noise of SD 0.15 x sqrt(8 x SUV) is added.
    """
    sub = 4
    radius = (3 * volume_ml * 1000 / (4 * np.pi)) ** (1 / 3)
    grid = (np.arange(n * sub) + 0.5) * VOXEL_MM / sub - n * VOXEL_MM / 2 + 0.37
    z, y, x = np.meshgrid(grid, grid, grid, indexing="ij", sparse=True)
    occupancy = (z**2 + y**2 + x**2 <= radius**2).astype(float)
    occupancy = occupancy.reshape(n, sub, n, sub, n, sub).mean(axis=(1, 3, 5))
    suv = background + (uptake - background) * occupancy
    suv = ndimage.gaussian_filter(suv, FWHM_MM / 2.3548 / VOXEL_MM)
    rng = np.random.default_rng(seed)
    return suv + 0.15 * np.sqrt(8 * suv) * rng.standard_normal(suv.shape)


def sphere_truth(volume_ml, *, n=40):
    """Voxels of :func:`sphere_phantom`'s grid whose centres lie inside the sphere."""
    radius = (3 * volume_ml * 1000 / (4 * np.pi)) ** (1 / 3)
    centres = (np.arange(n) + 0.5) * VOXEL_MM - n * VOXEL_MM / 2 + 0.37
    z, y, x = np.meshgrid(centres, centres, centres, indexing="ij", sparse=True)
    return z**2 + y**2 + x**2 <= radius**2


def test_settings_from_config_and_errors():
    settings = settings_of(method="fixed", threshold_suv=5)
    assert settings.method == "fixed" and settings.threshold_suv == 5
    assert settings.to_dict()["exclude_labels"] == list(organ_numbers.PHYSIOLOGICAL_UPTAKE)
    # Bounds are the schema's (netpet.config.validate_config), named by key.
    with pytest.raises(InputError, match="unknown key"):
        settings_of(treshold_suv=5)
    with pytest.raises(InputError, match="method"):
        settings_of(method="otsu")
    with pytest.raises(InputError, match="connectivity"):
        settings_of(connectivity=8)
    with pytest.raises(InputError, match="growth_floor_smoothing_mm"):
        settings_of(growth_floor_smoothing_mm=-1)
    with pytest.raises(InputError, match="organ_growth_sd_count"):
        settings_of(organ_growth_sd_count=-1)
    with pytest.raises(InputError, match="liver_seed_sd_count"):
        settings_of(liver_seed_sd_count=-0.5)
    with pytest.raises(InputError, match="background"):
        settings_of(background="spleen")
    assert settings_of(organ_growth_sd_count=None).to_dict()["organ_growth_sd_count"] is None
    # What the schema allows but segment_tumours does not do: masks come from other tools.
    with pytest.raises(InputError, match="method 'import' is not one of"):
        settings_of(method="import")
    # Settings are built from a validated config only.
    with pytest.raises(InputError, match=r"missing key.*validate_config"):
        SegmentationSettings.from_config({"method": "fixed", "threshold_suv": 5})


def test_fixed_threshold_components_order_exclusion_min_volume():
    suv = np.ones((10, 10, 20))
    suv[2:4, 2:4, 2:4] = 10.0  # 8 voxels, SUVmax 10
    suv[2:4, 2:4, 8:10] = 12.0  # 8 voxels, SUVmax 12 -> lesion 1
    suv[6, 6, 6] = 30.0  # 1 voxel: below 0.5 mL (8 voxels = 0.512 mL)
    suv[2:4, 2:4, 15:17] = 30.0  # inside the spleen: excluded
    organs = np.zeros(suv.shape, dtype=np.uint16)
    organs[1:5, 1:5, 14:18] = organ_numbers.SPLEEN
    settings = settings_of(method="fixed", threshold_suv=5.0, exclude_dilation_mm=0.0)
    labels, info = segment_tumours(
        image(suv), settings, organ_labels=image(organs, dtype=np.uint16)
    )
    out = sitk.GetArrayFromImage(labels)
    assert labels.GetPixelID() == sitk.sitkUInt16
    assert info["lesion_count"] == 2
    assert (out == 1).sum() == 8 and out[2, 2, 8] == 1
    assert (out == 2).sum() == 8 and out[2, 2, 2] == 2
    assert out[6, 6, 6] == 0 and not out[:, :, 14:18].any()
    assert info["settings"]["method"] == "fixed"
    assert [row["suvmax"] for row in info["lesions"]] == [12.0, 10.0]


def test_exclusion_dilation_removes_spill_next_to_kidney():
    suv = np.ones((10, 10, 20))
    suv[3:7, 3:7, 3:7] = 20.0  # kidney
    suv[3:7, 3:7, 7] = 9.0  # spill-over in the voxel layer next to it
    organs = np.zeros(suv.shape, dtype=np.uint16)
    organs[3:7, 3:7, 3:7] = organ_numbers.KIDNEY_LEFT
    settings = {"method": "fixed", "threshold_suv": 5.0}
    kept, _ = segment_tumours(
        image(suv),
        settings_of(**settings, exclude_dilation_mm=0.0),
        organ_labels=image(organs, np.uint16),
    )
    assert sitk.GetArrayFromImage(kept).sum() == 16  # the spill layer, 1.02 mL
    gone, info = segment_tumours(
        image(suv),
        settings_of(**settings, exclude_dilation_mm=4.0),
        organ_labels=image(organs, np.uint16),
    )
    assert info["lesion_count"] == 0 and not sitk.GetArrayFromImage(gone).any()


def test_liver_method_threshold_hand_computed():
    ref = liver_ref(8.0, 1.0)
    settings = settings_of(method="liver", exclude_labels=[])
    assert liver_threshold(ref, settings) == pytest.approx(1.5 * 8 + 2 * 1)  # PERCIST: 14
    assert liver_threshold(ref, settings_of(liver_factor=1.0, liver_sd_count=3)) == 11
    suv = np.full((6, 6, 6), 8.0)
    suv[1:3, 1:3, 1:3] = 14.0  # exactly at threshold: included
    suv[4, 4, 1:5] = 13.9
    labels, info = segment_tumours(image(suv), settings, liver_reference=ref)
    out = sitk.GetArrayFromImage(labels)
    assert info["thresholds"]["threshold_suv"] == pytest.approx(14.0)
    assert (out > 0).sum() == 8
    with pytest.raises(InputError, match="liver reference"):
        segment_tumours(image(suv), settings)


def test_percent_max_gives_each_lesion_its_own_threshold():
    # A hot (60) and a cool (15) lesion 2 cm apart: a single 41 % of the global max (24.6)
    # would miss the cool one; per-lesion thresholds keep both with sensible volumes.
    n = 30
    suv = np.ones((n, n, n))
    z, y, x = np.indices(suv.shape)
    hot = (z - 15) ** 2 + (y - 15) ** 2 + (x - 8) ** 2 <= 9
    cool = (z - 15) ** 2 + (y - 15) ** 2 + (x - 20) ** 2 <= 9
    suv[hot] = 60.0
    suv[cool] = 15.0
    suv = ndimage.gaussian_filter(suv, FWHM_MM / 2.3548 / VOXEL_MM)
    labels, info = segment_tumours(image(suv), settings_of(exclude_labels=[]))
    out = sitk.GetArrayFromImage(labels)
    assert info["lesion_count"] == 2
    assert out[15, 15, 8] == 1 and out[15, 15, 20] == 2
    for lesion_id, truth in ((1, hot), (2, cool)):
        assert abs((out == lesion_id).sum() / truth.sum() - 1) < 0.25
    thresholds = [row["threshold_suv"] for row in info["lesions"]]
    assert thresholds[0] > 3 * thresholds[1]


@pytest.mark.parametrize("background, uptake", [(1.0, 20.0), (8.0, 40.0)])
def test_percent_max_volume_recovery_of_default_settings(background, uptake):
    """Volume recovery of 5-100 mL spheres: 4 mm voxels, 7 mm FWHM, noise, default settings.

    ``background`` 8 is a liver metastasis (the liver reference supplies SUVmean and SD).
    Median over 3 noise realisations within 12 % of the true volume.
    """
    errors = {}
    for volume_ml in (5, 20, 100):
        measured = []
        for seed in range(3):
            suv = image(sphere_phantom(volume_ml, uptake, background, seed=seed))
            organs = ref = None
            if background > 2:
                organs = image(np.full((40, 40, 40), organ_numbers.LIVER), dtype=np.uint16)
                ref = liver_ref(background, 0.15 * background)
            labels, _ = segment_tumours(
                suv, settings_of(), organ_labels=organs, liver_reference=ref
            )
            out = sitk.GetArrayFromImage(labels)
            measured.append((out == out[20, 20, 20]).sum() * 0.064 if out[20, 20, 20] else 0)
        errors[volume_ml] = np.median(measured) / volume_ml - 1
    assert all(abs(e) < 0.12 for e in errors.values()), errors


def test_percent_max_detects_one_ml_lesion_and_no_false_positive_in_liver_noise():
    suv = image(sphere_phantom(1.0, 20.0, 1.0, seed=5))
    labels, info = segment_tumours(suv, settings_of())
    assert info["lesion_count"] == 1 and sitk.GetArrayFromImage(labels)[20, 20, 20] == 1
    # Pure liver (SUV 8, CV 15 %, noise correlated over ~1 voxel): no lesion.
    rng = np.random.default_rng(0)
    noise = ndimage.gaussian_filter(rng.standard_normal((30, 40, 40)), 0.6)
    liver_suv = 8.0 + 1.2 * noise / noise.std()
    organs = image(np.full(liver_suv.shape, organ_numbers.LIVER), dtype=np.uint16)
    _, info = segment_tumours(
        image(liver_suv), settings_of(), organ_labels=organs, liver_reference=liver_ref(8.0, 1.2)
    )
    assert info["lesion_count"] == 0


def test_percent_max_liver_lesion_does_not_swallow_liver():
    # A cool lesion (peak 14) just outside a warm liver (8): 41 % of 14 = 5.7 < liver, but
    # liver voxels below SUVmean + 3 SD (9.5) never join the lesion.  Noise-free, so the
    # floor is tested on the unsmoothed image (smoothing would round the cube's corners).
    suv = np.full((20, 20, 30), 1.0)
    suv[:, :, :15] = 8.0
    suv[8:12, 8:12, 15:19] = 14.0
    organs = np.zeros(suv.shape, dtype=np.uint16)
    organs[:, :, :15] = organ_numbers.LIVER
    labels, info = segment_tumours(
        image(suv),
        settings_of(reference="max", growth_floor_smoothing_mm=0),
        organ_labels=image(organs, np.uint16),
        liver_reference=liver_ref(8.0, 0.5),
    )
    out = sitk.GetArrayFromImage(labels)
    assert info["lesion_count"] == 1
    assert (out == 1).sum() == 64 and not out[:, :, :15].any()


def test_liver_seeds_use_robust_liver_statistics_in_a_crowded_liver():
    # A 5 mL lesion of SUV 11 in liver of SUV 8.  In a liver crowded with metastases the
    # reference sphere's SD is inflated by spill-over (1.6 instead of ~1.2), so PERCIST's
    # seed threshold 1.5 x 8 + 2 x 1.6 = 15.2 exceeds the lesion; the robust statistics of the
    # smoothed liver label (median 8, robust SD ~0.4) seed it.
    truth = sphere_truth(5.0)
    organs = image(np.full(truth.shape, organ_numbers.LIVER), dtype=np.uint16)
    mask = np.zeros(truth.shape, dtype=bool)
    mask[2:9, 2:9, 2:9] = True  # normal liver, away from the lesion
    reference = LiverReference((0.0, 0.0, 0.0), 15.0, mask, 8.0, 1.6, int(mask.sum()))
    for seed in range(3):
        suv = image(sphere_phantom(5.0, 11.0, 8.0, seed=seed))
        labels, info = segment_tumours(
            suv, settings_of(), organ_labels=organs, liver_reference=reference
        )
        out = sitk.GetArrayFromImage(labels)
        assert info["lesion_count"] == 1 and out[20, 20, 20] == 1
        assert 0.6 < (out == 1).sum() / truth.sum() < 1.3
        assert info["thresholds"]["liver_robust_median_suv"] == pytest.approx(8.0, abs=0.05)
        old = settings_of(liver_seed_sd_count=None)
        _, info = segment_tumours(suv, old, organ_labels=organs, liver_reference=reference)
        assert info["lesion_count"] == 0
        assert info["thresholds"]["liver_seed_threshold_suv"] == pytest.approx(15.2)


def test_segmentation_is_deterministic():
    suv = image(sphere_phantom(10, 30, 1.0, seed=1))
    a, info_a = segment_tumours(suv, settings_of())
    b, info_b = segment_tumours(suv, settings_of())
    assert np.array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b))
    assert info_a == info_b


def test_tissue_statistics_hand_computed():
    suv = np.zeros((3, 10, 10))
    organs = np.zeros(suv.shape, dtype=np.int64)
    organs[0, :3, :7] = organ_numbers.SMALL_BOWEL  # 21 voxels, SUV 1..21
    suv[0, :3, :7] = np.arange(1, 22).reshape(3, 7)
    organs[1, :2, :5] = organ_numbers.PANCREAS  # 10 voxels: too few for statistics
    suv[1, :2, :5] = 4.0
    suv[2, :5, :5] = 0.5  # 25 unlabelled body voxels; the rest of label 0 is air (SUV 0)
    allowed = np.ones(suv.shape, dtype=bool)
    stats = tissue_statistics(suv, organs, allowed)
    assert set(stats) == {0, organ_numbers.SMALL_BOWEL}
    # Median 11; 90th percentile (linear) 1 + 0.9 x 20 = 19; upper SD (19 - 11) / z(0.9).
    assert stats[organ_numbers.SMALL_BOWEL] == pytest.approx((11.0, 8.0 / 1.2815515655))
    assert stats[0] == pytest.approx((0.5, 0.0))
    allowed[0, 0, :7] = False  # excluded voxels (e.g. dilated kidneys) do not count: 14 left
    assert organ_numbers.SMALL_BOWEL not in tissue_statistics(suv, organs, allowed)


def test_percent_max_organ_background_threshold_hand_computed():
    # Noise-free: a 4x4x4 lesion of SUV 20 inside bowel of SUV 2.  With the organ background
    # T = 2 + 0.41 x (20 - 2) = 9.38; with background "none" T = 0.41 x 20 = 8.2.  Floors on
    # the unsmoothed image: bowel median 2 + 3 x 0 (upper SD of a constant).
    suv = np.full((16, 16, 16), 2.0)
    suv[6:10, 6:10, 6:10] = 20.0
    organs = image(np.full(suv.shape, organ_numbers.SMALL_BOWEL), dtype=np.uint16)
    settings = {"reference": "max", "exclude_labels": [], "growth_floor_smoothing_mm": 0}
    labels, info = segment_tumours(image(suv), settings_of(**settings), organ_labels=organs)
    assert info["lesion_count"] == 1 and (sitk.GetArrayFromImage(labels) == 1).sum() == 64
    assert info["lesions"][0]["threshold_suv"] == pytest.approx(9.38)
    tissue = info["thresholds"]["tissues"]["small_bowel"]
    assert tissue["median_suv"] == 2.0 and tissue["growth_floor_suv"] == 2.0
    _, info = segment_tumours(
        image(suv), settings_of(**settings, background="none"), organ_labels=organs
    )
    assert info["lesions"][0]["threshold_suv"] == pytest.approx(8.2)


def _warm_organ_with_lesion(seed):
    """A 3 mL lesion (SUV 9) in a warm, noisy organ (bowel-like SUV 2.4, 16 voxels wide).

    The organ label map leaves the lesion out (label 0, like a node between bowel loops);
    unlabelled tissue beside the organ has the same uptake.
    """
    suv = image(sphere_phantom(3.0, 9.0, 2.4, seed=seed))
    truth = sphere_truth(3.0)
    organs = np.zeros(truth.shape, dtype=np.uint16)
    organs[:, :, 12:28] = organ_numbers.SMALL_BOWEL
    organs[truth] = 0
    return suv, image(organs, dtype=np.uint16), truth


def test_low_uptake_lesion_in_warm_organ_does_not_leak():
    # 41 % of a low peak (~6) is ~2.5, about the organ's own uptake: without the organ
    # background and growth floor the lesion swallows the organ.
    for seed in range(3):
        suv, organs, truth = _warm_organ_with_lesion(seed)
        labels, _ = segment_tumours(suv, settings_of(), organ_labels=organs)
        out = sitk.GetArrayFromImage(labels)
        assert out[20, 20, 20] == 1
        assert 0.6 < (out == 1).sum() / truth.sum() < 1.6
        old = settings_of(background="liver", organ_growth_sd_count=None)
        labels, _ = segment_tumours(suv, old, organ_labels=organs)
        out = sitk.GetArrayFromImage(labels)
        assert (out == out[20, 20, 20]).sum() > 10 * truth.sum()
