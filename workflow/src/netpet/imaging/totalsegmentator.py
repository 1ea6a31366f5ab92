"""Organ label maps made by TotalSegmentator, in netpet's label numbers (STUDY.md section 3.3).

A scan whose samples-sheet row has no ``organ_labels`` gets its organ label map from
TotalSegmentator (Wasserthal et al., Radiology: Artificial Intelligence 2023;5:e230024): task
``total`` on the scan's CT (HU), task ``total_mr`` on the MR of a PET/MR.  The result is mapped
onto :mod:`netpet.labels` **by class name** and written on the input image's grid, geometry
copied exactly from the input.

Which organs
    Every organ :mod:`netpet.labels` names that the task has; TotalSegmentator's other classes
    (ribs, muscles, vessels, ...) become 0.  ``total`` has all of netpet's organs except the
    pituitary (in no TotalSegmentator task).  ``total_mr`` numbers its classes differently
    (urinary bladder 16, not 21) and lacks: the five lung lobes (it has whole lungs,
    ``lung_left``/``lung_right``, for which netpet has no label: they are dropped, so lung
    tissue counts as unlabelled tissue and lesions there as organ "other"), the thyroid, the
    25 single vertebrae (one ``vertebrae`` class: dropped) and the pituitary.  Should
    :mod:`netpet.labels` gain labels named like those classes, they are mapped without a
    change here.  :func:`organs_not_in_task` lists what a task lacks; the JSON record of every
    run says it too.

TotalSegmentator's output
    Either one multi-label NIfTI (``--ml``; numbers per task, and the names in a NIfTI
    extension TotalSegmentator writes, read here with :func:`nifti_label_table`; without
    it the class map of TotalSegmentator :data:`CLASS_MAP_VERSION`, :data:`CLASS_MAPS`, is
    used), or a folder of one binary NIfTI per class (``liver.nii.gz``, ...).  Both are read.

How it runs
    As a subprocess (the ``TotalSegmentator`` command line), so the workflow's environment
    needs neither PyTorch nor the weights, and the glue is tested with a stand-in executable.
    TotalSegmentator downloads missing weights itself with no timeout; netpet therefore checks
    the weight folders first and stops with :class:`TotalSegmentatorUnavailable` when one is
    missing, passes their location as ``TOTALSEG_WEIGHTS_PATH`` and gives TotalSegmentator a
    private ``TOTALSEG_HOME_DIR`` whose ``config.json`` turns its anonymous usage statistics
    off: a run makes no network request at all.  A run longer than ``timeout_minutes`` is
    killed.  Nothing is written unless the whole run succeeds.

CPU time per scan (not measured here: this machine has no PyTorch, no weights, two cores)
    TotalSegmentator's own measurements (``resources/runtime.md`` of its repository, written
    for v3.0.0; one CT of 512 x 512 x 807 voxels, 0.82 x 0.82 x 1.0 mm; Intel Core i9-9900X,
    10 cores / 20 threads): on CPU ``-ml`` (1.5 mm model) 14 min 32 s and 8.8 GB RAM,
    ``-ml --fast`` (3 mm model) 57 s and 6.5 GB RAM; the same page gives 885 s and 63 s
    (11.3 GB, 7.9 GB RAM) for the code before its in-memory-inference changes.  The README of
    the 2.x releases gives its runtime table only as an image (not read here) and advises
    ``--fast`` or ``--roi_subset`` on CPU.  Expect about a minute or a few per scan with
    ``fast: true`` on a workstation, and 15 min or more without it; fewer cores take longer.

Licence
    TotalSegmentator's code is Apache-2.0 (LICENSE of the 2.18.0 wheel).  Its README lists
    ``total`` and ``total_mr`` as "openly available for any usage": their weights come from
    the project's GitHub releases without a licence key (no separate licence file for the
    weights was found to check).  Other tasks (e.g. heartchambers_highres,
    appendicular_bones, tissue_types, face, brain_structures, coronary_arteries) need a licence
    key, free for non-commercial use; netpet uses none of them.

Arrays from SimpleITK are (z, y, x); spacing and origin (x, y, z) mm.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from netpet import labels as organ_numbers
from netpet.errors import InputError
from netpet.io import write_image, write_json

log = logging.getLogger(__name__)

# The TotalSegmentator release whose class maps and weight folders are written below; the
# pip extra ``totalsegmentator`` in pyproject.toml pins the same version (a test checks).
CLASS_MAP_VERSION = "2.18.0"

TASK_BY_MODALITY = {"ct": "total", "mr": "total_mr"}

# class_map["total"] and class_map["total_mr"] of totalsegmentator/map_to_binary.py (2.18.0):
# class number = position + 1.
# fmt: off
_TOTAL_CLASSES = (
    "spleen", "kidney_right", "kidney_left", "gallbladder", "liver", "stomach", "pancreas",
    "adrenal_gland_right", "adrenal_gland_left", "lung_upper_lobe_left",
    "lung_lower_lobe_left", "lung_upper_lobe_right", "lung_middle_lobe_right",
    "lung_lower_lobe_right", "esophagus", "trachea", "thyroid_gland", "small_bowel",
    "duodenum", "colon", "urinary_bladder", "prostate", "kidney_cyst_left",
    "kidney_cyst_right", "sacrum", "vertebrae_S1", "vertebrae_L5", "vertebrae_L4",
    "vertebrae_L3", "vertebrae_L2", "vertebrae_L1", "vertebrae_T12", "vertebrae_T11",
    "vertebrae_T10", "vertebrae_T9", "vertebrae_T8", "vertebrae_T7", "vertebrae_T6",
    "vertebrae_T5", "vertebrae_T4", "vertebrae_T3", "vertebrae_T2", "vertebrae_T1",
    "vertebrae_C7", "vertebrae_C6", "vertebrae_C5", "vertebrae_C4", "vertebrae_C3",
    "vertebrae_C2", "vertebrae_C1", "heart", "aorta", "pulmonary_vein",
    "brachiocephalic_trunk", "subclavian_artery_right", "subclavian_artery_left",
    "common_carotid_artery_right", "common_carotid_artery_left",
    "brachiocephalic_vein_left", "brachiocephalic_vein_right", "atrial_appendage_left",
    "superior_vena_cava", "inferior_vena_cava", "portal_vein_and_splenic_vein",
    "iliac_artery_left", "iliac_artery_right", "iliac_vena_left", "iliac_vena_right",
    "humerus_left", "humerus_right", "scapula_left", "scapula_right", "clavicula_left",
    "clavicula_right", "femur_left", "femur_right", "hip_left", "hip_right", "spinal_cord",
    "gluteus_maximus_left", "gluteus_maximus_right", "gluteus_medius_left",
    "gluteus_medius_right", "gluteus_minimus_left", "gluteus_minimus_right",
    "autochthon_left", "autochthon_right", "iliopsoas_left", "iliopsoas_right", "brain",
    "skull", "rib_left_1", "rib_left_2", "rib_left_3", "rib_left_4", "rib_left_5",
    "rib_left_6", "rib_left_7", "rib_left_8", "rib_left_9", "rib_left_10", "rib_left_11",
    "rib_left_12", "rib_right_1", "rib_right_2", "rib_right_3", "rib_right_4",
    "rib_right_5", "rib_right_6", "rib_right_7", "rib_right_8", "rib_right_9",
    "rib_right_10", "rib_right_11", "rib_right_12", "sternum", "costal_cartilages",
)
_TOTAL_MR_CLASSES = (
    "spleen", "kidney_right", "kidney_left", "gallbladder", "liver", "stomach", "pancreas",
    "adrenal_gland_right", "adrenal_gland_left", "lung_left", "lung_right", "esophagus",
    "small_bowel", "duodenum", "colon", "urinary_bladder", "prostate", "sacrum",
    "vertebrae", "intervertebral_discs", "spinal_cord", "heart", "aorta",
    "inferior_vena_cava", "portal_vein_and_splenic_vein", "iliac_artery_left",
    "iliac_artery_right", "iliac_vena_left", "iliac_vena_right", "humerus_left",
    "humerus_right", "scapula_left", "scapula_right", "clavicula_left", "clavicula_right",
    "femur_left", "femur_right", "hip_left", "hip_right", "gluteus_maximus_left",
    "gluteus_maximus_right", "gluteus_medius_left", "gluteus_medius_right",
    "gluteus_minimus_left", "gluteus_minimus_right", "autochthon_left", "autochthon_right",
    "iliopsoas_left", "iliopsoas_right", "brain",
)
# fmt: on
CLASS_MAPS: dict[str, dict[int, str]] = {
    "total": dict(enumerate(_TOTAL_CLASSES, start=1)),
    "total_mr": dict(enumerate(_TOTAL_MR_CLASSES, start=1)),
}

# Weight folders (nnU-Net datasets) of TotalSegmentator 2.18.0 (map_tasks_config.py) and the
# ``totalseg_download_weights -t`` task that fetches each.
_DATASETS = {
    291: ("Dataset291_TotalSegmentator_part1_organs_1559subj", "total"),
    292: ("Dataset292_TotalSegmentator_part2_vertebrae_1532subj", "total"),
    293: ("Dataset293_TotalSegmentator_part3_cardiac_1559subj", "total"),
    294: ("Dataset294_TotalSegmentator_part4_muscles_1559subj", "total"),
    295: ("Dataset295_TotalSegmentator_part5_ribs_1559subj", "total"),
    297: ("Dataset297_TotalSegmentator_total_3mm_1559subj", "total_fast"),
    298: ("Dataset298_TotalSegmentator_total_6mm_1559subj", "total_fast"),
    850: ("Dataset850_TotalSegMRI_part1_organs_1088subj", "total_mr"),
    851: ("Dataset851_TotalSegMRI_part2_muscles_1088subj", "total_mr"),
    852: ("Dataset852_TotalSegMRI_total_3mm_1088subj", "total_fast_mr"),
}
# Models a run loads: the task's own (3 mm with --fast, else the 1.5 mm parts, all of which
# TotalSegmentator insists on having even when --roi_subset skips some), plus the cropping
# model --roi_subset runs first (CT 6 mm; MR always 3 mm).
_TASK_DATASETS = {
    ("total", True): (297,),
    ("total", False): (291, 292, 293, 294, 295),
    ("total_mr", True): (852,),
    ("total_mr", False): (850, 851),
}
_ROI_CROP_DATASET = {"total": 298, "total_mr": 852}
# nnU-Net v2 writes this file last: a folder without it is an interrupted download.
_CHECKPOINT = "checkpoint_final.pth"

_NETPET_NUMBER = {name: number for number, name in organ_numbers.NAMES.items()}
# Geometry agreement between TotalSegmentator's output and its input (float32 NIfTI header).
_GRID_TOLERANCE_MM = 1e-3
_DIRECTION_TOLERANCE = 1e-5
# Keys of the config section that are the workflow's, not TotalSegmentator settings.
RESOURCE_KEYS = ("enabled", "threads", "mem_mb")
_DEVICES = ("cpu", "gpu", "mps")
_OUTPUT_TAIL_LINES = 30

_INSTEAD = (
    "or give the scan's organ label map (TotalSegmentator label numbers) in the organ_labels "
    "column of the samples sheet"
)


class TotalSegmentatorUnavailable(InputError):
    """TotalSegmentator or its model weights are not installed where netpet looks."""


@dataclass(frozen=True)
class TotalSegmentatorSettings:
    """How TotalSegmentator runs (config section ``organs: totalsegmentator:``).

    Attributes
    ----------
    executable : str
        Command name (looked up on PATH, then beside the running Python, where
        ``make totalsegmentator`` installs it) or a path.
    weights_dir : str or None
        Folder holding the weight folders (``Dataset297_...``); None: TotalSegmentator's own
        default (``$TOTALSEG_WEIGHTS_PATH``, else ``$TOTALSEG_HOME_DIR/nnunet/results``, else
        ``~/.totalsegmentator/nnunet/results``).
    fast : bool
        3 mm model (``--fast``) instead of the five 1.5 mm models.
    roi_subset : bool
        Pass ``--roi_subset`` with the classes netpet maps.  Without ``fast`` it skips the
        1.5 mm models netpet needs nothing from (CT: muscles and ribs; MR: muscles); with
        ``fast`` it still runs the one 3 mm model, on a crop, after a cropping model (CT
        6 mm, MR 3 mm): little gain, since netpet's organs span the trunk.  Needs the
        cropping model's weights as well.
    multilabel : bool
        One multi-label file (``--ml``, quicker to save) instead of one file per class.
    device : str
        ``cpu``, ``gpu``, ``gpu:N`` or ``mps``.
    timeout_minutes : float
        A run taking longer is killed and the job fails.
    """

    executable: str = "TotalSegmentator"
    weights_dir: str | None = None
    fast: bool = True
    roi_subset: bool = False
    multilabel: bool = True
    device: str = "cpu"
    timeout_minutes: float = 120.0

    def __post_init__(self) -> None:
        where = "config organs.totalsegmentator"
        device = self.device
        if not (device in _DEVICES or (device.startswith("gpu:") and device[4:].isdigit())):
            raise InputError(f"{where}.device: {device!r} is not cpu, gpu, gpu:N or mps")
        if not self.timeout_minutes > 0:
            raise InputError(f"{where}.timeout_minutes must be > 0, got {self.timeout_minutes}")
        if not self.executable:
            raise InputError(f"{where}.executable is empty: name the TotalSegmentator command")

    @classmethod
    def from_dict(cls, values: dict | None) -> TotalSegmentatorSettings:
        """Settings from the config section; resource keys are dropped, unknown keys raise."""
        values = {k: v for k, v in dict(values or {}).items() if k not in RESOURCE_KEYS}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(
                f"config organs.totalsegmentator: unknown key(s) {unknown}; known keys: "
                f"{sorted(known | set(RESOURCE_KEYS))}"
            )
        return cls(**values)


def task_for_modality(modality: str) -> str:
    """TotalSegmentator task for the image's modality: ``ct`` -> total, ``mr`` -> total_mr."""
    try:
        return TASK_BY_MODALITY[modality]
    except KeyError:
        raise InputError(
            f"no TotalSegmentator task for modality {modality!r}: use one of "
            f"{sorted(TASK_BY_MODALITY)}"
        ) from None


