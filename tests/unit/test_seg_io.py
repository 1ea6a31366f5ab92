"""Tests of netpet.imaging.seg_io: label maps, RTSTRUCT (IBSI DRO), DICOM SEG round trip."""

import copy

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pet_dicom_fixtures import ibsi_dro_root

from netpet.errors import InputError
from netpet.imaging.seg_io import read_dicom_seg, read_label_map, read_rtstruct, write_dicom_seg

DRO = ibsi_dro_root() / "DRO_0_0"
SALT = "unit-test-salt-0123456789"
needs_dro = pytest.mark.skipif(not DRO.exists(), reason="IBSI SUV DRO not available")


def reference(size=(8, 4, 4), spacing=(4.0, 4.0, 4.0)):
    img = sitk.Image(size, sitk.sitkFloat32)
    img.SetSpacing(spacing)
    return img


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd"])
def test_read_label_map_resamples_to_pet_grid(tmp_path, suffix):
    fine = np.zeros((8, 8, 16), dtype=np.uint16)
    fine[:, :, 4:8] = 3
    img = sitk.GetImageFromArray(fine)
    img.SetSpacing((2.0, 2.0, 2.0))
    path = tmp_path / f"labels{suffix}"
    sitk.WriteImage(img, str(path))
    out = read_label_map(path, reference())
    assert out.GetSize() == (8, 4, 4) and out.GetPixelID() == sitk.sitkUInt16
    assert sitk.GetArrayFromImage(out)[0, 0].tolist() == [0, 0, 3, 3, 0, 0, 0, 0]


def test_read_label_map_rejects_fractional_and_disjoint(tmp_path):
    img = sitk.GetImageFromArray(np.full((4, 4, 8), 0.5, dtype=np.float32))
    img.SetSpacing((4.0, 4.0, 4.0))
    sitk.WriteImage(img, str(tmp_path / "prob.nii.gz"))
    with pytest.raises(InputError, match="non-integer"):
        read_label_map(tmp_path / "prob.nii.gz", reference())
    far = sitk.GetImageFromArray(np.ones((4, 4, 8), dtype=np.uint8))
    far.SetOrigin((1000.0, 0.0, 0.0))
    sitk.WriteImage(far, str(tmp_path / "far.nii.gz"))
    with pytest.raises(InputError, match="field of view"):
        read_label_map(tmp_path / "far.nii.gz", reference())


@needs_dro
def test_rtstruct_of_ibsi_dro_matches_its_mask():
    """The DRO's RTSTRUCT against its NIfTI mask.

    The RTSTRUCT has contours on slices 2-17 only (the mask covers 1-18), and its contours
    run about one voxel inside the mask edge (x: 69.1-186.9 voxels vs mask 68-188 on the
    central row); so: nothing outside the mask, Dice >= 0.96 on every contoured slice, and
    every voxel missed lies on the mask's edge ring (within 1.5 voxel of the outside).
    """
    mask_img = sitk.ReadImage(str(DRO / "mask" / "DRO_mask.nii.gz"))
    ref = sitk.Image(mask_img.GetSize(), sitk.sitkFloat32)
    ref.CopyInformation(mask_img)
    labels, names = read_rtstruct(next((DRO / "RS").iterdir()), ref)
    assert names == {1: "region_1"}
    got = sitk.GetArrayFromImage(labels) > 0
    mask = sitk.GetArrayFromImage(mask_img) > 0
    assert not (got & ~mask).any()
    assert np.nonzero(got.any(axis=(1, 2)))[0].tolist() == list(range(2, 18))
    for k in range(2, 18):
        dice = 2 * (got[k] & mask[k]).sum() / (got[k].sum() + mask[k].sum())
        assert dice >= 0.96
    from scipy import ndimage

    depth = ndimage.distance_transform_edt(mask[5])
    assert depth[mask[5] & ~got[5]].max() <= 1.5


