"""Tests of netpet.imaging.totalsegmentator: TotalSegmentator's output mapped to netpet's labels.

No PyTorch and no weights here: a stand-in ``TotalSegmentator`` executable (a small Python
script, FAKE_SCRIPT) "segments" a phantom whose CT value encodes the organ and writes its
result in TotalSegmentator's own formats: the multi-label file with the task's numbering and
its label table in a NIfTI extension (``--ml``), or one binary file per class.
"""

import json
import os
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

from netpet import labels
from netpet.config import validate_config
from netpet.errors import InputError
from netpet.imaging.totalsegmentator import (
    CLASS_MAP_VERSION,
    CLASS_MAPS,
    TotalSegmentatorSettings,
    TotalSegmentatorUnavailable,
    build_command,
    check_weights,
    find_executable,
    netpet_numbers,
    nifti_label_table,
    organs_not_in_task,
    read_class_folder,
    read_multilabel,
    resolve_weights_dir,
    roi_subset_names,
    segment_organs,
    totalsegmentator_step,
)

ROOT = Path(__file__).resolve().parents[2]

# Class numbers copied by hand from totalsegmentator/map_to_binary.py of TotalSegmentator
# 2.18.0 (class_map["total"], class_map["total_mr"]) for the classes of the phantoms.
TS_TOTAL = {
    "spleen": 1, "kidney_right": 2, "kidney_left": 3, "gallbladder": 4, "liver": 5,
    "stomach": 6, "pancreas": 7, "adrenal_gland_right": 8, "adrenal_gland_left": 9,
    "lung_upper_lobe_left": 10, "lung_lower_lobe_right": 14, "thyroid_gland": 17,
    "small_bowel": 18, "duodenum": 19, "colon": 20, "urinary_bladder": 21, "sacrum": 25,
    "vertebrae_L1": 31, "vertebrae_T12": 32, "heart": 51, "aorta": 52, "spinal_cord": 79,
    "rib_left_1": 92,
}  # fmt: skip
TS_MR = {
    "spleen": 1, "kidney_right": 2, "kidney_left": 3, "gallbladder": 4, "liver": 5,
    "stomach": 6, "pancreas": 7, "adrenal_gland_right": 8, "adrenal_gland_left": 9,
    "lung_left": 10, "lung_right": 11, "small_bowel": 13, "duodenum": 14, "colon": 15,
    "urinary_bladder": 16, "sacrum": 18, "vertebrae": 19, "spinal_cord": 21, "heart": 22,
    "aorta": 23,
}  # fmt: skip
# What each phantom class must become in netpet's numbering (0: not a netpet organ).
EXPECTED = {
    "spleen": labels.SPLEEN,
    "kidney_right": labels.KIDNEY_RIGHT,
    "kidney_left": labels.KIDNEY_LEFT,
    "gallbladder": labels.GALLBLADDER,
    "liver": labels.LIVER,
    "stomach": labels.STOMACH,
    "pancreas": labels.PANCREAS,
    "adrenal_gland_right": labels.ADRENAL_RIGHT,
    "adrenal_gland_left": labels.ADRENAL_LEFT,
    "lung_upper_lobe_left": labels.LUNG_UPPER_LEFT,
    "lung_lower_lobe_right": labels.LUNG_LOWER_RIGHT,
    "thyroid_gland": labels.THYROID,
    "small_bowel": labels.SMALL_BOWEL,
    "duodenum": labels.DUODENUM,
    "colon": labels.COLON,
    "urinary_bladder": labels.URINARY_BLADDER,
    "sacrum": labels.SACRUM,
    "vertebrae_L1": labels.VERTEBRAE_L1,
    "vertebrae_T12": 32,
    "heart": labels.HEART,
    "aorta": labels.AORTA,
    # Not netpet organs (MR: whole lungs and all vertebrae as one class).
    "spinal_cord": 0,
    "rib_left_1": 0,
    "lung_left": 0,
    "lung_right": 0,
    "vertebrae": 0,
}
PHANTOM_CLASSES = {"total": list(TS_TOTAL), "total_mr": list(TS_MR)}