def netpet_numbers(task: str) -> dict[str, int]:
    """TotalSegmentator class name -> netpet label, for the classes of ``task`` netpet has."""
    return {
        name: _NETPET_NUMBER[name] for name in _class_map(task).values() if name in _NETPET_NUMBER
    }


def organs_not_in_task(task: str) -> list[str]:
    """Names of :mod:`netpet.labels` organs that ``task`` does not segment, label order."""
    have = set(_class_map(task).values())
    return [name for _, name in sorted(organ_numbers.NAMES.items()) if name not in have]


def roi_subset_names(task: str) -> list[str]:
    """The ``--roi_subset`` classes: those of ``task`` netpet maps, in the task's order."""
    return list(netpet_numbers(task))


def _class_map(task: str) -> dict[int, str]:
    try:
        return CLASS_MAPS[task]
    except KeyError:
        raise InputError(f"unknown TotalSegmentator task {task!r}: {sorted(CLASS_MAPS)}") from None


def build_command(
    executable: str | os.PathLike,
    image_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    task: str,
    settings: TotalSegmentatorSettings,
    threads: int,
) -> list[str]:
    """The TotalSegmentator command line for one image.

    ``output_path`` is the multi-label file with ``settings.multilabel``, else the folder of
    per-class files.  ``threads`` sets the resampling and saving threads.
    """
    command = [str(executable), "-i", str(image_path), "-o", str(output_path)]
    command += ["--task", task, "--device", settings.device]
    command += ["--nr_thr_resamp", str(threads), "--nr_thr_saving", str(threads)]
    if settings.fast:
        command.append("--fast")
    if settings.multilabel:
        command.append("--ml")
    if settings.roi_subset:
        command += ["--roi_subset", *roi_subset_names(task)]
    return command


