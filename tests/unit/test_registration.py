"""Registration of a follow-up scan to the baseline: known transforms of analytic phantoms.

The phantoms are smooth (soft-edged ellipsoids evaluated at voxel centres), so the follow-up
is rendered exactly under the known transform instead of being interpolated from the
baseline; recovered transforms are compared with the true one at points of the body.
"""

import json

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from netpet.errors import InputError
from netpet.figures.registration import fuse, registration_figure
from netpet.longitudinal.registration import (
    RegistrationSettings,
    ScanImages,
    check_registration,
    choose_driver,
    image_to_baseline,
    labels_to_baseline,
    read_scan_images,
    read_transform,
    register_to_baseline,
    write_transform,
)
from netpet.steps.ingest import ANATOMY_FILES, ANATOMY_RECORD

# Phantom objects: (name, centre x, y, z mm, semi-axes mm, CT HU, SUV, MR signal).  Body
# centred at 0; liver on the patient's right (LPS -x), spleen left, spine posterior (+y):
# no symmetry, so rotations are determined.
BODY = ("body", (0, 0, 0), (75, 55, 95), 40.0, 1.0, 300.0)
OBJECTS = (
    ("lung_r", (-35, 0, 55), (28, 35, 30), -800.0, 0.3, 20.0),
    ("lung_l", (35, 0, 60), (25, 35, 28), -800.0, 0.3, 20.0),
    ("liver", (-30, -5, 10), (35, 30, 25), 60.0, 7.0, 500.0),
    ("spleen", (40, 15, 15), (15, 12, 18), 50.0, 20.0, 450.0),
    ("kidney_l", (30, 30, -20), (12, 10, 20), 35.0, 12.0, 350.0),
    ("spine", (0, 40, 0), (10, 10, 90), 700.0, 1.5, 100.0),
    ("bladder", (5, -20, -75), (18, 15, 12), 10.0, 40.0, 800.0),
)
LESIONS = ((3, (-25, -10, 15), 9.0), (7, (20, 10, -30), 7.0))  # (label, centre mm, radius mm)
VALUE_COLUMN = {"ct": 3, "pet": 4, "mr": 5}
OUTSIDE = {"ct": -1000.0, "pet": 0.0, "mr": 0.0}
EDGE_MM = 1.5  # width of the soft edges


def grid(size=(48, 40, 56), spacing=(4.0, 4.0, 4.0)) -> sitk.Image:
    """An empty float32 grid centred on the phantom."""
    image = sitk.Image(list(size), sitk.sitkFloat32)
    image.SetSpacing(spacing)
    image.SetOrigin([-(n - 1) * s / 2 for n, s in zip(size, spacing, strict=True)])
    return image


def points_mm(image: sitk.Image) -> np.ndarray:
    """Voxel centres of ``image`` in mm, shape (z, y, x, 3) with (x, y, z) last."""
    size, spacing, origin = image.GetSize(), image.GetSpacing(), image.GetOrigin()
    axes = [origin[i] + spacing[i] * np.arange(size[i]) for i in range(3)]
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return np.stack([x, y, z], axis=-1)


def true_transform(angles_deg=(0, 0, 0), translation=(0, 0, 0), scale=(1, 1, 1)):
    """Baseline points to follow-up points: rotation/scaling about the origin, then shift."""
    ax, ay, az = np.radians(angles_deg)
    euler = sitk.Euler3DTransform((0, 0, 0), float(ax), float(ay), float(az), (0, 0, 0))
    matrix = np.asarray(euler.GetMatrix()).reshape(3, 3) @ np.diag(scale)
    affine = sitk.AffineTransform(3)
    affine.SetMatrix([float(v) for v in matrix.ravel()])
    affine.SetTranslation([float(v) for v in translation])
    return affine


def baseline_points(reference: sitk.Image, transform) -> np.ndarray:
    """Where each voxel centre of ``reference`` was at baseline: transform^-1 (affine, centre 0)."""
    p = points_mm(reference)
    if transform is None:
        return p
    matrix = np.asarray(transform.GetMatrix()).reshape(3, 3)
    return (p - np.asarray(transform.GetTranslation())) @ np.linalg.inv(matrix).T