FAKE_SCRIPT = '''#!{python}
"""Stand-in for TotalSegmentator: organ = CT value lookup; TotalSegmentator's output formats."""
import json
import os
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np

args = sys.argv[1:]
spec = json.loads(Path(os.environ["FAKE_TOTALSEG_SPEC"]).read_text())
home = Path(os.environ.get("TOTALSEG_HOME_DIR", "/nonexistent"))
call = {{
    "argv": args,
    "env": {{k: os.environ.get(k) for k in ("TOTALSEG_WEIGHTS_PATH", "nnUNet_def_n_proc")}},
    "home_config": json.loads((home / "config.json").read_text())
    if (home / "config.json").is_file() else None,
}}
with open(spec["calls"], "a") as handle:
    handle.write(json.dumps(call) + "\\n")
if args == ["--version"]:
    print(spec.get("version", "2.18.0"))
    sys.exit(0)
print("If you use this tool please cite: ...")
if spec.get("fail"):
    print("RuntimeError: CPU out of memory", file=sys.stderr)
    sys.exit(3)
time.sleep(spec.get("sleep_s", 0))


def value(flag):
    return args[args.index(flag) + 1]


task = value("--task")
numbering = spec["numbering"][task]
roi = None
if "--roi_subset" in args:
    rest = args[args.index("--roi_subset") + 1:]
    roi = [a for a in rest[: next((i for i, a in enumerate(rest) if a.startswith("-")), None)]]
names = [n for n in numbering if roi is None or n in roi]
image = nib.load(value("-i"))
data = np.asarray(image.dataobj)
masks = {{name: data == int(v) for v, name in spec["value_to_class"][task].items()}}
header = image.header.copy()
header.set_data_dtype(np.uint8)
out = Path(value("-o"))
if "--ml" in args:
    ml = np.zeros(data.shape, dtype=np.uint8)
    for name in names:
        if name in masks:
            ml[masks[name]] = numbering[name]
    img = nib.Nifti1Image(ml, image.affine, header)
    if spec.get("label_table", True):
        rows = "".join(
            f'<Label Key="{{numbering[n]}}" Red="1" Green="0" Blue="0" Alpha="1">'
            f"<![CDATA[{{n}}]]></Label>\\n"
            for n in names
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?> <CaretExtension>  <Date><![CDATA['
            "2013-07-14T05:45:09]]></Date>   <VolumeInformation Index=\\"0\\">   <LabelTable>\\n"
            + rows
            + "\\n  </LabelTable>  <StudyMetaDataLinkSet>  </StudyMetaDataLinkSet>  "
            "<VolumeType><![CDATA[Label]]></VolumeType>   </VolumeInformation></CaretExtension>"
            "\\n              "
        )
        img.header.extensions.append(nib.nifti1.Nifti1Extension(0, xml.encode()))
    nib.save(img, out)
else:
    out.mkdir(parents=True)
    empty = np.zeros(data.shape, dtype=bool)
    for name in names:
        mask = masks.get(name, empty).astype(np.uint8)
        nib.save(nib.Nifti1Image(mask, image.affine, header), out / f"{{name}}.nii.gz")
'''

SHAPE_ZYX = (6, 9, 11)
SPACING = (1.5, 2.0, 3.0)
ORIGIN = (-20.0, 35.5, -100.0)
DIRECTION = (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)
VOXEL_ML = 1.5 * 2.0 * 3.0 / 1000.0


def _value(k):
    """Image value that encodes phantom class k (1-based; int or array); background is -1000."""
    return 100 + 7 * k


@pytest.fixture
def phantom(tmp_path):
    """Writes the phantom images; returns a function task -> (image path, class index)."""

    def make(task):
        names = PHANTOM_CLASSES[task]
        index = np.random.default_rng(20240607).integers(0, len(names) + 1, SHAPE_ZYX)
        values = np.where(index > 0, _value(index), -1000).astype(np.int16)
        image = sitk.GetImageFromArray(values)
        image.SetSpacing(SPACING)
        image.SetOrigin(ORIGIN)
        image.SetDirection(DIRECTION)
        path = tmp_path / f"{'ct' if task == 'total' else 'mr'}.nii.gz"
        sitk.WriteImage(image, str(path))
        return path, index

    return make


def _expected(task, index):
    lookup = np.array([0] + [EXPECTED[name] for name in PHANTOM_CLASSES[task]])
    return lookup[index]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """The stand-in executable in its own folder, and a function writing its spec."""
    folder = tmp_path / "fakebin"
    folder.mkdir()
    executable = folder / "TotalSegmentator"
    executable.write_text(FAKE_SCRIPT.format(python=sys.executable))
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    calls = tmp_path / "calls.jsonl"
    calls.touch()

    def configure(**spec):
        full = {
            "calls": str(calls),
            "numbering": {
                task: {name: number for number, name in CLASS_MAPS[task].items()}
                for task in CLASS_MAPS
            },
            "value_to_class": {
                task: {str(_value(k)): name for k, name in enumerate(names, start=1)}
                for task, names in PHANTOM_CLASSES.items()
            },
            **spec,
        }
        path = tmp_path / "fake_spec.json"
        path.write_text(json.dumps(full))
        monkeypatch.setenv("FAKE_TOTALSEG_SPEC", str(path))
        return full

    def logged():
        return [json.loads(line) for line in calls.read_text().splitlines()]

    configure()
    return executable, configure, logged