def find_executable(
    executable: str, *, beside: str | os.PathLike | None = None, scan: str = ""
) -> Path:
    """Path of the TotalSegmentator command.

    A name is looked up on PATH, then in ``beside`` (default: the folder of the running
    Python, where ``make totalsegmentator`` installs it); a path must be an executable file.

    Raises
    ------
    TotalSegmentatorUnavailable
        Not found; the message says how to install it or what to do instead.
    """
    beside = Path(sys.executable).parent if beside is None else Path(beside)
    if os.sep in executable or (os.altsep and os.altsep in executable):
        found = (
            executable if os.access(executable, os.X_OK) and Path(executable).is_file() else None
        )
        where = f"{executable} is not an executable file"
    else:
        found = shutil.which(executable) or shutil.which(executable, path=str(beside))
        where = f"no executable {executable!r} on PATH or in {beside}"
    if found:
        return Path(found)
    raise TotalSegmentatorUnavailable(
        f"{_for_scan(scan)}TotalSegmentator is not installed ({where}); it makes the organ "
        "label map of scans without organ_labels in the samples sheet. Install it with "
        f"`make totalsegmentator` (pip extra netpet[totalsegmentator]: TotalSegmentator "
        f"{CLASS_MAP_VERSION} with PyTorch), or set organs.totalsegmentator.executable in "
        f"config/config.yaml to its path (needed with --sdm conda), {_INSTEAD}"
    )


