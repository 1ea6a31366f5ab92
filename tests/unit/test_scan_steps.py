"""Per-scan steps of netpet.steps.scan that the other test files do not cover."""

import numpy as np
import SimpleITK as sitk


def _image(array, spacing=(4.0, 4.0, 4.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def test_qc_picture_shows_the_geometry_warning_of_suv_json(tmp_path, monkeypatch):
    import json

    from netpet.imaging import qc
    from netpet.steps.scan import qc_step

    suv = _image(np.ones((10, 12, 14), np.float32))
    sitk.WriteImage(suv, str(tmp_path / "suv.nii.gz"))
    labels = sitk.Image(suv.GetSize(), sitk.sitkUInt16)
    labels.CopyInformation(suv)
    sitk.WriteImage(labels, str(tmp_path / "labels.nii.gz"))
    (tmp_path / "liver.json").write_text(json.dumps({"available": False}))
    (tmp_path / "seg.json").write_text(json.dumps({"settings": {"method": "import"}}))
    warning = "PET slice positions deviate up to 1.143 mm from an even grid: resampled"
    record = {"pet": {"geometry": {"warning": warning}}, "ct": {"geometry": {"warning": None}}}
    (tmp_path / "suv.json").write_text(json.dumps(record))
    seen = {}
    monkeypatch.setattr(qc, "qc_figure", lambda *args, **kwargs: seen.update(kwargs))
    qc_step(
        patient_id="P1",
        timepoint="basal",
        pet_suv_path=tmp_path / "suv.nii.gz",
        labels_path=tmp_path / "labels.nii.gz",
        liver_json_path=tmp_path / "liver.json",
        liver_mask_path=tmp_path / "missing.nii.gz",
        segmentation_info_path=tmp_path / "seg.json",
        suv_max=10.0,
        out=tmp_path / "qc.png",
        suv_provenance_path=tmp_path / "suv.json",
    )
    assert seen["warnings"] == [warning]
