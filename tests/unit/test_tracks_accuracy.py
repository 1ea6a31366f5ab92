"""Track accuracy against a hand-built truth whose errors (a break, a swap) are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from netpet.longitudinal.accuracy import METRIC_COLUMNS, track_accuracy
from netpet.longitudinal.tracks import TrackSettings, cohort_tracks

SPACING = (4.0, 4.0, 4.0)  # (x, y, z) mm: a voxel is 0.064 mL, a 4 x 4 box 1.024 mL
VOXEL_ML = 0.064


def label_map(*boxes) -> np.ndarray:
    """(z, y, x) map of ``(label, y0, y1, x0, x1)`` boxes in slice 0 of a 1 x 20 x 40 grid."""
    labels = np.zeros((1, 20, 40), np.uint16)
    for label, y0, y1, x0, x1 in boxes:
        labels[0, y0:y1, x0:x1] = label
    return labels


def write(path, labels_zyx):
    image = sitk.GetImageFromArray(labels_zyx)
    image.SetSpacing(SPACING)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))
    return path


def build(tmp_path, truth_maps, seg_maps, truth_rows, suvtotal):
    """Write truth and segmentation of patient P1 and run tracks and their accuracy."""
    truth_dir = tmp_path / "truth"
    scans, seg_paths = [], []
    for timepoint in truth_maps:
        write(truth_dir / "lesion_labels" / "P1" / f"{timepoint}.nii.gz", truth_maps[timepoint])
        seg_paths.append(write(tmp_path / "seg" / f"{timepoint}.nii.gz", seg_maps[timepoint]))
        scans.append(("P1", timepoint))
    columns = ["timepoint", "lesion_id", "status", "response", "parent_lesion_id"]
    if len(truth_rows[0]) > len(columns):
        columns.append("family_response")
    truth = pd.DataFrame(truth_rows, columns=columns)
    voxels = {
        (t, v): int((truth_maps[t] == v).sum())
        for t, v in zip(truth["timepoint"], truth["lesion_id"], strict=True)
    }
    truth["volume_ml"] = [voxels[key] * VOXEL_ML for key in voxels]
    truth = truth.assign(patient_id="P1", site="liver")
    truth.to_csv(truth_dir / "lesions.tsv", sep="\t", index=False)
    lesions = pd.DataFrame(
        [
            {"patient_id": "P1", "timepoint": t, "lesion_id": v, "suvtotal": s}
            for (t, v), s in suvtotal.items()
        ]
    ).assign(volume_ml=1.0, suvmax=10.0)
    timepoints = list(truth_maps)
    tracks = cohort_tracks(
        scans=scans,
        label_paths=seg_paths,  # no body shift: the maps already share the baseline grid
        lesions=lesions,
        timepoints=timepoints,
        settings=TrackSettings(),
    )
    metrics = track_accuracy(
        tracks=tracks,
        truth_dir=truth_dir,
        scans=scans,
        seg_paths=seg_paths,
        timepoints=timepoints,
    )
    return tracks, metrics.set_index("metric")


def test_one_break_and_one_swap(tmp_path):
    # True lesion 1 stays; 2 jumps far away (the tracks break it); 3 vanishes and new lesion
    # 4 appears in its place (the tracks swap them: one measured track holds both).
    truth_maps = {
        "b": label_map((1, 0, 4, 0, 4), (2, 0, 4, 10, 14), (3, 10, 14, 0, 4)),
        "f": label_map((1, 0, 4, 0, 4), (2, 10, 14, 30, 34), (4, 10, 14, 0, 4)),
    }
    seg_maps = {  # same voxels, other ids
        "b": label_map((7, 0, 4, 0, 4), (8, 0, 4, 10, 14), (9, 10, 14, 0, 4)),
        "f": label_map((1, 0, 4, 0, 4), (2, 10, 14, 0, 4), (3, 10, 14, 30, 34)),
    }
    truth_rows = [
        ("b", 1, "present", "baseline", None),
        ("b", 2, "present", "baseline", None),
        ("b", 3, "present", "baseline", None),
        ("f", 1, "present", "stable", None),
        ("f", 2, "present", "stable", None),
        ("f", 3, "disappeared", "disappearing", None),
        ("f", 4, "new", "new", None),
    ]
    suvtotal = {("b", 7): 100, ("b", 8): 100, ("b", 9): 100}
    suvtotal |= {("f", 1): 100, ("f", 2): 100, ("f", 3): 100}
    tracks, metrics = build(tmp_path, truth_maps, seg_maps, truth_rows, suvtotal)
    by_track = tracks.set_index(["track_id", "timepoint"])["status"].to_dict()
    assert by_track == {
        (1, "b"): "present",
        (1, "f"): "present",
        (2, "b"): "present",
        (2, "f"): "disappeared",
        (3, "b"): "present",
        (3, "f"): "present",
        (4, "f"): "new",
    }
    assert list(metrics.reset_index().columns) == list(METRIC_COLUMNS)
    value, n = metrics["value"], metrics["n"]
    # 4 true tracks >= 1 mL: 1 intact, 2 broken, 3 and 4 swapped.
    assert (value["track_continuity_ge_1ml"], n["track_continuity_ge_1ml"]) == (0.25, 4)
    assert value["true_tracks_broken_ge_1ml"] == 1
    assert (value["measured_tracks_swapped"], n["measured_tracks_swapped"]) == (1, 4)
    # lesion 4's measured track is not new, lesion 3's not disappeared
    assert (value["new_recall_ge_1ml"], n["new_recall_ge_1ml"]) == (0.0, 1)
    assert (value["disappeared_recall_ge_1ml"], n["disappeared_recall_ge_1ml"]) == (0.0, 1)
    # the measured new track holds true lesion 2, the disappeared one held 2 as well
    assert (value["new_precision"], n["new_precision"]) == (0.0, 1)
    assert (value["disappeared_precision"], n["disappeared_precision"]) == (0.0, 1)
    assert n["split_recall_ge_1ml"] == 0 and np.isnan(value["split_recall_ge_1ml"])
    # categories at f: 1 stable (right); 2 new (truth stable), 3 and 4 stable
    # (truth disappearing, new)
    assert (value["category_agreement"], n["category_agreement"]) == (0.25, 4)
    # both sides heterogeneous (truth: new + disappearing; measured: new + disappearing)
    assert (value["heterogeneity_agreement"], n["heterogeneity_agreement"]) == (1.0, 1)
    assert metrics["target"]["track_continuity_ge_1ml"] == pytest.approx(0.9)


@pytest.mark.parametrize("with_family_response", [False, True])
def test_perfect_tracks_with_a_split_and_a_disappearance(tmp_path, with_family_response):
    # True lesion 1 splits: child 2 (parent 1) at f1; lesion 3 disappears at f1.
    truth_maps = {
        "b": label_map((1, 0, 4, 0, 9), (3, 10, 14, 20, 24)),
        "f1": label_map((1, 0, 4, 0, 5), (2, 0, 4, 5, 9)),
        "f2": label_map((1, 0, 4, 0, 5), (2, 0, 4, 5, 9)),
    }
    seg_maps = truth_maps
    truth_rows = [
        ("b", 1, "present", "baseline", None, "baseline"),
        ("b", 3, "present", "baseline", None, "baseline"),
        ("f1", 1, "present", "decreasing", None, "decreasing"),
        ("f1", 2, "split", "new", 1, "decreasing"),
        ("f1", 3, "disappeared", "disappearing", None, "disappearing"),
        ("f2", 1, "present", "decreasing", None, "decreasing"),
        ("f2", 2, "present", "new", 1, "decreasing"),
        ("f2", 3, "disappeared", "disappearing", None, "disappearing"),
    ]
    if not with_family_response:
        truth_rows = [row[:5] for row in truth_rows]
    suvtotal = {("b", 1): 100, ("b", 3): 50, ("f1", 1): 20, ("f1", 2): 20}
    suvtotal |= {("f2", 1): 20, ("f2", 2): 20}
    tracks, metrics = build(tmp_path, truth_maps, seg_maps, truth_rows, suvtotal)
    child = tracks[tracks["lesion_id"].eq(2) & tracks["timepoint"].eq("f1")].iloc[0]
    assert (child["status"], child["parent_track_id"]) == ("split", 1)
    value, n = metrics["value"], metrics["n"]
    assert (value["track_continuity_ge_1ml"], n["track_continuity_ge_1ml"]) == (1.0, 3)
    assert (value["split_recall_ge_1ml"], n["split_recall_ge_1ml"]) == (1.0, 1)
    assert n["new_recall_ge_1ml"] == 0  # a split-off is not a new lesion
    assert (value["disappeared_recall_ge_1ml"], n["disappeared_recall_ge_1ml"]) == (1.0, 1)
    assert (value["disappeared_precision"], n["disappeared_precision"]) == (1.0, 1)
    if with_family_response:
        # the truth's family category is the tracks' (40 vs 100: decreasing); neither side
        # is heterogeneous (decreasing, disappearing)
        assert (value["category_agreement"], n["category_agreement"]) == (1.0, 6)
        assert (value["heterogeneity_agreement"], n["heterogeneity_agreement"]) == (1.0, 2)
    else:
        # ``response`` alone calls the child new: 2 of 6 follow-up rows disagree, and the
        # truth is heterogeneous at f1 and f2 (new child, lesion 3 gone), the tracks not.
        agreement = (value["category_agreement"], n["category_agreement"])
        assert agreement == (pytest.approx(4 / 6), 6)
        assert (value["heterogeneity_agreement"], n["heterogeneity_agreement"]) == (0.0, 2)