def resolve_weights_dir(weights_dir: str | os.PathLike | None, environ=None) -> tuple[Path, str]:
    """The weights folder TotalSegmentator will read, and where that choice came from.

    Same order as TotalSegmentator's ``config.get_weights_dir``, with the config key first:
    ``weights_dir``, ``$TOTALSEG_WEIGHTS_PATH``, ``$TOTALSEG_HOME_DIR/nnunet/results``,
    ``~/.totalsegmentator/nnunet/results`` (``/tmp/...`` when the home is ``/``).
    """
    environ = os.environ if environ is None else environ
    if weights_dir:
        return Path(weights_dir).expanduser(), "config organs.totalsegmentator.weights_dir"
    if environ.get("TOTALSEG_WEIGHTS_PATH"):
        return Path(environ["TOTALSEG_WEIGHTS_PATH"]), "environment TOTALSEG_WEIGHTS_PATH"
    if environ.get("TOTALSEG_HOME_DIR"):
        home = Path(environ["TOTALSEG_HOME_DIR"])
        return home / "nnunet" / "results", "environment TOTALSEG_HOME_DIR"
    home = Path("/tmp") if str(Path.home()) == "/" else Path.home()
    return home / ".totalsegmentator" / "nnunet" / "results", "TotalSegmentator's default"