def soft_ellipsoid(p: np.ndarray, centre, axes) -> np.ndarray:
    rho = np.sqrt((((p - np.asarray(centre, float)) / np.asarray(axes, float)) ** 2).sum(-1))
    return 1.0 / (1.0 + np.exp(-(1.0 - rho) * min(axes) / EDGE_MM))


def phantom(kind: str, reference: sitk.Image, transform=None, *, gain=1.0, noise=0.0, seed=0):
    """The phantom's ``kind`` image (ct, pet, mr) on ``reference``, moved by ``transform``.

    ``transform`` maps baseline points to follow-up points: the follow-up image at point q
    shows the baseline anatomy at transform^-1(q).  ``gain`` scales the values (MR has no
    absolute units), ``noise`` adds Gaussian noise of that SD.
    """
    p = baseline_points(reference, transform)
    column = VALUE_COLUMN[kind]
    values = np.full(p.shape[:-1], OUTSIDE[kind])
    for obj in (BODY, *OBJECTS):
        weight = soft_ellipsoid(p, obj[1], obj[2])
        values = values * (1 - weight) + obj[column] * weight
    if kind == "pet":
        for _, centre, radius in LESIONS:
            weight = soft_ellipsoid(p, centre, (radius,) * 3)
            values = values * (1 - weight) + 25.0 * weight
    values = values * gain + np.random.default_rng(seed).normal(0.0, noise, values.shape)
    image = sitk.GetImageFromArray(values.astype(np.float32))
    image.CopyInformation(reference)
    return image


def lesion_labels(reference: sitk.Image, transform=None) -> sitk.Image:
    """uint16 lesion label map (ids 3 and 7) of voxels whose centre lies in a lesion."""
    p = baseline_points(reference, transform)
    labels = np.zeros(p.shape[:-1], np.uint16)
    for label, centre, radius in LESIONS:
        labels[np.linalg.norm(p - np.asarray(centre, float), axis=-1) <= radius] = label
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(reference)
    return image


def body_points() -> np.ndarray:
    """Points spread over the body (mm), where transforms are compared."""
    g = np.array(np.meshgrid([-50, 0, 50], [-35, 0, 35], [-70, 0, 70])).reshape(3, -1).T
    return g.astype(float)


def max_point_error_mm(found: sitk.Transform, truth: sitk.Transform) -> float:
    return max(
        float(np.linalg.norm(np.subtract(found.TransformPoint(p), truth.TransformPoint(p))))
        for p in body_points()
    )


def scans(kind: str, truth, *, ct_spacing=(4.0, 4.0, 4.0), followup_gain=1.0, noise=0.0):
    """Baseline and follow-up ScanImages with the ``kind`` image (ct, mr, or pet only)."""
    pet_grid = grid()
    pets = [phantom("pet", pet_grid, t, noise=0.3, seed=i) for i, t in enumerate((None, truth))]
    if kind == "pet":
        return ScanImages("P1 basal", pets[0]), ScanImages("P1 interim", pets[1])
    size = [round(n * 4.0 / s) for n, s in zip(pet_grid.GetSize(), ct_spacing, strict=True)]
    anatomy_grid = grid(size, ct_spacing)
    base = phantom(kind, anatomy_grid, noise=noise, seed=3)
    follow = phantom(kind, anatomy_grid, truth, gain=followup_gain, noise=noise, seed=4)
    return (
        ScanImages("P1 basal", pets[0], base, kind),
        ScanImages("P1 interim", pets[1], follow, kind),
    )


# --- settings and driver -----------------------------------------------------------------------


def test_settings_from_config_defaults_overrides_and_errors():
    defaults = RegistrationSettings.from_config(None)
    assert defaults == RegistrationSettings()
    assert defaults.transform == "affine"
    settings = RegistrationSettings.from_config(
        {"transform": "rigid", "shrink_factors": [2, 1], "smoothing_sigmas_mm": [4, 0]}
    )
    assert settings.shrink_factors == (2, 1)
    assert json.loads(json.dumps(settings.to_dict()))["shrink_factors"] == [2, 1]
    with pytest.raises(
        InputError, match=r"longitudinal.registration: unknown key\(s\) \['shift'\]"
    ):
        RegistrationSettings.from_config({"shift": 1})
    with pytest.raises(InputError, match=r"longitudinal.registration.transform is 'elastic'"):
        RegistrationSettings.from_config({"transform": "elastic"})
    with pytest.raises(InputError, match=r"smoothing_sigmas_mm .* one sigma >= 0 per shrink"):
        RegistrationSettings.from_config({"shrink_factors": [4, 2, 1], "smoothing_sigmas_mm": [1]})