@pytest.fixture
def weights(tmp_path):
    """A weights folder whose 3 mm CT and MR models look complete."""
    root = tmp_path / "weights"
    for dataset in (
        "Dataset297_TotalSegmentator_total_3mm_1559subj",
        "Dataset852_TotalSegMRI_total_3mm_1088subj",
    ):
        fold = root / dataset / "nnUNetTrainer__nnUNetPlans__3d_fullres" / "fold_0"
        fold.mkdir(parents=True)
        (fold / "checkpoint_final.pth").write_bytes(b"")
    return root


def _run_fake(executable, image, out, task, *extra):
    command = [str(executable), "-i", str(image), "-o", str(out), "--task", task, *extra]
    subprocess.run(command, check=True, capture_output=True)


def _reference(path):
    return sitk.ReadImage(str(path))


# --- class maps and mapping by name ------------------------------------------------------------


def test_class_maps_have_totalsegmentator_numbers():
    assert len(CLASS_MAPS["total"]) == 117
    assert len(CLASS_MAPS["total_mr"]) == 50
    for task, table in (("total", TS_TOTAL), ("total_mr", TS_MR)):
        for name, number in table.items():
            assert CLASS_MAPS[task][number] == name, (task, name)


def test_mapping_is_by_name_not_number():
    mr = netpet_numbers("total_mr")
    # total_mr numbers the bladder 16; netpet (and task total) 21.
    assert mr["urinary_bladder"] == labels.URINARY_BLADDER == 21
    assert mr["heart"] == labels.HEART == 51
    assert "lung_left" not in mr and "vertebrae" not in mr
    total = netpet_numbers("total")
    assert all(total[name] == number for name, number in TS_TOTAL.items() if name in total)
    assert set(total) == set(labels.NAMES.values()) - {"pituitary"}


def test_organs_each_task_lacks():
    assert organs_not_in_task("total") == ["pituitary"]
    vertebrae = [f"vertebrae_{v}" for v in ["S1", "L5", "L4", "L3", "L2", "L1"]]
    vertebrae += [f"vertebrae_T{i}" for i in range(12, 0, -1)]
    vertebrae += [f"vertebrae_C{i}" for i in range(7, 0, -1)]
    lobes = [
        "lung_upper_lobe_left",
        "lung_lower_lobe_left",
        "lung_upper_lobe_right",
        "lung_middle_lobe_right",
        "lung_lower_lobe_right",
    ]
    assert organs_not_in_task("total_mr") == [*lobes, "thyroid_gland", *vertebrae, "pituitary"]


def test_roi_subset_names_in_task_order():
    assert roi_subset_names("total_mr") == [
        "spleen", "kidney_right", "kidney_left", "gallbladder", "liver", "stomach", "pancreas",
        "adrenal_gland_right", "adrenal_gland_left", "small_bowel", "duodenum", "colon",
        "urinary_bladder", "sacrum", "heart", "aorta",
    ]  # fmt: skip
    total = roi_subset_names("total")
    assert len(total) == 47
    assert total[:3] == ["spleen", "kidney_right", "kidney_left"]
    assert total[-2:] == ["heart", "aorta"]


# --- configuration and command line --------------------------------------------------------


def _config_section(drop=False):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if drop:
        del config["organs"]["totalsegmentator"]
    return validate_config(config)["organs"]["totalsegmentator"]


def test_config_values_equal_schema_defaults():
    assert _config_section() == _config_section(drop=True)
    settings = TotalSegmentatorSettings.from_dict(_config_section())
    assert settings == TotalSegmentatorSettings()


def test_unknown_or_bad_setting_is_named():
    with pytest.raises(InputError, match=r"unknown key\(s\) \['fastt'\]"):
        TotalSegmentatorSettings.from_dict({"fastt": True})
    with pytest.raises(InputError, match=r"device: 'cuda' is not cpu, gpu, gpu:N or mps"):
        TotalSegmentatorSettings.from_dict({"device": "cuda"})