def required_weights(task: str, *, fast: bool, roi_subset: bool) -> list[str]:
    """Weight folder names a run of ``task`` loads (TotalSegmentator 2.18.0)."""
    _class_map(task)
    ids = list(_TASK_DATASETS[(task, bool(fast))])
    if roi_subset and _ROI_CROP_DATASET[task] not in ids:
        ids.append(_ROI_CROP_DATASET[task])
    return [_DATASETS[i][0] for i in ids]


def check_weights(
    weights_dir: Path, source: str, *, task: str, settings: TotalSegmentatorSettings, scan: str = ""
) -> None:
    """Raise :class:`TotalSegmentatorUnavailable` unless every weight folder is complete.

    A folder counts when it holds a ``checkpoint_final.pth`` (nnU-Net v2); TotalSegmentator
    would otherwise start a download without a timeout.
    """
    needed = required_weights(task, fast=settings.fast, roi_subset=settings.roi_subset)
    missing = [name for name in needed if not _has_checkpoint(weights_dir / name)]
    if not missing:
        return
    by_name = {folder: download for folder, download in _DATASETS.values()}
    downloads = sorted({by_name[name] for name in missing})
    commands = " and ".join(
        f"`TOTALSEG_WEIGHTS_PATH={weights_dir} totalseg_download_weights -t {d}`" for d in downloads
    )
    mode = "3 mm --fast" if settings.fast else "1.5 mm"
    raise TotalSegmentatorUnavailable(
        f"{_for_scan(scan)}TotalSegmentator weights of task {task} ({mode}"
        f"{', --roi_subset' if settings.roi_subset else ''}) are missing in {weights_dir} "
        f"({source}): {', '.join(missing)}. netpet does not let TotalSegmentator download "
        f"during a run. Fetch them once with {commands} (or copy those folders there from a "
        "machine that has them), or set organs.totalsegmentator.weights_dir in "
        "config/config.yaml (or the TOTALSEG_WEIGHTS_PATH environment variable) to the folder "
        f"that holds them, {_INSTEAD}"
    )


def _has_checkpoint(folder: Path) -> bool:
    return folder.is_dir() and any(folder.rglob(_CHECKPOINT))


def _for_scan(scan: str) -> str:
    return f"scan {scan}: " if scan else ""