def test_driver_is_anatomy_only_when_both_scans_have_the_same_kind():
    pet = grid()
    ct, mr = ScanImages("A", pet, pet, "ct"), ScanImages("B", pet, pet, "mr")
    only = ScanImages("C", pet)
    assert choose_driver(ct, ct) == ("ct", "both scans have CT")
    assert choose_driver(mr, mr)[0] == "mr"
    assert choose_driver(ct, only) == ("pet", "PET only: no CT or MR for C")
    assert choose_driver(ct, mr)[0] == "pet"
    assert choose_driver(ct, ct, driver="pet")[0] == "pet"


def test_read_scan_images_follows_anatomy_json(tmp_path):
    pet = phantom("pet", grid((8, 8, 8)))
    for name, modality in (("ct_scan", "ct"), ("pet_only", None)):
        folder = tmp_path / name
        (folder / "anatomy").mkdir(parents=True)
        sitk.WriteImage(pet, str(folder / "pet_suv.nii.gz"))
        files = []
        if modality:
            files = list(ANATOMY_FILES[modality])
            sitk.WriteImage(sitk.Cast(pet * 10, sitk.sitkInt16), str(folder / "anatomy" / files[0]))
        record = {"modality": modality, "files": files}
        (folder / "anatomy" / ANATOMY_RECORD).write_text(json.dumps(record))
    scan = read_scan_images(tmp_path / "ct_scan", name="P1 basal")
    assert scan.modality == "ct" and scan.anatomy.GetPixelID() == sitk.sitkInt16
    assert scan.pet_suv.GetPixelID() == sitk.sitkFloat32
    only = read_scan_images(tmp_path / "pet_only", name="P1 interim")
    assert only.modality is None and only.anatomy is None
    with pytest.raises(InputError, match=r"P2 basal: cannot read .*anatomy.json"):
        read_scan_images(tmp_path / "missing", name="P2 basal")


# --- known transforms recovered ----------------------------------------------------------------


def test_ct_driven_rigid_recovers_rotation_and_translation():
    truth = true_transform(angles_deg=(0, 0, 4.0), translation=(6.0, -4.0, 8.0))
    baseline, followup = scans("ct", truth, ct_spacing=(2.0, 2.0, 3.0), noise=10.0)
    result = register_to_baseline(baseline, followup, RegistrationSettings(transform="rigid"))
    m = result.metrics
    assert m["driver"] == "ct" and m["transform"] == "rigid"
    assert isinstance(result.transform, sitk.Euler3DTransform)
    assert m["rotation_deg"][2] == pytest.approx(4.0, abs=0.2)
    assert max(abs(m["rotation_deg"][0]), abs(m["rotation_deg"][1])) < 0.2
    assert max_point_error_mm(result.transform, truth) < 0.5
    centre = m["body_centre_mm"]
    expected = np.subtract(truth.TransformPoint(centre), centre)
    np.testing.assert_allclose(m["translation_mm"], expected, atol=0.5)
    assert m["ncc_after"] > 0.95 > m["ncc_before"]
    assert m["problems"] == []


def test_affine_default_recovers_a_change_of_size():
    # The abdomen 4 % wider (x) and 3 % shallower (y), shifted: what affine is for.
    truth = true_transform(
        angles_deg=(0, 2.0, 0), translation=(-5.0, 3.0, -6.0), scale=(1.04, 0.97, 1.0)
    )
    baseline, followup = scans("ct", truth)
    result = register_to_baseline(baseline, followup)
    assert isinstance(result.transform, sitk.AffineTransform)
    assert max_point_error_mm(result.transform, truth) < 1.0
    np.testing.assert_allclose(
        sorted(result.metrics["scale_factors"]), [0.97, 1.0, 1.04], atol=0.01
    )