def test_command_line_from_config():
    settings = TotalSegmentatorSettings.from_dict(_config_section())
    command = build_command(
        "/opt/ts/TotalSegmentator", "/d/ct.nii.gz", "/t/seg.nii.gz", task="total",
        settings=settings, threads=2,
    )  # fmt: skip
    assert command == [
        "/opt/ts/TotalSegmentator", "-i", "/d/ct.nii.gz", "-o", "/t/seg.nii.gz",
        "--task", "total", "--device", "cpu", "--nr_thr_resamp", "2", "--nr_thr_saving", "2",
        "--fast", "--ml",
    ]  # fmt: skip


def test_command_line_mr_full_resolution_roi_subset():
    settings = TotalSegmentatorSettings(
        fast=False, roi_subset=True, multilabel=False, device="gpu:1"
    )
    command = build_command(
        "TotalSegmentator", "mr.nii.gz", "seg", task="total_mr", settings=settings, threads=4
    )
    assert command == [
        "TotalSegmentator", "-i", "mr.nii.gz", "-o", "seg", "--task", "total_mr",
        "--device", "gpu:1", "--nr_thr_resamp", "4", "--nr_thr_saving", "4",
        "--roi_subset", *roi_subset_names("total_mr"),
    ]  # fmt: skip


def test_pyproject_pins_the_class_map_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["totalsegmentator"]
    assert f"TotalSegmentator=={CLASS_MAP_VERSION}" in extra
    assert all("==" in requirement for requirement in extra)


# --- not installed, no weights ----------------------------------------------------------------


def test_missing_install_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TotalSegmentatorUnavailable) as error:
        find_executable("TotalSegmentator", beside=tmp_path, scan="P001/basal")
    message = str(error.value)
    assert message.startswith("scan P001/basal: TotalSegmentator is not installed")
    for part in ("make totalsegmentator", "organs.totalsegmentator.executable", "organ_labels"):
        assert part in message
    with pytest.raises(TotalSegmentatorUnavailable, match="is not an executable file"):
        find_executable(str(tmp_path / "bin" / "TotalSegmentator"))
    assert isinstance(error.value, InputError)


def test_executable_found_beside_python(tmp_path, monkeypatch, fake):
    executable, _, _ = fake
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_executable("TotalSegmentator", beside=executable.parent) == executable


def test_missing_weights_names_folders_and_fixes(tmp_path):
    empty = tmp_path / "w"
    (empty / "Dataset297_TotalSegmentator_total_3mm_1559subj").mkdir(parents=True)  # no .pth
    settings = TotalSegmentatorSettings(roi_subset=True)
    with pytest.raises(TotalSegmentatorUnavailable) as error:
        check_weights(empty, "config organs.totalsegmentator.weights_dir", task="total",
                      settings=settings)  # fmt: skip
    message = str(error.value)
    assert (
        "missing in " + str(empty) + " (config organs.totalsegmentator.weights_dir): "
        "Dataset297_TotalSegmentator_total_3mm_1559subj, "
        "Dataset298_TotalSegmentator_total_6mm_1559subj." in message
    )
    assert f"`TOTALSEG_WEIGHTS_PATH={empty} totalseg_download_weights -t total_fast`" in message
    for part in ("weights_dir", "TOTALSEG_WEIGHTS_PATH environment variable", "organ_labels"):
        assert part in message


def test_weights_needed_by_mr_full_resolution(tmp_path):
    settings = TotalSegmentatorSettings(fast=False, roi_subset=True)
    with pytest.raises(TotalSegmentatorUnavailable) as error:
        check_weights(tmp_path, "here", task="total_mr", settings=settings)
    message = str(error.value)
    assert (
        "Dataset850_TotalSegMRI_part1_organs_1088subj, Dataset851_TotalSegMRI_part2_muscles_"
        "1088subj, Dataset852_TotalSegMRI_total_3mm_1088subj." in message
    )
    assert "-t total_fast_mr` and `TOTALSEG_WEIGHTS_PATH=" in message


def test_complete_weights_pass(weights):
    check_weights(weights, "here", task="total", settings=TotalSegmentatorSettings())
    check_weights(weights, "here", task="total_mr", settings=TotalSegmentatorSettings())