def nifti_label_table(path: str | os.PathLike) -> dict[int, str] | None:
    """Label number -> name from the NIfTI header extension TotalSegmentator writes.

    TotalSegmentator stores its label names in a CaretExtension XML (``<Label Key="5">
    <![CDATA[liver]]></Label>``) as a NIfTI-1 header extension.  Returns None when the file
    has no such table (e.g. written by another tool).
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        header = handle.read(352)
        if len(header) < 352:
            raise InputError(f"{path} is not a NIfTI-1 file (shorter than its header)")
        endian = "<" if struct.unpack("<i", header[:4])[0] == 348 else ">"
        if struct.unpack(f"{endian}i", header[:4])[0] != 348:
            return None  # not NIfTI-1 (e.g. NIfTI-2): TotalSegmentator writes NIfTI-1
        vox_offset = int(struct.unpack(f"{endian}f", header[108:112])[0])
        if header[348] == 0 or vox_offset <= 352:
            return None
        extensions = handle.read(vox_offset - 352)
    position = 0
    while position + 8 <= len(extensions):
        size, _code = struct.unpack(f"{endian}ii", extensions[position : position + 8])
        if size < 8:
            break
        content = extensions[position + 8 : position + size].rstrip(b"\x00").strip()
        position += size
        if b"LabelTable" not in content:
            continue
        try:
            root = ElementTree.fromstring(content)
        except ElementTree.ParseError as error:
            raise InputError(
                f"{path}: unreadable label table in the NIfTI extension: {error}"
            ) from None
        return {
            int(label.attrib["Key"]): (label.text or "").strip() for label in root.iter("Label")
        }
    return None


def _check_grid(image: sitk.Image, reference: sitk.Image, *, path, reference_path) -> None:
    same = (
        image.GetSize() == reference.GetSize()
        and np.allclose(image.GetSpacing(), reference.GetSpacing(), atol=_GRID_TOLERANCE_MM)
        and np.allclose(image.GetOrigin(), reference.GetOrigin(), atol=_GRID_TOLERANCE_MM)
        and np.allclose(image.GetDirection(), reference.GetDirection(), atol=_DIRECTION_TOLERANCE)
    )
    if not same:
        raise InputError(
            f"TotalSegmentator output {path} is not on the grid of its input {reference_path} "
            f"(size {image.GetSize()} vs {reference.GetSize()}, spacing {image.GetSpacing()} vs "
            f"{reference.GetSpacing()}, origin {image.GetOrigin()} vs {reference.GetOrigin()}): "
            "do not use --save_lowres; rerun the job"
        )


def _label_dtype():
    return np.uint8 if max(organ_numbers.NAMES) <= np.iinfo(np.uint8).max else np.uint16


def read_multilabel(
    path: str | os.PathLike, *, task: str, reference: sitk.Image, reference_path=""
) -> tuple[np.ndarray, str]:
    """netpet labels (z, y, x) from a TotalSegmentator multi-label file (``--ml``).

    Names come from the file's own label table (:func:`nifti_label_table`) when it has one,
    else from the class map of ``task``.  Returns the array and where the names came from.

    Raises
    ------
    InputError
        The file is not on the reference grid, or holds a number the names do not cover.
    """
    image = sitk.ReadImage(str(path))
    _check_grid(image, reference, path=path, reference_path=reference_path)
    names = nifti_label_table(path)
    source = "label table of the file"
    if not names:
        names = _class_map(task)
        source = f"class map of TotalSegmentator {CLASS_MAP_VERSION} task {task}"
    array = sitk.GetArrayViewFromImage(image)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.array_equal(array, np.round(array)):
            raise InputError(f"TotalSegmentator output {path} is not a label map (non-integers)")
        array = array.astype(np.int64)
    if array.min(initial=0) < 0:
        raise InputError(f"TotalSegmentator output {path} holds negative labels")
    present = [int(v) for v in np.unique(array) if v != 0]
    unknown = [v for v in present if v not in names]
    if unknown:
        raise InputError(
            f"TotalSegmentator output {path} holds label number(s) {unknown} that the {source} "
            "does not name: TotalSegmentator version and netpet disagree; install "
            f"TotalSegmentator {CLASS_MAP_VERSION} (`make totalsegmentator`) or set "
            "organs.totalsegmentator.multilabel to false"
        )
    lookup = np.zeros(max(present, default=0) + 1, dtype=_label_dtype())
    for number, name in names.items():
        if number < lookup.size and name in _NETPET_NUMBER:
            lookup[number] = _NETPET_NUMBER[name]
    return lookup[array], source


def read_class_folder(
    folder: str | os.PathLike, *, task: str, reference: sitk.Image, reference_path=""
) -> np.ndarray:
    """netpet labels (z, y, x) from TotalSegmentator's folder of per-class files.

    Reads ``<name>.nii.gz`` for every class of ``task`` netpet maps; other files are ignored.

    Raises
    ------
    InputError
        A file is missing or off the reference grid, or two classes claim one voxel.
    """
    folder = Path(folder)
    out = np.zeros(reference.GetSize()[::-1], dtype=_label_dtype())
    claimed = np.zeros(out.shape, dtype=bool)
    for name, number in netpet_numbers(task).items():
        path = folder / f"{name}.nii.gz"
        if not path.is_file():
            raise InputError(
                f"TotalSegmentator output folder {folder} lacks {path.name} (a class of task "
                f"{task} in TotalSegmentator {CLASS_MAP_VERSION}): install that version "
                "(`make totalsegmentator`) or set organs.totalsegmentator.multilabel to true"
            )
        image = sitk.ReadImage(str(path))
        _check_grid(image, reference, path=path, reference_path=reference_path)
        mask = sitk.GetArrayViewFromImage(image) > 0
        if (mask & claimed).any():
            raise InputError(
                f"TotalSegmentator output {path} overlaps another class in {folder}: the "
                "per-class files do not come from one run; rerun the job"
            )
        claimed |= mask
        out[mask] = number
    return out


def _home_dir(root: Path) -> Path:
    """A private TOTALSEG_HOME_DIR whose config.json turns usage statistics off."""
    home = root / "totalseg_home"
    home.mkdir()
    config = {
        "totalseg_id": "netpet",
        "send_usage_stats": False,
        "prediction_counter": 0,
        "statistics_disclaimer_shown": True,
    }
    (home / "config.json").write_text(json.dumps(config, indent=4))
    return home


def run_environment(weights_dir: Path, home_dir: Path, threads: int, environ=None) -> dict:
    """Environment of the TotalSegmentator process: weights, private home, thread counts.

    On CPU TotalSegmentator sets PyTorch to all cores of the machine whatever is set here;
    ``threads`` bounds the resampling, saving and nnU-Net worker processes.
    """
    env = dict(os.environ if environ is None else environ)
    env.update(
        TOTALSEG_WEIGHTS_PATH=str(weights_dir),
        TOTALSEG_HOME_DIR=str(home_dir),
        nnUNet_def_n_proc=str(threads),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    return env


def _run(command: list[str], *, env: dict, timeout_s: float, cwd: Path) -> tuple[int, str]:
    """Run ``command`` in its own process group; kill the group on timeout."""
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        output, _ = process.communicate()
        raise TimeoutError(output) from None
    except BaseException:
        _kill_group(process.pid)
        process.communicate()
        raise
    return process.returncode, output


def _kill_group(pid: int) -> None:
    """Kill the process group we started (nnU-Net spawns worker processes)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _version(executable: Path, env: dict, cwd: Path) -> str:
    try:
        code, output = _run([str(executable), "--version"], env=env, timeout_s=300, cwd=cwd)
    except TimeoutError:
        return "unknown"
    lines = output.strip().splitlines()
    return lines[-1].strip() if code == 0 and lines else "unknown"