def test_pet_driven_when_a_scan_is_pet_only():
    truth = true_transform(angles_deg=(2.0, 0, 0), translation=(4.0, 8.0, -8.0))
    baseline, followup = scans("pet", truth)
    result = register_to_baseline(baseline, followup)
    assert result.metrics["driver"] == "pet"
    assert "PET only" in result.metrics["driver_reason"]
    # pet_transform (rigid by default) applies, and auto picks correlation.
    assert result.metrics["transform"] == "rigid" and result.metrics["metric"] == "correlation"
    assert isinstance(result.transform, sitk.Euler3DTransform)
    assert max_point_error_mm(result.transform, truth) < 1.0


def test_mr_driven_despite_different_intensity_scales():
    truth = true_transform(translation=(-8.0, 4.0, 12.0))
    baseline, followup = scans("mr", truth, followup_gain=1.7)
    result = register_to_baseline(baseline, followup, RegistrationSettings(transform="rigid"))
    assert result.metrics["driver"] == "mr"
    assert max_point_error_mm(result.transform, truth) < 1.0


def test_bspline_option_writes_a_composite_that_maps_like_the_truth(tmp_path):
    truth = true_transform(translation=(4.0, -4.0, 4.0))
    baseline, followup = scans("ct", truth)
    settings = RegistrationSettings(
        transform="bspline", bspline_iterations=10, bspline_metric_samples=5000
    )
    result = register_to_baseline(baseline, followup, settings)
    assert result.metrics["transform"] == "bspline"
    assert result.metrics["bspline_max_displacement_mm"] < 2.0
    write_transform(result.transform, tmp_path / "t.tfm")
    again = read_transform(tmp_path / "t.tfm")
    assert max_point_error_mm(again, truth) < 1.0
    for p in body_points():
        np.testing.assert_allclose(again.TransformPoint(p), result.transform.TransformPoint(p))


# --- determinism -------------------------------------------------------------------------------


def test_same_inputs_give_identical_tfm_bytes_whatever_the_thread_count(tmp_path):
    truth = true_transform(angles_deg=(0, 0, 2.0), translation=(3.0, -2.0, 5.0))
    baseline, followup = scans("ct", truth, noise=10.0)
    process = sitk.ProcessObject
    before = (process.GetGlobalDefaultNumberOfThreads(), process.GetGlobalDefaultThreader())
    outputs = []
    try:
        for global_threads, threader in ((1, "PLATFORM"), (4, "POOL")):
            process.SetGlobalDefaultNumberOfThreads(global_threads)
            process.SetGlobalDefaultThreader(threader)
            result = register_to_baseline(baseline, followup)
            # The caller's SimpleITK settings are restored.
            assert process.GetGlobalDefaultNumberOfThreads() == global_threads
            path = tmp_path / f"t{global_threads}.tfm"
            write_transform(result.transform, path)
            outputs.append((path.read_bytes(), json.dumps(result.metrics, sort_keys=True)))
    finally:
        process.SetGlobalDefaultThreader(before[1])
        process.SetGlobalDefaultNumberOfThreads(before[0])
    assert outputs[0] == outputs[1]
    assert outputs[0][0].startswith(b"#Insight Transform File")


# --- plausibility ------------------------------------------------------------------------------


def test_implausible_translation_raises_naming_the_scans():
    truth = true_transform(translation=(8.0, 0.0, 0.0))
    baseline, followup = scans("ct", truth)
    settings = RegistrationSettings(transform="rigid", max_translation_mm=5.0)
    with pytest.raises(
        InputError,
        match=r"registration of P1 interim to P1 basal \(CT-driven, rigid\).*translation 8\.\d "
        r"mm exceeds longitudinal.registration.max_translation_mm = 5.*same patient",
    ):
        register_to_baseline(baseline, followup, settings)
    # check=False returns the result with the problem listed, for the QC picture.
    result = register_to_baseline(baseline, followup, settings, check=False)
    assert len(result.metrics["problems"]) == 1
    with pytest.raises(InputError, match="max_translation_mm"):
        check_registration(result.metrics, settings)


def test_unrelated_followup_fails_the_similarity_check():
    pet_grid = grid()
    baseline = ScanImages("P1 basal", phantom("pet", pet_grid))
    rng = np.random.default_rng(1)
    noise = sitk.GetImageFromArray(rng.gamma(1.0, 1.0, (56, 40, 48)).astype(np.float32))
    noise.CopyInformation(pet_grid)
    followup = ScanImages("P2 interim", noise)
    result = register_to_baseline(
        baseline, followup, RegistrationSettings(transform="rigid"), check=False
    )
    assert any("below longitudinal.registration.min_ncc" in p for p in result.metrics["problems"])


