"""Tests of the de-identified DICOM SEG export (netpet.imaging.seg_io.write_dicom_seg).

A tiny synthetic PET series (5 slices of 6 x 7 pixels) carries fake identities, dates,
institution, device and private tags; the SEG written from it must carry none of them, its
UIDs must be the documented keyed hashes of the source UIDs with consistent references, it
must be byte-identical across writes, and a scan without lesions must give a valid SEG.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid

import highdicom as hd
import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk
from pet_dicom_fixtures import IDENTITY, pet_header, write_series
from pydicom.uid import generate_uid

from netpet.errors import InputError
from netpet.imaging.seg_io import (
    NO_LESION_LABEL,
    deidentified_uid,
    read_dicom_seg,
    read_uid_salt,
    write_dicom_seg,
)

SALT = "unit-test-salt-0123456789"
PATIENT = "NET01"
SHAPE_ZYX = (5, 6, 7)

# Identifying or dated values added to every fixture slice on top of pet_dicom_fixtures'
# IDENTITY (names, MRN, birth date, accession, institution, physicians).
EXTRA_IDENTITY = {
    "StudyDate": "20250301",
    "StudyTime": "101112",
    "ContentDate": "20250302",
    "ContentTime": "121314",
    "InstanceCreationDate": "20250303",
    "InstanceCreationTime": "131415",
    "AcquisitionDateTime": "20250301110640",
    "PatientAge": "065Y",
    "PatientSize": 1.83,
    "OtherPatientIDs": "MRN-OTHER-4711",
    "StudyID": "STUDY-SECRET-42",
    "StudyDescription": "PET NET Secret Protocol",
    "InstitutionAddress": "1 Secret Road, Hidden Town",
    "StationName": "PETCT-SECRET-7",
    "DeviceSerialNumber": "SN-SECRET-424242",
    "OperatorsName": "OPERATOR^SECRET",
    "PositionReferenceIndicator": "SECRETREF",
}
SECRET_STRINGS = [
    *IDENTITY.values(),
    *(v for v in EXTRA_IDENTITY.values() if isinstance(v, str)),
    "SECRET",
    "PRIVATE-VALUE-SECRET",
]
SOURCE_DATES = ("20250301", "20250302", "20250303")


def _add_private(ds, k):
    ds.add_new(0x00090010, "LO", "SECRET CREATOR")
    ds.add_new(0x00091001, "LO", "PRIVATE-VALUE-SECRET")


@pytest.fixture
def pet(tmp_path):
    """Paths, headers and the SimpleITK reference grid of an identified synthetic PET."""
    header = pet_header(sex="F")
    _, paths = write_series(
        tmp_path / "pet",
        pixels=np.zeros(SHAPE_ZYX, dtype=np.int16),
        header=header,
        study_uid=generate_uid(),
        frame_uid=generate_uid(),
        extra=EXTRA_IDENTITY,
        per_slice=_add_private,
    )
    headers = [pydicom.dcmread(p) for p in paths]
    # Hand-built grid of write_series' defaults: origin (-10, -20, 30) mm, (row, column)
    # spacing (2, 3) mm, slices 4 mm apart along z.
    reference = sitk.Image(SHAPE_ZYX[::-1], sitk.sitkUInt16)
    reference.SetSpacing((3.0, 2.0, 4.0))
    reference.SetOrigin((-10.0, -20.0, 30.0))
    return paths, headers, reference


def _labels(reference, array_zyx):
    image = sitk.GetImageFromArray(np.asarray(array_zyx, dtype=np.uint16))
    image.CopyInformation(reference)
    return image


def _three_lesions():
    array = np.zeros(SHAPE_ZYX, dtype=np.uint16)
    array[1, 2:4, 2:5] = 1
    array[2, 2, 3] = 1
    array[3, 0, 0] = 2
    array[4, 5, 6] = 3
    return array


def _elements(dataset):
    """Every data element of ``dataset``, items of sequences included (depth first)."""
    for element in dataset:
        yield element
        if element.VR == "SQ":
            for item in element.value:
                yield from _elements(item)


def _values(element):
    if element.VR in ("SQ", "OB", "OW", "OF", "OD", "UN") or element.value is None:
        return []
    values = element.value if element.VM > 1 else [element.value]
    return [str(v) for v in values]


def _source_uids(headers):
    return {
        str(ds[k].value)
        for ds in headers
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "SOPInstanceUID")
    }


def test_deidentified_uid_is_a_version_8_uuid_of_the_keyed_hash():
    uid = deidentified_uid("1.2.3.4", SALT)
    assert uid.startswith("2.25.") and len(uid) <= 64
    value = int(uid.removeprefix("2.25."))
    as_uuid = uuid.UUID(int=value)
    assert as_uuid.version == 8 and as_uuid.variant == uuid.RFC_4122
    # Outside the version and variant bits, the value is HMAC-SHA256(salt, uid)[:16].
    digest = int.from_bytes(hmac.new(SALT.encode(), b"1.2.3.4", hashlib.sha256).digest()[:16])
    free_bits = ((1 << 128) - 1) ^ (0xF << 76) ^ (0x3 << 62)
    assert value & free_bits == digest & free_bits
    assert deidentified_uid("1.2.3.4", SALT) == uid
    assert deidentified_uid("1.2.3.5", SALT) != uid
    assert deidentified_uid("1.2.3.4", SALT + "x") != uid


def test_seg_holds_no_identity_no_source_date_no_source_uid(pet, tmp_path):
    paths, headers, reference = pet
    path = tmp_path / "seg.dcm"
    write_dicom_seg(
        _labels(reference, _three_lesions()), paths, path, patient_id=PATIENT, uid_salt=SALT
    )
    seg = pydicom.dcmread(path)
    source_uids = _source_uids(headers)
    assert len(source_uids) == 3 + len(paths)
    seen = set()
    for element in [*_elements(seg.file_meta), *_elements(seg)]:
        seen.add(element.keyword)
        assert not element.tag.is_private, element
        for value in _values(element):
            assert value not in source_uids, element
            if element.VR in ("DA", "TM", "DT"):
                # Type 2 dates empty, type 1 Content Date/Time the fixed dummy.
                assert value in ("", "19000101", "000000"), element
            if element.VR == "PN":
                assert value in ("", f"{PATIENT}^"), element
            for secret in SECRET_STRINGS:
                assert secret not in value, (element, secret)
    for keyword in ("PatientSex", "PatientBirthDate", "StudyDate", "StudyTime", "StudyID"):
        assert seg[keyword].value in ("", None), keyword  # type 2: present, empty
    for keyword in (
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "OtherPatientIDs",
        "InstitutionName",
        "InstitutionAddress",
        "StationName",
        "SeriesDate",
        "AcquisitionDateTime",
        "InstanceCreationDate",
        "InstanceCreationTime",
        "StudyDescription",
        "ContributionDateTime",
        "RadiopharmaceuticalInformationSequence",
    ):
        assert keyword not in seen, keyword
    # The only contributing equipment is the software that made the SEG.
    assert [e.ManufacturerModelName for e in seg.ContributingEquipmentSequence] == ["highdicom"]
    assert seg.PatientID == PATIENT
    assert seg.PatientIdentityRemoved == "YES"
    codes = [
        (c.CodeValue, c.CodingSchemeDesignator) for c in seg.DeidentificationMethodCodeSequence
    ]
    assert codes == [("113100", "DCM")]
    assert seg.LongitudinalTemporalInformationModified == "REMOVED"
    raw = path.read_bytes()
    for secret in [*SECRET_STRINGS, *source_uids, *SOURCE_DATES]:
        assert secret.encode() not in raw, secret


def test_seg_references_are_the_mapped_pet_uids(pet, tmp_path):
    paths, headers, reference = pet
    path = tmp_path / "seg.dcm"
    uid_map = write_dicom_seg(
        _labels(reference, _three_lesions()), paths, path, patient_id=PATIENT, uid_salt=SALT
    )
    assert list(uid_map.columns) == ["source_uid", "deidentified_uid", "kind"]
    first = headers[0]
    kinds = dict(zip(uid_map.source_uid, uid_map.kind, strict=True))
    assert kinds[first.StudyInstanceUID] == "study"
    assert kinds[first.SeriesInstanceUID] == "series"
    assert kinds[first.FrameOfReferenceUID] == "frame_of_reference"
    assert sorted(uid_map.source_uid[uid_map.kind == "sop_instance"]) == sorted(
        ds.SOPInstanceUID for ds in headers
    )
    new = dict(zip(uid_map.source_uid, uid_map.deidentified_uid, strict=True))
    assert new == {uid: deidentified_uid(uid, SALT) for uid in _source_uids(headers)}

    seg = pydicom.dcmread(path)
    assert seg.StudyInstanceUID == new[first.StudyInstanceUID]
    assert seg.FrameOfReferenceUID == new[first.FrameOfReferenceUID]
    (series,) = seg.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == new[first.SeriesInstanceUID]
    assert {i.ReferencedSOPInstanceUID for i in series.ReferencedInstanceSequence} == {
        new[ds.SOPInstanceUID] for ds in headers
    }
    own = {seg.SOPInstanceUID, seg.SeriesInstanceUID}
    assert not own & set(new.values()) and seg.SeriesInstanceUID != seg.SOPInstanceUID
    # Each frame references the mapped UID of the PET slice at the frame's position.
    by_position = {tuple(float(v) for v in ds.ImagePositionPatient): ds for ds in headers}
    frames_with_lesions = set()
    for frame in seg.PerFrameFunctionalGroupsSequence:
        position = tuple(float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient)
        source = frame.DerivationImageSequence[0].SourceImageSequence[0]
        assert source.ReferencedSOPInstanceUID == new[by_position[position].SOPInstanceUID]
        frames_with_lesions.add(by_position[position].InstanceNumber - 1)
    assert frames_with_lesions == {1, 2, 3, 4}  # empty slice 0 omitted


def test_seg_is_byte_identical_across_writes_and_input_order(pet, tmp_path):
    paths, _, reference = pet
    labels = _labels(reference, _three_lesions())
    for name, order in (("a.dcm", paths), ("b.dcm", paths[::-1])):
        write_dicom_seg(labels, order, tmp_path / name, patient_id=PATIENT, uid_salt=SALT)
    assert (tmp_path / "a.dcm").read_bytes() == (tmp_path / "b.dcm").read_bytes()
    # Another salt or another segmentation: other UIDs.
    write_dicom_seg(labels, paths, tmp_path / "c.dcm", patient_id=PATIENT, uid_salt=SALT + "2")
    changed = _three_lesions()
    changed[0, 0, 0] = 3
    write_dicom_seg(
        _labels(reference, changed), paths, tmp_path / "d.dcm", patient_id=PATIENT, uid_salt=SALT
    )
    a, c, d = (pydicom.dcmread(tmp_path / n) for n in ("a.dcm", "c.dcm", "d.dcm"))
    assert a.StudyInstanceUID != c.StudyInstanceUID and a.SOPInstanceUID != c.SOPInstanceUID
    assert a.StudyInstanceUID == d.StudyInstanceUID and a.SOPInstanceUID != d.SOPInstanceUID


@pytest.mark.parametrize("seg_type", ["BINARY", "LABELMAP"])
def test_round_trip_onto_the_pet_grid(pet, tmp_path, seg_type):
    paths, _, reference = pet
    path = tmp_path / "seg.dcm"
    labels = _three_lesions()
    write_dicom_seg(
        _labels(reference, labels),
        paths,
        path,
        patient_id=PATIENT,
        uid_salt=SALT,
        segmentation_type=seg_type,
        segment_names={2: "liver lesion"},
    )
    back, names = read_dicom_seg(path, reference)
    assert np.array_equal(sitk.GetArrayFromImage(back), labels)
    assert names == {1: "lesion_1", 2: "liver lesion", 3: "lesion_3"}


@pytest.mark.parametrize("seg_type", ["BINARY", "LABELMAP"])
def test_complete_response_gives_a_valid_seg_with_one_empty_segment(pet, tmp_path, seg_type):
    paths, _, reference = pet
    path = tmp_path / "seg.dcm"
    empty = np.zeros(SHAPE_ZYX, dtype=np.uint16)
    write_dicom_seg(
        _labels(reference, empty),
        paths,
        path,
        patient_id=PATIENT,
        uid_salt=SALT,
        segmentation_type=seg_type,
    )
    ds = pydicom.dcmread(path)
    assert ds.Modality == "SEG" and ds.SegmentationType == seg_type
    assert int(ds.NumberOfFrames) == SHAPE_ZYX[0]  # every frame, all zero
    # (a label map also describes its background, segment 0)
    described = {int(s.SegmentNumber): s.SegmentLabel for s in ds.SegmentSequence}
    assert {n: label for n, label in described.items() if n > 0} == {1: NO_LESION_LABEL}
    assert ds.pixel_array.shape == SHAPE_ZYX[:1] + SHAPE_ZYX[1:] and not ds.pixel_array.any()
    seg = hd.seg.segread(path)
    assert list(seg.get_segment_numbers()) == [1]
    back, names = read_dicom_seg(path, reference)
    assert not sitk.GetArrayViewFromImage(back).any()
    assert names == {1: NO_LESION_LABEL}


def test_reader_accepts_a_seg_referencing_the_real_pet_uids(pet, tmp_path):
    """A SEG from another tool (here highdicom directly) keeps the source UIDs."""
    from pydicom.sr.codedict import codes

    _, headers, reference = pet
    labels = _three_lesions()
    description = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=f"roi{n}",
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for n in (1, 2, 3)
    ]
    seg = hd.seg.Segmentation(
        source_images=headers,
        pixel_array=labels,
        segmentation_type="BINARY",
        segment_descriptions=description,
        series_instance_uid=hd.UID(),
        series_number=5,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="other",
        manufacturer_model_name="other",
        software_versions="1",
        device_serial_number="1",
    )
    seg.save_as(tmp_path / "other.dcm")
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == headers[0].SeriesInstanceUID
    back, names = read_dicom_seg(tmp_path / "other.dcm", reference)
    assert np.array_equal(sitk.GetArrayFromImage(back), labels)
    assert names == {1: "roi1", 2: "roi2", 3: "roi3"}


def test_short_salt_refused(pet, tmp_path):
    paths, _, reference = pet
    with pytest.raises(InputError, match="at least 16 characters"):
        write_dicom_seg(
            _labels(reference, _three_lesions()),
            paths,
            tmp_path / "seg.dcm",
            patient_id=PATIENT,
            uid_salt="short",
        )
    (tmp_path / "salt.txt").write_text("tooshort\n")
    with pytest.raises(InputError, match=r"salt\.txt"):
        read_uid_salt(tmp_path / "salt.txt")
    assert not (tmp_path / "seg.dcm").exists()


def test_scan_step_writes_seg_and_uid_map_and_names_the_scan(pet, tmp_path):
    from netpet.steps.scan import _write_dicom_seg

    _, headers, reference = pet
    salt_path = tmp_path / "private" / "uid_salt.txt"
    salt_path.parent.mkdir()
    salt_path.write_text(SALT + "\n")
    from netpet.imaging.seg_io import source_slice_record

    positions = sorted(float(h.ImagePositionPatient[2]) for h in headers)
    row = tmp_path / "private" / "pet_slices.json"  # what the conversion records
    geometry = {"resampled": False, "positions_mm": positions, "max_position_error_mm": 0.0}
    row.write_text(json.dumps({"geometry": geometry, "slices": source_slice_record(headers)}))
    out, map_out = tmp_path / "results" / "lesions_seg.dcm", tmp_path / "private" / "uids.tsv"
    returned = _write_dicom_seg(
        _labels(reference, np.zeros(SHAPE_ZYX, dtype=np.uint16)),
        row,
        out,
        patient_id=PATIENT,
        scan="NET01/interim",
        method='{"method": "fixed"}',
        segmentation_type="BINARY",
        uid_salt_path=salt_path,
        uid_map_out=map_out,
    )
    written = pd.read_csv(map_out, sep="\t", dtype=str)
    assert written.equals(returned.astype(str))
    assert set(written.source_uid) == _source_uids(headers)
    seg = pydicom.dcmread(out)
    assert seg.StudyInstanceUID == deidentified_uid(headers[0].StudyInstanceUID, SALT)
    wrong_grid = sitk.Image((7, 6, 4), sitk.sitkUInt16)
    with pytest.raises(InputError, match=r"^scan NET01/interim: .*4"):
        _write_dicom_seg(
            wrong_grid,
            row,
            tmp_path / "results" / "other.dcm",
            patient_id=PATIENT,
            scan="NET01/interim",
            method="",
            segmentation_type="BINARY",
            uid_salt_path=salt_path,
        )
    with pytest.raises(InputError, match=r"^scan NET01/interim: .*missing.txt"):
        _write_dicom_seg(
            _labels(reference, _three_lesions()),
            row,
            tmp_path / "results" / "other.dcm",
            patient_id=PATIENT,
            scan="NET01/interim",
            method="",
            segmentation_type="BINARY",
            uid_salt_path=tmp_path / "missing.txt",
        )
    assert not (tmp_path / "results" / "other.dcm").exists()


def test_export_guard_refuses_a_source_uid_or_a_clock_date(pet, tmp_path):
    """The last check before writing catches what a future highdicom might copy or add."""
    from netpet.imaging.seg_io import _check_export

    paths, headers, reference = pet
    path = tmp_path / "seg.dcm"
    write_dicom_seg(
        _labels(reference, _three_lesions()), paths, path, patient_id=PATIENT, uid_salt=SALT
    )
    seg = pydicom.dcmread(path)
    ours = {
        seg.SOPInstanceUID,
        seg.SeriesInstanceUID,
        seg.SOPClassUID,
        seg.DimensionOrganizationSequence[0].DimensionOrganizationUID,
        *(deidentified_uid(uid, SALT) for uid in _source_uids(headers)),
    }
    _check_export(seg, ours)  # as written: passes
    leaked = copy.deepcopy(seg)
    leaked.ReferencedSeriesSequence[0].SeriesInstanceUID = headers[0].SeriesInstanceUID
    with pytest.raises(RuntimeError, match="SeriesInstanceUID"):
        _check_export(leaked, ours)
    dated = copy.deepcopy(seg)
    dated.ContributingEquipmentSequence[0].ContributionDateTime = "20250301101112"
    with pytest.raises(RuntimeError, match="ContributionDateTime"):
        _check_export(dated, ours)