def segment_organs(
    image_path: str | os.PathLike,
    *,
    modality: str,
    settings: TotalSegmentatorSettings,
    threads: int = 1,
    scan: str = "",
    beside: str | os.PathLike | None = None,
) -> tuple[sitk.Image, dict]:
    """Run TotalSegmentator on one image and map its classes to :mod:`netpet.labels`.

    Parameters
    ----------
    image_path
        CT in HU (``modality="ct"``, task ``total``) or MR (``"mr"``, task ``total_mr``),
        NIfTI.
    settings : TotalSegmentatorSettings
    threads : int
        Resampling / saving threads and nnU-Net worker processes.
    scan : str
        ``patient/timepoint``, for messages.
    beside
        Folder searched for the executable after PATH (default: the running Python's).

    Returns
    -------
    labels : SimpleITK.Image
        Organ label map in netpet numbers, size, spacing, origin and direction of the input.
    record : dict
        Task, TotalSegmentator version, settings, command line, organs found (label, voxels,
        volume_ml) and the netpet organs the task lacks.

    Raises
    ------
    TotalSegmentatorUnavailable
        Not installed, or weights missing (checked before anything runs).
    RuntimeError
        TotalSegmentator failed or timed out (its last output lines in the message).
    """
    task = task_for_modality(modality)
    executable = find_executable(settings.executable, beside=beside, scan=scan)
    weights_dir, source = resolve_weights_dir(settings.weights_dir)
    check_weights(weights_dir, source, task=task, settings=settings, scan=scan)
    image_path = Path(image_path)
    if not image_path.is_file():
        raise InputError(f"{_for_scan(scan)}image {image_path} for TotalSegmentator does not exist")
    reference = sitk.ReadImage(str(image_path))
    with tempfile.TemporaryDirectory(prefix="netpet_totalseg_") as tmp:
        root = Path(tmp)
        env = run_environment(weights_dir, _home_dir(root), threads)
        output = root / ("segmentation.nii.gz" if settings.multilabel else "segmentation")
        command = build_command(
            executable, image_path.resolve(), output, task=task, settings=settings, threads=threads
        )
        version = _version(executable, env, root)
        if version != CLASS_MAP_VERSION:
            log.warning(
                "%s: TotalSegmentator %s runs; netpet's class maps are of %s",
                scan,
                version,
                CLASS_MAP_VERSION,
            )
        log.info("%s: running %s", scan, " ".join(command))
        timeout_s = settings.timeout_minutes * 60.0
        try:
            code, text = _run(command, env=env, timeout_s=timeout_s, cwd=root)
        except TimeoutError as timeout:
            raise RuntimeError(
                f"{_for_scan(scan)}TotalSegmentator did not finish within "
                f"{settings.timeout_minutes:g} min and was stopped (raise "
                f"organs.totalsegmentator.timeout_minutes, or use fast: true); last output:\n"
                f"{_tail(str(timeout))}"
            ) from None
        for line in text.splitlines():
            if line.strip():
                log.info("TotalSegmentator: %s", line.rstrip())
        if code != 0:
            raise RuntimeError(
                f"{_for_scan(scan)}TotalSegmentator failed (exit status {code}) on {image_path}; "
                f"last output:\n{_tail(text)}"
            )
        if settings.multilabel:
            array, names_from = read_multilabel(
                output, task=task, reference=reference, reference_path=image_path
            )
        else:
            array = read_class_folder(
                output, task=task, reference=reference, reference_path=image_path
            )
            names_from = "per-class file names"
    labels = sitk.GetImageFromArray(array)
    labels.CopyInformation(reference)
    record = {
        "task": task,
        "modality": modality,
        "totalsegmentator_version": version,
        "class_map_version": CLASS_MAP_VERSION,
        "label_names_from": names_from,
        "settings": dataclasses.asdict(settings),
        "weights_dir": str(weights_dir),
        "command": [Path(command[0]).name, *command[5:]],
        "organs": _organ_summary(array, reference),
        "organs_not_in_task": organs_not_in_task(task),
    }
    return labels, record


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_OUTPUT_TAIL_LINES:])