def test_weights_dir_resolution_order(tmp_path, monkeypatch):
    env = {"TOTALSEG_WEIGHTS_PATH": "/w", "TOTALSEG_HOME_DIR": "/h"}
    assert resolve_weights_dir("/c", env)[0] == Path("/c")
    assert resolve_weights_dir(None, env) == (Path("/w"), "environment TOTALSEG_WEIGHTS_PATH")
    assert resolve_weights_dir(None, {"TOTALSEG_HOME_DIR": "/h"})[0] == Path("/h/nnunet/results")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_weights_dir(None, {})[0] == tmp_path / ".totalsegmentator/nnunet/results"


def test_missing_weights_stop_before_running(tmp_path, monkeypatch, fake, phantom):
    executable, _, logged = fake
    monkeypatch.setenv("PATH", f"{executable.parent}{os.pathsep}{os.environ['PATH']}")
    image, _ = phantom("total")
    out = tmp_path / "out"
    with pytest.raises(TotalSegmentatorUnavailable, match="weights of task total"):
        totalsegmentator_step(
            patient_id="P001", timepoint="basal", modality="ct", image_path=image,
            settings={"weights_dir": str(tmp_path / "none")}, threads=2,
            labels_out=out / "labels.nii.gz", record_out=out / "record.json",
        )  # fmt: skip
    assert logged() == []
    assert not out.exists()


# --- reading TotalSegmentator's output formats --------------------------------------------------


@pytest.mark.parametrize("task", ["total", "total_mr"])
@pytest.mark.parametrize("label_table", [True, False])
def test_multilabel_file(tmp_path, fake, phantom, task, label_table):
    executable, configure, _ = fake
    configure(label_table=label_table)
    image, index = phantom(task)
    out = tmp_path / "seg.nii.gz"
    _run_fake(executable, image, out, task, "--ml")
    assert (nifti_label_table(out) is not None) == label_table
    array, source = read_multilabel(out, task=task, reference=_reference(image))
    np.testing.assert_array_equal(array, _expected(task, index))
    assert source.startswith("label table" if label_table else "class map of TotalSegmentator")


@pytest.mark.parametrize("task", ["total", "total_mr"])
def test_folder_of_per_class_files(tmp_path, fake, phantom, task):
    executable, _, _ = fake
    image, index = phantom(task)
    out = tmp_path / "seg"
    _run_fake(executable, image, out, task)
    assert len(list(out.glob("*.nii.gz"))) == len(CLASS_MAPS[task])
    array = read_class_folder(out, task=task, reference=_reference(image))
    np.testing.assert_array_equal(array, _expected(task, index))


def test_label_table_of_the_file_wins(tmp_path, fake, phantom):
    executable, configure, _ = fake
    # A numbering that is not the task's: only the file's own table can decode it.
    shuffled = {name: 200 - number for number, name in CLASS_MAPS["total_mr"].items()}
    configure(numbering={"total_mr": shuffled})
    image, index = phantom("total_mr")
    out = tmp_path / "seg.nii.gz"
    _run_fake(executable, image, out, "total_mr", "--ml")
    assert nifti_label_table(out)[200 - 16] == "urinary_bladder"
    array, _ = read_multilabel(out, task="total_mr", reference=_reference(image))
    np.testing.assert_array_equal(array, _expected("total_mr", index))


def test_roi_subset_output(tmp_path, fake, phantom):
    executable, _, _ = fake
    image, index = phantom("total")
    out = tmp_path / "seg"
    _run_fake(executable, image, out, "total", "--roi_subset", *roi_subset_names("total"))
    # TotalSegmentator writes only the requested classes: every netpet one, no rib.
    assert len(list(out.glob("*.nii.gz"))) == 47
    array = read_class_folder(out, task="total", reference=_reference(image))
    np.testing.assert_array_equal(array, _expected("total", index))


def test_unknown_number_without_table_is_an_error(tmp_path, phantom):
    image, _ = phantom("total_mr")
    reference = _reference(image)
    seg = sitk.Image(reference.GetSize(), sitk.sitkUInt8)
    seg.CopyInformation(reference)
    seg[0, 0, 0] = 77  # total_mr has 50 classes
    path = tmp_path / "seg.nii.gz"
    sitk.WriteImage(seg, str(path))
    with pytest.raises(InputError, match=r"label number\(s\) \[77\]"):
        read_multilabel(path, task="total_mr", reference=reference)


def test_output_off_the_input_grid_is_an_error(tmp_path, phantom):
    image, _ = phantom("total")
    reference = _reference(image)
    seg = sitk.Image(reference.GetSize(), sitk.sitkUInt8)
    seg.CopyInformation(reference)
    seg.SetOrigin((ORIGIN[0] + 1.5, ORIGIN[1], ORIGIN[2]))
    path = tmp_path / "seg.nii.gz"
    sitk.WriteImage(seg, str(path))
    with pytest.raises(InputError, match="is not on the grid of its input"):
        read_multilabel(path, task="total", reference=reference)


