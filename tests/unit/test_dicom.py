"""netpet.imaging.dicom on small synthetic series written to tmp_path, and a re-encoded IBSI DRO."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk
from pet_dicom_fixtures import (
    IDENTITY,
    ibsi_dro_root,
    pet_header,
    write_dicomdir_like,
    write_series,
)
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLSLossless,
    RLELossless,
)

from netpet.errors import InputError
from netpet.imaging import dicom

RNG_SEED = 20250301


def stored(shape=(4, 3, 5), seed=RNG_SEED):
    return np.random.default_rng(seed).integers(0, 3000, size=shape).astype(np.int16)


# --- finding series ----------------------------------------------------------------------


def test_groups_by_uid_across_folders_without_extensions_and_skips_other_files(tmp_path):
    pixels = stored()
    # One PET series split over two folders, files without extension, named in reverse.
    uid, paths = write_series(
        tmp_path / "a", pixels=pixels, header=pet_header(), name=lambda k: f"IM{9 - k}"
    )
    for path in paths[2:]:
        (tmp_path / "b" / "deep").mkdir(parents=True, exist_ok=True)
        shutil.move(path, tmp_path / "b" / "deep" / path.name)
    # A second series in folder a, a DICOMDIR, a text file and a raw (no preamble) DICOM file.
    ct_uid, _ = write_series(
        tmp_path / "a", pixels=stored((2, 3, 5)), modality="CT", name=lambda k: f"ct{k}"
    )
    raw_uid, _ = write_series(
        tmp_path / "c", pixels=stored((2, 3, 5)), modality="CT", preamble=False
    )
    write_dicomdir_like(tmp_path / "DICOMDIR")
    (tmp_path / "a" / "notes.txt").write_text("not DICOM\n")
    (tmp_path / "a" / "empty").write_bytes(b"")

    scan = dicom.scan_folders([tmp_path / "a", tmp_path / "b", tmp_path])
    by_uid = {s.uid: s for s in scan.series}
    assert set(by_uid) == {uid, ct_uid, raw_uid}
    assert by_uid[uid].n_files == 4 and len(by_uid[uid].folders) == 2
    assert scan.n_dicom_files == 8 and scan.n_dicomdir_files == 1 and scan.n_non_dicom_files == 2
    # Sorted along the normal (z here), not by file name.
    z = [pydicom.dcmread(p).ImagePositionPatient[2] for p in by_uid[uid].files]
    assert z == sorted(z) and len(z) == 4
    assert by_uid[uid].corrected_image == ("NORM", "ATTN", "SCAT", "DECY")
    assert by_uid[uid].header.InstanceNumber == 1
    assert dicom.find_series([tmp_path / "a", tmp_path / "b"])[0].uid in by_uid


def test_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        dicom.find_series([tmp_path / "nope"])


# --- PET/CT selection --------------------------------------------------------------------


def test_select_pet_prefers_attenuation_corrected(tmp_path):
    nac = pet_header()
    nac.CorrectedImage = ["NORM", "DECY"]
    write_series(tmp_path / "nac", pixels=stored(), header=nac, description="PET NAC")
    ac_uid, _ = write_series(
        tmp_path / "ac", pixels=stored(), header=pet_header(), description="PET AC"
    )
    found = dicom.find_series([tmp_path])
    assert dicom.select_pet(found, source="P01/basal").uid == ac_uid


def test_select_pet_without_ac_lists_the_pet_series(tmp_path):
    nac = pet_header()
    nac.CorrectedImage = ["NORM", "DECY"]
    write_series(tmp_path, pixels=stored(), header=nac, description="PET NAC")
    with pytest.raises(InputError, match=r"P01/basal: no attenuation-corrected PET(.|\n)*PET NAC"):
        dicom.select_pet(dicom.find_series([tmp_path]), source="P01/basal")


def test_select_pet_with_two_ac_series_needs_pet_series_uid(tmp_path):
    uid_a, _ = write_series(
        tmp_path / "a", pixels=stored(), header=pet_header(), description="AC one"
    )
    uid_b, _ = write_series(
        tmp_path / "b", pixels=stored(), header=pet_header(), description="AC two"
    )
    found = dicom.find_series([tmp_path])
    with pytest.raises(InputError, match=r"2 attenuation-corrected(.|\n)*pet_series_uid") as error:
        dicom.select_pet(found, source="P01/basal")
    assert uid_a in str(error.value) and uid_b in str(error.value)
    assert dicom.select_pet(found, source="P01/basal", series_uid=uid_b).uid == uid_b
    with pytest.raises(InputError, match="not among the series"):
        dicom.select_pet(found, source="P01/basal", series_uid="1.2.3")


def test_select_ct_same_frame_of_reference_most_slices_no_localizer(tmp_path):
    pet_uid, _ = write_series(tmp_path / "pet", pixels=stored(), header=pet_header())
    scout = {"ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER"]}
    write_series(tmp_path / "scout", pixels=stored((9, 3, 5)), modality="CT", extra=scout)
    small, _ = write_series(tmp_path / "ct1", pixels=stored((3, 3, 5)), modality="CT")
    big, _ = write_series(tmp_path / "ct2", pixels=stored((5, 3, 5)), modality="CT")
    other_frame, _ = write_series(
        tmp_path / "ct3", pixels=stored((7, 3, 5)), modality="CT", frame_uid="1.2.3.4"
    )
    found = dicom.find_series([tmp_path])
    pet = next(s for s in found if s.uid == pet_uid)
    assert dicom.select_ct(found, pet=pet).uid == big
    # Without a CT in the PET's frame of reference: the same study.
    rest = [s for s in found if s.uid not in (small, big)]
    assert dicom.select_ct(rest, pet=pet).uid == other_frame
    with pytest.raises(InputError, match="no CT series"):
        dicom.select_ct([pet], pet=pet, source="P01/basal")


# --- geometry -------------------------------------------------------------------------------


def _series(tmp_path, **kwargs):
    uid, _ = write_series(
        tmp_path, pixels=kwargs.pop("pixels", stored()), header=pet_header(), **kwargs
    )
    return next(s for s in dicom.find_series([tmp_path]) if s.uid == uid)


def test_duplicate_slice_position(tmp_path):
    info = _series(tmp_path, slice_positions=[0.0, 4.0, 4.0, 8.0], description="dup")
    with pytest.raises(InputError, match=r"'dup'.*duplicate slice position 34\.000") as error:
        dicom.check_geometry(info)
    assert info.uid in str(error.value)


def test_missing_slice(tmp_path):
    info = _series(tmp_path, slice_positions=[0.0, 4.0, 8.0, 16.0])
    with pytest.raises(InputError, match=r"missing slices.*38\.000-46\.000 mm"):
        dicom.check_geometry(info)


def test_small_irregularity_is_read_on_the_even_grid_with_its_error(tmp_path):
    # Slices 3 and 4 are 0.5 mm late: ITK's even grid (first to last) is 0, 4.125, ..., 16.5,
    # so the largest distance of a slice from it is |8 - 8.25| = 0.25 mm <= 10 % of 4.125 mm.
    pixels = stored((5, 3, 5))
    info = _series(tmp_path, pixels=pixels, slice_positions=[0.0, 4.0, 8.0, 12.5, 16.5])
    geometry = dicom.check_geometry(info)
    assert geometry.rule == "uniform" and not geometry.resampled and geometry.warning is None
    assert geometry.spacing[2] == pytest.approx(4.125)
    assert geometry.max_position_error_mm == pytest.approx(0.25)
    assert geometry.position_tolerance_mm == pytest.approx(0.4125)
    image, _ = dicom.read_pet_suv(info, source="P01/basal")
    # No interpolation: every slice is the file's own values.
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), pixels * 8e-4, rtol=1e-6)


def _ge_discovery_st_positions() -> list[float]:
    """267 slice positions of a GE Discovery ST whole-body PET (relative to the first, mm).

    Six beds of 47 slices at 3.27 mm, 3 overlapping the next bed; the steps at the five bed
    boundaries are 3.19, 3.29, 3.19, 3.29, 3.29 mm; positions rounded to 0.01 mm.
    """
    steps = []
    for bed, boundary in enumerate([None, 3.19, 3.29, 3.19, 3.29, 3.29]):
        if boundary is not None:
            steps.append(boundary)
        steps += [3.27] * (43 if bed else 46)
    return [round(v, 2) for v in np.concatenate([[0.0], np.cumsum(steps)])]


def test_ge_bed_boundary_steps_and_rounding_read_without_interpolation(tmp_path):
    positions = _ge_discovery_st_positions()
    assert len(positions) == 267 and np.median(np.diff(positions)) == pytest.approx(3.27)
    pixels = stored((267, 2, 3))
    info = _series(tmp_path, pixels=pixels, slice_positions=positions, slice_gap=3.27)
    image, _ = dicom.read_pet_suv(info, source="GE DST")
    geometry = dicom.check_geometry(info)
    # ITK's grid: (last - first) / 266; the error is the largest distance of a file's
    # position from that grid, computed here independently.
    spacing = (positions[-1] - positions[0]) / 266
    error = max(abs(p - (positions[0] + k * spacing)) for k, p in enumerate(positions))
    assert 0.05 < error < 0.1 * spacing
    assert geometry.rule == "uniform" and geometry.warning is None
    assert geometry.max_position_error_mm == pytest.approx(error, abs=1e-9)
    assert image.GetSpacing()[2] == pytest.approx(spacing, abs=1e-9)
    assert image.GetOrigin() == pytest.approx((-10.0, -20.0, 30.0))
    # SUV = stored x 8e-4 in every slice, in file order along z (within float32 rounding).
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), pixels * 8e-4, rtol=1e-6)


def test_bed_overlap_with_another_step_is_resampled_and_flagged(tmp_path):
    # 4 mm slices with a 2.5 mm overlap region; the median step stays 4 mm, no step > 6 mm.
    positions = [0.0, 4.0, 8.0, 10.5, 13.0, 16.0, 20.0, 24.0]
    # Activity: 100 + 50 z in slice k at z = positions[k] (stored, slope 0.5 -> Bq/mL).
    columns = np.array([1.0, 2.0, 3.0])
    pixels = np.array([(200 + 100 * z) * columns for z in positions]).reshape(8, 1, 3)
    info = _series(
        tmp_path, pixels=pixels.astype(np.int16), slice_positions=positions, slopes=[0.5] * 8
    )
    geometry = dicom.check_geometry(info)
    # Even grid 0..24 mm with 7 steps: 0, 3.4286, ...; slice at 8 mm is 1.143 mm off it.
    assert geometry.rule == "resampled_z_linear" and geometry.resampled
    assert geometry.max_position_error_mm == pytest.approx(abs(8.0 - 2 * 24 / 7))
    assert geometry.spacing[2] == pytest.approx(4.0) and geometry.size[2] == 7
    assert geometry.warning == (
        "PET slice positions deviate up to 1.143 mm from an even grid (tolerance 0.343 mm = "
        "10% of the 3.429 mm spacing; steps 2.500-4.000 mm): resampled along z by linear "
        "interpolation onto 7 slices at 4.000 mm"
    )
    image, _ = dicom.read_pet_suv(info, source="P01/basal")
    grid_z = 30.0 + 4.0 * np.arange(7)  # physical z of the output slices
    assert [image.TransformIndexToPhysicalPoint((0, 0, k))[2] for k in range(7)] == (
        pytest.approx(grid_z.tolist())
    )
    # Activity is linear in z, so interpolation in position gives it back exactly at the grid.
    expected = (100 + 50 * (grid_z - 30.0))[:, None, None] * columns * 8e-4
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), expected, rtol=1e-6)
    summary = dicom.scan_header_summary(info)
    assert summary["geometry"] == {
        "rule": "resampled_z_linear",
        "max_position_error_mm": pytest.approx(8.0 - 24 / 3.5, abs=1e-6),
        "position_tolerance_mm": pytest.approx(2.4 / 7, abs=1e-6),
        "resampled": True,
        "n_source_slices": 8,
        "n_slices": 7,
        "spacing_z_mm": 4.0,
        "duplicates_ignored": 0,
        "warning": geometry.warning,
    }
    assert summary["size_xyz"] == [3, 1, 7]
    assert dicom.geometry_warnings({"pet": summary, "ct": {"geometry": None}}) == [geometry.warning]


def test_interpolate_slices_hand_values():
    volume = np.array([0.0, 10.0, 40.0])[:, None, None] * np.ones((3, 1, 2))
    out = dicom.interpolate_slices(volume, [0.0, 1.0, 3.0], [0.0, 0.5, 1.5, 3.0])
    # 0.5: halfway 0-10; 1.5: a quarter of the way 10-40.
    np.testing.assert_allclose(out[:, 0, 0], [0.0, 5.0, 17.5, 40.0])
    assert out.dtype == np.float32 and out.shape == (4, 1, 2)


def test_ct_follows_the_same_rule(tmp_path):
    positions = [0.0, 5.0, 10.0, 12.5, 15.0, 20.0, 25.0]
    hu = np.array([10 * z for z in positions], dtype=np.int16)[:, None, None] * np.ones(
        (1, 2, 2), dtype=np.int16
    )
    write_series(
        tmp_path,
        pixels=hu + 1024,
        modality="CT",
        slice_positions=positions,
        intercepts=[-1024.0] * 7,
    )
    info = dicom.find_series([tmp_path])[0]
    ct = dicom.read_ct(info)
    assert ct.GetPixelID() == sitk.sitkFloat32 and ct.GetSize() == (2, 2, 6)
    np.testing.assert_allclose(
        sitk.GetArrayFromImage(ct)[:, 0, 0], 10 * 5.0 * np.arange(6), atol=1e-4
    )


def test_gantry_tilt_is_refused(tmp_path):
    def shift(ds, k):
        ds.ImagePositionPatient = [-10.0, -20.0 + 0.5 * k, 30.0 + 4.0 * k]

    info = _series(tmp_path, per_slice=shift)
    with pytest.raises(InputError, match=r"shifted in-plane.*slice_003\.dcm.*tilt"):
        dicom.check_geometry(info)


def test_identical_duplicate_is_ignored_with_a_warning(tmp_path):
    pixels = stored((3, 3, 5))
    _, paths = write_series(tmp_path, pixels=pixels, header=pet_header())
    shutil.copy(paths[1], tmp_path / "copy_of_slice_001.dcm")
    info = dicom.find_series([tmp_path])[0]
    assert info.n_files == 4
    image, prov = dicom.read_pet_suv(info, source="P01/basal")
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), pixels * 8e-4, rtol=1e-6)
    geometry = dicom.scan_header_summary(info, provenance=prov)["geometry"]
    assert geometry["duplicates_ignored"] == 1 and geometry["n_source_slices"] == 3
    assert geometry["warning"] == (
        "1 duplicate image(s) with identical content at the position of another image ignored"
    )


def test_missing_slice_is_refused_naming_the_skipped_files(tmp_path):
    _, paths = write_series(tmp_path, pixels=stored((5, 3, 5)), header=pet_header())
    data = paths[2].read_bytes()
    paths[2].write_bytes(data[:400])  # truncated: the header no longer reads
    (tmp_path / "README.txt").write_text("export notes\n")
    info = dicom.find_series([tmp_path])[0]
    with pytest.raises(InputError) as error:
        dicom.check_geometry(info)
    message = str(error.value)
    assert "missing slices" in message
    assert "34.000-42.000 mm (slice_001.dcm, slice_003.dcm)" in message
    skipped = "README.txt (not DICOM); slice_002.dcm (DICOM without SeriesInstanceUID)"
    assert f"2 non-DICOM/unreadable file(s) in the folder: {skipped}" in message
    assert message.endswith("one of them may be the missing slice; export the complete series")


def test_number_of_slices_fewer_and_more_files(tmp_path):
    # The last slice is missing: no gap, only NumberOfSlices tells.
    info = _series(tmp_path / "a", extra={"NumberOfSlices": 5}, description="short")
    with pytest.raises(InputError) as error:
        dicom.check_geometry(info)
    assert "'short'" in str(error.value) and info.uid in str(error.value)
    assert "NumberOfSlices (0054,0081) is 5 but 4 slices were found: 1 slice(s) missing" in str(
        error.value
    )
    info = _series(tmp_path / "b", extra={"NumberOfSlices": 3}, description="mixed")
    with pytest.raises(
        InputError,
        match=r"'mixed'.*4 slices but NumberOfSlices \(0054,0081\) "
        r"is 3: 1 image\(s\) too many.*mixed series",
    ):
        dicom.check_geometry(info)
    assert dicom.check_geometry(_series(tmp_path / "c", extra={"NumberOfSlices": 4})).size[2] == 4


def test_missing_rescale_slope_in_one_pet_slice_is_an_error(tmp_path):
    def drop(ds, k):
        if k == 2:
            del ds.RescaleSlope

    info = _series(tmp_path, per_slice=drop)
    with pytest.raises(InputError) as error:
        dicom.read_pet_suv(info, source="P01/basal")
    assert str(error.value).endswith(
        "RescaleSlope (0028,1053) is missing in 1 of 4 files: slice_002.dcm; it is Type 1 in "
        "the PET Image module (no default value), so these slices cannot be scaled: re-export "
        "the PET series"
    )
    info = _series(tmp_path / "all", per_slice=lambda ds, k: delattr(ds, "RescaleSlope"))
    with pytest.raises(InputError, match=r"missing in 4 of 4 files: slice_000\.dcm, slice_001"):
        dicom.read_pet_suv(info, source="P01/basal")


def test_ct_rescale_defaults_only_when_missing_in_every_file(tmp_path):
    def drop_all(ds, k):
        del ds.RescaleSlope
        del ds.RescaleIntercept

    hu = stored((3, 2, 2))
    write_series(tmp_path / "all", pixels=hu, modality="CT", per_slice=drop_all)
    ct = dicom.read_ct(dicom.find_series([tmp_path / "all"])[0])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ct), hu)

    def drop_one(ds, k):
        if k == 1:
            del ds.RescaleIntercept

    write_series(
        tmp_path / "one", pixels=hu, modality="CT", per_slice=drop_one, intercepts=[-1024.0] * 3
    )
    with pytest.raises(InputError) as error:
        dicom.read_ct(dicom.find_series([tmp_path / "one"])[0])
    assert "RescaleIntercept (0028,1052) is missing in 1 of 3 files (slice_001.dcm) but " in str(
        error.value
    )
    assert "present in the others, so the default 0 cannot be assumed" in str(error.value)


def test_unusable_rescale_slope_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(pydicom.config.settings, "reading_validation_mode", pydicom.config.IGNORE)

    def zero(ds, k):
        if k == 3:
            ds.RescaleSlope = "0"

    info = _series(tmp_path, per_slice=zero)
    with pytest.raises(InputError, match=r"slice_003\.dcm: RescaleSlope \(0028,1053\) = '0'"):
        dicom.read_pet_suv(info, source="P01/basal")


def test_mixed_orientation(tmp_path):
    def tilt(ds, k):
        if k == 2:
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]

    info = _series(tmp_path, per_slice=tilt)
    with pytest.raises(InputError, match=r"mixed ImageOrientationPatient \(0020,0037\)"):
        dicom.check_geometry(info)


def test_mixed_matrix_size(tmp_path):
    uid, _ = write_series(tmp_path, pixels=stored(), header=pet_header())
    write_series(
        tmp_path / "x",
        pixels=stored((1, 4, 5)),
        header=pet_header(),
        series_uid=uid,
        slice_positions=[12.0 + 4.0],
    )
    info = dicom.find_series([tmp_path])[0]
    with pytest.raises(InputError, match="rows differs"):
        dicom.check_geometry(info)


# --- reading images --------------------------------------------------------------------------


def test_read_pet_suv_values_and_oblique_geometry(tmp_path):
    # Oblique: rows run along (0, 1, 0), columns along (0, 0, -1); normal = (-1, 0, 0).
    orientation = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    pixels = stored()
    slopes = [0.5, 1.0, 2.0, 0.25]
    _, paths = write_series(
        tmp_path,
        pixels=pixels,
        header=pet_header(),
        orientation=orientation,
        slopes=slopes,
        intercepts=[1.0] * 4,
        name=lambda k: f"f{(k * 7) % 4}",  # file names unrelated to position
    )
    info = dicom.find_series([tmp_path])[0]
    image, prov = dicom.read_pet_suv(info, source="P01/basal")
    assert image.GetPixelID() == sitk.sitkFloat32
    assert image.GetSpacing() == pytest.approx((3.0, 2.0, 4.0))  # (column, row, slice)
    array = sitk.GetArrayFromImage(image)  # (z, y, x)
    # Independent check: every file's own position and values must appear at its voxels.
    for path in paths:
        ds = pydicom.dcmread(path)
        k = ds.InstanceNumber - 1
        expected = (pixels[k] * slopes[k] + 1.0) * 8e-4
        normal_index = None
        for z in range(array.shape[0]):
            point = image.TransformIndexToPhysicalPoint((0, 0, z))
            if np.allclose(point, ds.ImagePositionPatient, atol=1e-6):
                normal_index = z
        assert normal_index is not None
        np.testing.assert_allclose(array[normal_index], expected, rtol=1e-6)
        # Pixel (row 1, column 2) lies at IPP + 2 * colspacing * row_dir + 1 * rowspacing * col_dir.
        point = (
            np.asarray(ds.ImagePositionPatient)
            + 2 * 3.0 * np.array(orientation[:3])
            + 1 * 2.0 * np.array(orientation[3:])
        )
        assert image.TransformPhysicalPointToIndex(tuple(point)) == (2, 1, normal_index)
    assert prov.uptake_time_s == pytest.approx(4000.0)


def test_read_pet_suv_reads_each_file_once(tmp_path, monkeypatch):
    # Scan and read together parse each header once: the scan keeps the headers and where the
    # pixel data start, so reading the image parses no header again.
    write_series(tmp_path, pixels=stored(), header=pet_header())
    calls = []
    original = pydicom.dcmread

    def counting(path, *args, **kwargs):
        calls.append(str(getattr(path, "name", path)))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(dicom.pydicom, "dcmread", counting)
    info = dicom.find_series([tmp_path])[0]
    n_scan_calls = len(calls)
    image, _ = dicom.read_pet_suv(info, source="P01/basal")
    assert sorted(calls) == sorted(str(p) for p in info.files)
    assert n_scan_calls == len(calls) == 4
    # The values are those of the header-less reading: (stored * 1 + 0) * 8e-4 g/Bq.
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), stored() * 8e-4, rtol=1e-6)


# Hand-made stored values (2 x 3) and what pydicom's pixel_array means by them.
RAW_16 = [0xF001, 0x0FFF, 0x1234, 0x0000, 0xFFFF, 0x8000]


@pytest.mark.parametrize(
    ("bits_allocated", "bits_stored", "signed", "raw", "expected"),
    [
        # 12 of 16 bits stored: the 4 high bits are ignored (unsigned) ...
        (16, 12, 0, RAW_16, [1, 4095, 0x234, 0, 4095, 0]),
        # ... or ignored and the 12-bit value sign-extended (signed).
        (16, 12, 1, RAW_16, [1, -1, 0x234, 0, -1, 0]),
        (16, 16, 0, RAW_16, RAW_16),
        (16, 16, 1, RAW_16, [-4095, 4095, 0x1234, 0, -1, -32768]),
        (8, 8, 0, [0, 1, 255, 128, 7, 9], [0, 1, 255, 128, 7, 9]),
        (8, 8, 1, [0, 1, 255, 128, 7, 9], [0, 1, -1, -128, 7, 9]),
        (
            32,
            32,
            1,
            [2**31, 2**31 - 1, 2**32 - 1, 0, 5, 70000],
            [-(2**31), 2**31 - 1, -1, 0, 5, 70000],
        ),
    ],
    ids=["u12of16", "s12of16", "u16", "s16", "u8", "s8", "s32"],
)
@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_stored_pixels_read_from_the_file_as_pydicom_decodes_them(
    tmp_path, bits_allocated, bits_stored, signed, raw, expected, syntax
):
    dtype = np.dtype(f"<u{bits_allocated // 8}")

    def formats(ds, k):
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_allocated, bits_stored, bits_stored - 1
        ds.PixelRepresentation = signed
        ds.PixelData = np.asarray(raw, dtype=dtype).tobytes()

    _, (path,) = write_series(
        tmp_path, pixels=np.zeros((1, 2, 3), np.int16), modality="CT", per_slice=formats
    )
    if syntax == ImplicitVRLittleEndian:
        ds = pydicom.dcmread(path)
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(path, enforce_file_format=True)
    (header,) = dicom.find_series([tmp_path])[0].slices
    pixels = dicom._stored_pixels(header)
    assert pixels is not None, "uncompressed little endian is read without pydicom"
    reference = pydicom.dcmread(path).pixel_array
    assert pixels.dtype == reference.dtype
    np.testing.assert_array_equal(pixels, np.reshape(expected, (2, 3)))
    np.testing.assert_array_equal(pixels, reference)


def test_odd_length_8_bit_pixels_and_compressed_files_are_read(tmp_path):
    # 3 x 3 x 8 bits: 9 bytes padded to 10 in the file; the pad byte is not a pixel.
    def eight_bits(ds, k):
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation = 7, 0
        ds.PixelData = bytes(range(10 * k, 10 * k + 9)) + b"\x00"

    write_series(
        tmp_path / "odd", pixels=np.zeros((2, 3, 3), np.int16), modality="CT", per_slice=eight_bits
    )
    ct = dicom.read_ct(dicom.find_series([tmp_path / "odd"])[0])
    expected = np.array([np.arange(9).reshape(3, 3), 10 + np.arange(9).reshape(3, 3)])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ct), expected)
    # RLE: not read from the file directly; pydicom decodes it (the same values).
    _, paths = write_series(tmp_path / "rle", pixels=stored(), header=pet_header())
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)
        ds.save_as(path, enforce_file_format=True)
    info = dicom.find_series([tmp_path / "rle"])[0]
    assert dicom._stored_pixels(info.slices[0]) is None
    image, _ = dicom.read_pet_suv(info, source="rle")
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), stored() * 8e-4, rtol=1e-6)


def test_file_changed_after_the_scan_is_an_error(tmp_path):
    _, paths = write_series(tmp_path, pixels=stored(), header=pet_header())
    info = dicom.find_series([tmp_path])[0]
    stat = paths[2].stat()
    os.utime(paths[2], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(InputError, match=r"slice_002\.dcm: changed on disk since the folder scan"):
        dicom.read_pet_suv(info, source="P01/basal")


def test_ct_rescale_int16_only_when_every_slice_is_exact(tmp_path):
    # Unsigned stored values (33000 > int16) + intercept -1024: int16 HU.  One slice with slope
    # 0.5: float32 for all slices, the exact ones unchanged.
    hu_stored = np.array([[[0, 1024, 33000]], [[1, 2, 3]]], dtype=np.uint16)

    def unsigned(ds, k):
        ds.PixelRepresentation = 0
        ds.PixelData = hu_stored[k].tobytes()

    write_series(
        tmp_path / "int",
        pixels=np.zeros((2, 1, 3), np.int16),
        modality="CT",
        per_slice=unsigned,
        intercepts=[-1024.0, -1024.0],
    )
    ct = dicom.read_ct(dicom.find_series([tmp_path / "int"])[0])
    assert ct.GetPixelID() == sitk.sitkInt16
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(ct), [[[-1024, 0, 33000 - 1024]], [[-1023, -1022, -1021]]]
    )
    write_series(
        tmp_path / "float",
        pixels=np.zeros((2, 1, 3), np.int16),
        modality="CT",
        per_slice=unsigned,
        slopes=[1.0, 0.5],
        intercepts=[-1024.0, -1024.0],
    )
    ct = dicom.read_ct(dicom.find_series([tmp_path / "float"])[0])
    assert ct.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(ct), [[[-1024, 0, 33000 - 1024]], [[-1023.5, -1023, -1022.5]]]
    )
    # Stored 33000 with intercept 0 does not fit int16: float32.
    write_series(
        tmp_path / "wide", pixels=np.zeros((2, 1, 3), np.int16), modality="CT", per_slice=unsigned
    )
    ct = dicom.read_ct(dicom.find_series([tmp_path / "wide"])[0])
    assert ct.GetPixelID() == sitk.sitkFloat32
    assert sitk.GetArrayFromImage(ct)[0, 0, 2] == 33000


def test_read_pet_suv_applies_overrides_and_reports_missing_weight(tmp_path):
    header = pet_header(weight_kg=None)
    write_series(tmp_path, pixels=stored(), header=header)
    info = dicom.find_series([tmp_path])[0]
    with pytest.raises(InputError, match=r"P01/basal.*PatientWeight \(0010,1030\)"):
        dicom.read_pet_suv(info, source="P01/basal")
    image, prov = dicom.read_pet_suv(info, source="P01/basal", overrides={"weight_kg": 40.0})
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), stored() * 4e-4, rtol=1e-6)
    assert prov.overrides_applied == ["weight_kg"]


def test_read_ct_hounsfield_and_resample_to_pet(tmp_path):
    # CT: HU = stored - 1024 on a 1 mm grid; PET grid coarser and shifted, inside the CT.
    nz, ny, nx = 12, 10, 14
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    ct_stored = (1024 + 10 * x + 3 * y + 2 * z).astype(np.int16)
    write_series(
        tmp_path / "ct",
        pixels=ct_stored,
        modality="CT",
        origin=(0.0, 0.0, 0.0),
        pixel_spacing=(1.0, 1.0),
        slice_gap=1.0,
        intercepts=[-1024.0] * nz,
    )
    ct_info = next(s for s in dicom.find_series([tmp_path / "ct"]))
    ct = dicom.read_ct(ct_info)
    assert ct.GetPixelID() == sitk.sitkInt16
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ct), ct_stored.astype(int) - 1024)

    pet = sitk.Image(4, 3, 3, sitk.sitkFloat32)
    pet.SetOrigin((1.5, 2.5, 3.0))
    pet.SetSpacing((2.0, 2.0, 2.5))
    resampled = dicom.resample_to(ct, pet, interpolator="linear", default_value=-1000)
    assert resampled.GetPixelID() == sitk.sitkFloat32
    kk, jj, ii = np.meshgrid(np.arange(3), np.arange(3), np.arange(4), indexing="ij")
    px, py, pz = 1.5 + 2.0 * ii, 2.5 + 2.0 * jj, 3.0 + 2.5 * kk
    np.testing.assert_allclose(
        sitk.GetArrayFromImage(resampled), 10 * px + 3 * py + 2 * pz, rtol=1e-5
    )
    outside = sitk.Image(2, 2, 2, sitk.sitkFloat32)
    outside.SetOrigin((100.0, 100.0, 100.0))
    assert np.all(
        sitk.GetArrayFromImage(dicom.resample_to(ct, outside, default_value=-1000)) == -1000
    )
    labels = dicom.resample_to(sitk.Cast(ct > 0, sitk.sitkUInt8), pet, interpolator="nearest")
    assert labels.GetPixelID() == sitk.sitkUInt8


def test_scan_header_summary_has_no_identity(tmp_path):
    uid, _ = write_series(tmp_path, pixels=stored(), header=pet_header())
    info = dicom.find_series([tmp_path])[0]
    _, prov = dicom.read_pet_suv(info, source="P01/basal")
    summary = dicom.scan_header_summary(info, provenance=prov)
    text = json.dumps(summary)
    for value in IDENTITY.values():
        assert value not in text
    assert uid not in text and "2025" not in text
    assert summary["units"] == "BQML" and summary["uptake_time_s"] == pytest.approx(4000.0)
    assert summary["dose_bq"] == pytest.approx(200e6) and summary["weight_kg"] == 80.0


# --- compressed pixel data (a re-encoded IBSI DRO) -----------------------------------------


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless], ids=["rle", "jpeg-ls"])
def test_compressed_series_gives_the_same_suv(tmp_path, syntax):
    source = ibsi_dro_root() / "DRO_1_0" / "PT"
    if not source.is_dir():
        pytest.skip(f"IBSI SUV reference objects not found at {source.parent.parent}")
    for path in sorted(source.iterdir()):
        ds = pydicom.dcmread(path)
        ds.compress(syntax)
        ds.save_as(tmp_path / path.stem, enforce_file_format=True)
    plain = dicom.find_series([source])[0]
    packed = dicom.find_series([tmp_path])[0]
    assert packed.header.file_meta.TransferSyntaxUID == syntax
    image_plain, _ = dicom.read_pet_suv(plain, source="DRO_1_0")
    image_packed, _ = dicom.read_pet_suv(packed, source="DRO_1_0 compressed")
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(image_packed), sitk.GetArrayFromImage(image_plain)
    )
    assert sitk.GetArrayFromImage(image_packed).max() == pytest.approx(4.0, rel=1e-5)


# --- the synthetic cohort: every header variant gives back its truth SUV --------------------


@pytest.fixture(scope="module")
def tiny_cohort(tmp_path_factory):
    synthetic = pytest.importorskip("netpet.synthetic")
    generate_cohort = getattr(synthetic, "generate_cohort", None)
    if generate_cohort is None:
        generate_cohort = getattr(
            pytest.importorskip("netpet.synthetic.generate"), "generate_cohort", None
        )
    if generate_cohort is None:
        pytest.skip("netpet.synthetic.generate_cohort is not available yet")
    out = tmp_path_factory.mktemp("cohort")
    settings = {"preset": "tiny", "noise": False, "write_truth_suv": True}
    generate_cohort(out, settings=settings, workers=1)
    return out


def test_synthetic_cohort_truth_suv_for_every_header_variant(tiny_cohort):
    samples = pd.read_csv(tiny_cohort / "samples.tsv", sep="\t", dtype=str)
    scans = pd.read_csv(tiny_cohort / "truth" / "scans.tsv", sep="\t", dtype=str)
    variants = dict(
        zip(zip(scans.patient_id, scans.timepoint, strict=True), scans.header_variant, strict=True)
    )
    assert set(variants.values()) == {"siemens", "ge", "philips", "midnight", "time_only"}
    for row in samples.itertuples():
        source = f"{row.patient_id}/{row.timepoint}"
        variant = variants[(row.patient_id, row.timepoint)]
        pet = dicom.select_pet(dicom.find_series([Path(row.pet_dicom)]), source=source)
        image, provenance = dicom.read_pet_suv(pet, source=source)
        truth = sitk.ReadImage(
            str(tiny_cohort / "truth" / "suv" / row.patient_id / f"{row.timepoint}.nii.gz")
        )
        assert image.GetSize() == truth.GetSize()
        np.testing.assert_allclose(image.GetOrigin(), truth.GetOrigin(), atol=1e-3)
        np.testing.assert_allclose(image.GetSpacing(), truth.GetSpacing(), atol=1e-4)
        np.testing.assert_allclose(image.GetDirection(), truth.GetDirection(), atol=1e-6)
        got, want = sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(truth)
        # int16 storage with RescaleSlope = slice maximum / 32767: half a step of rounding.
        step = want.reshape(want.shape[0], -1).max(axis=1)[:, None, None] / 32767
        assert np.all(np.abs(got - want) <= 0.5 * step + 1e-5 * np.abs(want)), (source, variant)
        expected_source = {
            "ge": "GE private scan datetime (0009,100D)",
            "time_only": "RadiopharmaceuticalStartTime on scan date",
        }
        if variant == "ge":
            assert provenance.scan_reference_time_source == expected_source["ge"]
        if variant == "time_only":
            assert provenance.injection_time_source == expected_source["time_only"]
        if variant == "philips":
            assert provenance.units == "CNTS"