def _organ_summary(array: np.ndarray, reference: sitk.Image) -> dict:
    voxel_ml = float(np.prod(reference.GetSpacing())) / 1000.0
    numbers, counts = np.unique(array, return_counts=True)
    return {
        organ_numbers.NAMES[int(n)]: {
            "label": int(n),
            "voxels": int(c),
            "volume_ml": round(int(c) * voxel_ml, 3),
        }
        for n, c in zip(numbers, counts, strict=True)
        if n != 0
    }


def totalsegmentator_step(
    *,
    patient_id: str,
    timepoint: str,
    modality: str,
    image_path: str | os.PathLike,
    settings: dict,
    threads: int,
    labels_out: str | os.PathLike,
    record_out: str | os.PathLike,
) -> None:
    """Workflow step: organ label map of one scan by TotalSegmentator, and its JSON record.

    ``settings`` is the config section ``organs: totalsegmentator:`` (resource keys ignored).
    Both outputs are written atomically, and only after TotalSegmentator succeeded.
    """
    scan = f"{patient_id}/{timepoint}"
    labels, record = segment_organs(
        image_path,
        modality=modality,
        settings=TotalSegmentatorSettings.from_dict(settings),
        threads=max(int(threads), 1),
        scan=scan,
    )
    record = {"patient_id": patient_id, "timepoint": timepoint, **record}
    write_image(labels_out, labels)
    write_json(record_out, record)
    log.info(
        "%s: %d organs from TotalSegmentator %s (%s); not in task %s: %s",
        scan,
        len(record["organs"]),
        record["totalsegmentator_version"],
        record["task"],
        record["task"],
        ", ".join(record["organs_not_in_task"]) or "none",
    )