# --- resampling onto the baseline --------------------------------------------------------------


def test_labels_to_baseline_keeps_ids_and_type_exactly_for_a_whole_voxel_shift():
    baseline_pet = grid()
    shift_vox = np.array([2, -1, 3])  # x, y, z voxels of 4 mm
    truth = true_transform(translation=tuple(4.0 * shift_vox))
    followup = lesion_labels(baseline_pet, truth)
    mapped = labels_to_baseline(followup, truth, baseline_pet)
    assert mapped.GetPixelID() == sitk.sitkUInt16
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(mapped), sitk.GetArrayFromImage(lesion_labels(baseline_pet))
    )


def test_registered_followup_lesions_overlap_the_baseline_lesions():
    truth = true_transform(angles_deg=(0, 0, 3.0), translation=(8.0, -4.0, -8.0))
    baseline, followup = scans("ct", truth)
    result = register_to_baseline(baseline, followup)
    base = sitk.GetArrayFromImage(lesion_labels(baseline.pet_suv))
    follow = lesion_labels(followup.pet_suv, truth)
    for transform, low, high in ((sitk.Transform(), 0.0, 0.3), (result.transform, 0.85, 1.0)):
        mapped = sitk.GetArrayFromImage(labels_to_baseline(follow, transform, baseline.pet_suv))
        for label, *_ in LESIONS:
            a, b = base == label, mapped == label
            dice = 2 * (a & b).sum() / (a.sum() + b.sum())
            assert low <= dice <= high, (label, dice)
        assert set(np.unique(mapped)) <= {0, 3, 7}


def test_image_to_baseline_is_exact_for_a_linear_ramp():
    reference = grid((10, 8, 6))
    ramp = sitk.GetImageFromArray(points_mm(reference)[..., 0].astype(np.float32))  # value = x
    ramp.CopyInformation(reference)
    shift = sitk.TranslationTransform(3, (2.5, 0.0, 0.0))
    moved = sitk.GetArrayFromImage(image_to_baseline(ramp, shift, reference))
    expected = points_mm(reference)[..., 0] + 2.5
    inside = expected <= points_mm(reference)[..., 0].max()
    np.testing.assert_allclose(moved[inside], expected[inside], atol=1e-4)
    assert np.all(moved[~inside] == 0.0)  # outside the follow-up's field of view


# --- QC picture --------------------------------------------------------------------------------


def test_fuse_is_grey_where_the_scans_agree():
    a = np.array([[0.0, 0.5], [1.0, 0.2]])
    rgb = fuse(a, a)
    assert np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2])
    np.testing.assert_array_equal(fuse(a, np.zeros_like(a))[..., 1], a)  # baseline green


def test_registration_figure_shows_alignment_after_but_not_before(tmp_path):
    truth = true_transform(translation=(12.0, -8.0, 12.0))
    baseline, followup = scans("ct", truth)
    metrics = {
        "driver": "ct",
        "driver_reason": "both scans have CT",
        "transform": "affine",
        "metric": "mattes",
        "translation_mm": [12.0, -8.0, 12.0],
        "rotation_deg": [0, 0, 0],
        "scale_factors": [1, 1, 1],
        "ncc_before": 0.5,
        "ncc_after": 0.99,
        "body_centre_mm": [0.0, 0.0, 0.0],
        "problems": ["an example problem"],
    }
    path = tmp_path / "qc.png"
    fig = registration_figure(
        baseline,
        followup,
        truth,
        metrics,
        patient_id="P1",
        baseline_timepoint="basal",
        followup_timepoint="interim",
        path=path,
    )
    mismatch = {}
    for ax in fig.axes:
        for artist in ax.get_images():
            rgb = np.asarray(artist.get_array(), float)
            mismatch[artist.get_gid()] = np.abs(rgb[..., 0] - rgb[..., 1]).mean()
    for column in ("coronal", "axial", "mip"):
        assert mismatch[f"after:{column}"] < 0.2 * mismatch[f"before:{column}"], column
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "P1: interim registered to basal" in texts
    assert "Problem: an example problem" in texts
    with Image.open(path) as picture:
        assert picture.size[0] > 500