@needs_dro
def test_rtstruct_unknown_roi_and_wrong_grid():
    rs = next((DRO / "RS").iterdir())
    ref = reference(size=(256, 256, 20))
    with pytest.raises(InputError, match="not found"):
        read_rtstruct(rs, ref, roi_names=["liver"])
    shifted = reference(size=(256, 256, 20))
    shifted.SetOrigin((0.0, 0.0, 2.0))  # contours fall between slices
    with pytest.raises(InputError, match="slice plane"):
        read_rtstruct(rs, shifted)


def _dro_pet():
    datasets = [pydicom.dcmread(p, stop_before_pixels=True) for p in (DRO / "PT").iterdir()]
    mask_img = sitk.ReadImage(str(DRO / "mask" / "DRO_mask.nii.gz"))
    ref = sitk.Image(mask_img.GetSize(), sitk.sitkFloat32)
    ref.CopyInformation(mask_img)
    labels = (sitk.GetArrayFromImage(mask_img) > 0).astype(np.uint16)
    labels[:, :, 128:] *= 2  # two lesions
    labels[10, 10, 10] = 3
    return datasets, ref, labels


IDENTITY = {
    "InstitutionName": "Secret General Hospital",
    "AccessionNumber": "ACC7654321",
    "OtherPatientIDs": "MRN99887766",
    "PerformingPhysicianName": "Doe^Jane",
}


@needs_dro
@pytest.mark.parametrize("seg_type", ["BINARY", "LABELMAP"])
def test_dicom_seg_round_trip_without_identity(tmp_path, seg_type):
    datasets, ref, labels = _dro_pet()
    identified = []
    for ds in datasets:
        ds = copy.deepcopy(ds)
        for keyword, value in IDENTITY.items():
            setattr(ds, keyword, value)
        identified.append(ds)
    label_img = sitk.GetImageFromArray(labels)
    label_img.CopyInformation(ref)
    path = tmp_path / "seg.dcm"
    uid_map = write_dicom_seg(
        label_img,
        identified[::-1],
        path,
        patient_id="NET01",
        uid_salt=SALT,
        segmentation_type=seg_type,
    )
    new_uid = dict(zip(uid_map.source_uid, uid_map.deidentified_uid, strict=True))
    back, names = read_dicom_seg(path, ref)
    assert np.array_equal(sitk.GetArrayFromImage(back), labels)
    assert names == {1: "lesion_1", 2: "lesion_2", 3: "lesion_3"}
    raw = path.read_bytes()
    source = datasets[0]
    secrets = [str(source.PatientName), str(source.PatientBirthDate)]
    secrets += [str(source.ReferringPhysicianName), *IDENTITY.values()]
    for secret in secrets:
        assert secret.encode() not in raw, secret
    seg = pydicom.dcmread(path)
    assert seg.PatientID == "NET01" and str(seg.PatientName) == "NET01^"
    assert seg.StudyInstanceUID == new_uid[source.StudyInstanceUID]
    referenced = {
        item.ReferencedSOPInstanceUID
        for series in seg.ReferencedSeriesSequence
        for item in series.ReferencedInstanceSequence
    }
    assert referenced == {new_uid[ds.SOPInstanceUID] for ds in datasets}
    for secret in new_uid:
        assert secret.encode() not in raw, secret


@needs_dro
def test_dicom_seg_rejects_gaps_and_wrong_series(tmp_path):
    datasets, ref, labels = _dro_pet()
    gappy = sitk.GetImageFromArray(np.where(labels == 2, 5, labels).astype(np.uint16))
    gappy.CopyInformation(ref)
    with pytest.raises(InputError, match="without gaps"):
        write_dicom_seg(gappy, datasets, tmp_path / "a.dcm", patient_id="NET01", uid_salt=SALT)
    ok = sitk.GetImageFromArray(labels)
    ok.CopyInformation(ref)
    with pytest.raises(InputError, match="slices"):
        write_dicom_seg(ok, datasets[:-1], tmp_path / "b.dcm", patient_id="NET01", uid_salt=SALT)
    assert not (tmp_path / "a.dcm").exists()