def test_overlapping_class_files_are_an_error(tmp_path, fake, phantom):
    executable, _, _ = fake
    image, _ = phantom("total")
    out = tmp_path / "seg"
    _run_fake(executable, image, out, "total")
    liver = sitk.ReadImage(str(out / "liver.nii.gz"))
    sitk.WriteImage(liver, str(out / "spleen.nii.gz"))
    with pytest.raises(InputError, match="overlaps another class"):
        read_class_folder(out, task="total", reference=_reference(image))


# --- end to end with the stand-in first on PATH -----------------------------------------------


@pytest.mark.parametrize(
    ("modality", "multilabel"), [("ct", True), ("mr", False), ("mr", True), ("ct", False)]
)
def test_end_to_end(tmp_path, monkeypatch, fake, phantom, weights, modality, multilabel):
    executable, _, logged = fake
    monkeypatch.setenv("PATH", f"{executable.parent}{os.pathsep}{os.environ['PATH']}")
    task = "total" if modality == "ct" else "total_mr"
    image, index = phantom(task)
    out = tmp_path / "results"
    config = {**_config_section(), "weights_dir": str(weights), "multilabel": multilabel}
    totalsegmentator_step(
        patient_id="P001", timepoint="basal", modality=modality, image_path=image,
        settings=config, threads=2,
        labels_out=out / "labels.nii.gz", record_out=out / "record.json",
    )  # fmt: skip
    result = sitk.ReadImage(str(out / "labels.nii.gz"))
    source = sitk.ReadImage(str(image))
    assert result.GetSize() == source.GetSize()
    assert result.GetSpacing() == source.GetSpacing()
    assert result.GetOrigin() == source.GetOrigin()
    assert result.GetDirection() == source.GetDirection()
    expected = _expected(task, index)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(result), expected)

    record = json.loads((out / "record.json").read_text())
    assert record["task"] == task
    assert record["totalsegmentator_version"] == "2.18.0"
    assert record["organs_not_in_task"] == organs_not_in_task(task)
    liver = record["organs"]["liver"]
    n_liver = int((expected == labels.LIVER).sum())
    assert liver == {"label": 5, "voxels": n_liver, "volume_ml": round(n_liver * VOXEL_ML, 3)}
    assert set(record["organs"]) == {
        name for name, number in EXPECTED.items() if number and name in PHANTOM_CLASSES[task]
    }

    version_call, run = logged()
    assert version_call["argv"] == ["--version"]
    assert run["argv"][run["argv"].index("--task") + 1] == task
    assert "--fast" in run["argv"] and ("--ml" in run["argv"]) == multilabel
    assert run["argv"][run["argv"].index("--nr_thr_resamp") + 1] == "2"
    assert run["env"] == {"TOTALSEG_WEIGHTS_PATH": str(weights), "nnUNet_def_n_proc": "2"}
    assert run["home_config"]["send_usage_stats"] is False


def test_failed_run_leaves_no_output(tmp_path, monkeypatch, fake, phantom, weights):
    executable, configure, _ = fake
    configure(fail=True)
    monkeypatch.setenv("PATH", f"{executable.parent}{os.pathsep}{os.environ['PATH']}")
    image, _ = phantom("total")
    out = tmp_path / "results"
    with pytest.raises(RuntimeError, match=r"(?s)exit status 3.*CPU out of memory"):
        totalsegmentator_step(
            patient_id="P001", timepoint="basal", modality="ct", image_path=image,
            settings={"weights_dir": str(weights)}, threads=1,
            labels_out=out / "labels.nii.gz", record_out=out / "record.json",
        )  # fmt: skip
    assert not (out / "labels.nii.gz").exists()
    assert not (out / "record.json").exists()


def test_run_past_timeout_is_stopped(tmp_path, monkeypatch, fake, phantom, weights):
    executable, configure, _ = fake
    configure(sleep_s=60)
    monkeypatch.setenv("PATH", f"{executable.parent}{os.pathsep}{os.environ['PATH']}")
    image, _ = phantom("total")
    settings = TotalSegmentatorSettings(weights_dir=str(weights), timeout_minutes=0.03)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"did not finish within 0\.03 min"):
        segment_organs(image, modality="ct", settings=settings)
    assert time.monotonic() - start < 20
