"""One scan from DICOM to NIfTI with a CT, without one, and with an MR (PET/MR)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from netpet.errors import InputError
from netpet.steps.ingest import MR_IMAGE_STORAGE, ingest_sample


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """One tiny synthetic patient; its basal PET and CT in separate folders."""
    from netpet.synthetic import generate_cohort

    root = tmp_path_factory.mktemp("cohort")
    generate_cohort(root / "cohort", settings={"preset": "tiny", "n_patients": 1}, workers=1)
    pet, ct = root / "pet", root / "ct"
    for path in sorted((root / "cohort" / "dicom" / "NET001" / "basal").rglob("*")):
        if path.is_file():
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            folder = {"PT": pet, "CT": ct}.get(ds.Modality)
            if folder is not None and "LOCALIZER" not in list(ds.get("ImageType", [])):
                folder.mkdir(exist_ok=True)
                shutil.copy(path, folder / path.name)
    return root


def _ingest(root, tmp_path, **columns):
    header = ["patient_id", "timepoint", "pet_dicom", *columns]
    values = ["NET001", "basal", str(root / "pet"), *map(str, columns.values())]
    tmp_path.mkdir(parents=True, exist_ok=True)
    samples = tmp_path / "samples.tsv"
    samples.write_text("\t".join(header) + "\n" + "\t".join(values) + "\n")
    out = tmp_path / "out"
    ingest_sample(
        samples,
        "NET001",
        "basal",
        suv_type="bw",
        pet_suv_path=out / "pet_suv.nii.gz",
        anatomy_dir=out / "anatomy",
        provenance_path=out / "suv.json",
    )
    return out


def test_pet_ct(scan, tmp_path):
    out = _ingest(scan, tmp_path, ct_dicom=scan / "ct")
    anatomy = json.loads((out / "anatomy" / "anatomy.json").read_text())
    assert anatomy["modality"] == "ct"
    suv = sitk.ReadImage(str(out / "pet_suv.nii.gz"))
    ct_on_pet = sitk.ReadImage(str(out / "anatomy" / "ct_on_pet.nii.gz"))
    assert ct_on_pet.GetSize() == suv.GetSize()
    # Air outside the body, soft tissue at the centre of the body.
    hu = sitk.GetArrayFromImage(ct_on_pet)
    assert hu[0, 0, 0] < -900
    centre = tuple(n // 2 for n in hu.shape)
    assert -200 < hu[centre] < 200
    assert json.loads((out / "suv.json").read_text())["anatomy"] == "ct"


def test_pet_only(scan, tmp_path):
    out = _ingest(scan, tmp_path)
    anatomy = json.loads((out / "anatomy" / "anatomy.json").read_text())
    assert anatomy["modality"] is None and anatomy["files"] == []
    assert "PET only" in anatomy["note"]
    assert sorted(p.name for p in (out / "anatomy").iterdir()) == ["anatomy.json"]
    record = json.loads((out / "suv.json").read_text())
    assert record["anatomy"] is None and record["ct"] is None
    # The SUV is the same as with the CT.
    with_ct = _ingest(scan, tmp_path / "ct", ct_dicom=scan / "ct")
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(sitk.ReadImage(str(out / "pet_suv.nii.gz"))),
        sitk.GetArrayFromImage(sitk.ReadImage(str(with_ct / "pet_suv.nii.gz"))),
    )


def _as_mr(source, target, *, frame_of_reference=None, series_uid=None):
    """The CT series rewritten as an MR series (MR Image Storage) of the same session."""
    target.mkdir()
    for path in sorted(source.iterdir()):
        ds = pydicom.dcmread(path)
        ds.Modality = "MR"
        ds.SOPClassUID = MR_IMAGE_STORAGE
        ds.file_meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
        if frame_of_reference:
            ds.FrameOfReferenceUID = frame_of_reference
        if series_uid:
            ds.SeriesInstanceUID = series_uid
        ds.save_as(target / path.name)


def test_pet_mr(scan, tmp_path):
    _as_mr(scan / "ct", tmp_path / "mr")
    out = _ingest(scan, tmp_path, mr_dicom=tmp_path / "mr")
    anatomy = json.loads((out / "anatomy" / "anatomy.json").read_text())
    assert anatomy["modality"] == "mr" and anatomy["files"] == ["mr.nii.gz", "mr_on_pet.nii.gz"]
    mr = sitk.ReadImage(str(out / "anatomy" / "mr_on_pet.nii.gz"))
    assert mr.GetSize() == sitk.ReadImage(str(out / "pet_suv.nii.gz")).GetSize()
    # The stand-in MR holds the CT's values: the same image on the PET grid.
    with_ct = _ingest(scan, tmp_path / "ct", ct_dicom=scan / "ct")
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(mr),
        sitk.GetArrayFromImage(sitk.ReadImage(str(with_ct / "anatomy" / "ct_on_pet.nii.gz"))),
    )


def test_mr_of_another_frame_or_several_mr_are_named(scan, tmp_path):
    _as_mr(scan / "ct", tmp_path / "mr", frame_of_reference="1.2.3.4")
    with pytest.raises(InputError, match=r"no MR series .* shares the PET's FrameOfReferenceUID"):
        _ingest(scan, tmp_path, mr_dicom=tmp_path / "mr")
    _as_mr(scan / "ct", tmp_path / "mr2")
    _as_mr(scan / "ct", tmp_path / "mr2" / "water", series_uid="1.2.3.5")
    with pytest.raises(InputError, match=r"2 MR series share the PET's frame .* mr_series_uid"):
        _ingest(scan, tmp_path / "a", mr_dicom=tmp_path / "mr2")
    out = _ingest(scan, tmp_path / "b", mr_dicom=tmp_path / "mr2", mr_series_uid="1.2.3.5")
    assert json.loads((out / "anatomy" / "anatomy.json").read_text())["modality"] == "mr"
