"""Track accuracy against a hand-built truth whose errors (a break, a swap) are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from netpet.longitudinal.accuracy import (
    METRIC_COLUMNS,
    category_disagreements,
    event_calls,
    track_accuracy,
    track_accuracy_tables,
)
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


def build(tmp_path, truth_maps, seg_maps, truth_rows, suvtotal, truth_suvtotal=None):
    """Write truth and segmentation of patient P1 and run tracks and their accuracy.

    ``truth_suvtotal``: optional true SUVtotal per (timepoint, lesion_id) (0 when absent).
    Returns the tracks, the metrics indexed by name and the true-lesion table.
    """
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
    if truth_suvtotal is not None:
        truth["suvtotal"] = [truth_suvtotal.get(key, 0.0) for key in voxels]
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
    arguments = {
        "tracks": tracks,
        "truth_dir": truth_dir,
        "scans": scans,
        "seg_paths": seg_paths,
        "timepoints": timepoints,
    }
    metrics, lesions = track_accuracy_tables(**arguments)
    pd.testing.assert_frame_equal(track_accuracy(**arguments), metrics)
    return tracks, metrics.set_index("metric"), lesions


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
    tracks, metrics, _ = build(tmp_path, truth_maps, seg_maps, truth_rows, suvtotal)
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
    # the measured new track holds true lesion 2, the disappeared one held 2 as well: both
    # are the tracks' own errors (2 was detected at b and is detected at f)
    assert (value["new_precision"], n["new_precision"]) == (0.0, 1)
    assert (value["disappeared_precision"], n["disappeared_precision"]) == (0.0, 1)
    assert (value["new_false_tracking"], value["disappeared_false_tracking"]) == (1, 1)
    for name in ("new_false_unmatched", "new_false_missed_before"):
        assert value[name] == 0
    for name in ("disappeared_false_unmatched", "disappeared_false_missed_now"):
        assert value[name] == 0
    assert n["split_recall_ge_1ml"] == 0 and np.isnan(value["split_recall_ge_1ml"])
    # categories at f: 1 stable (right); 2 new (truth stable), 3 and 4 stable
    # (truth disappearing, new); every lesion is 1.024 mL
    assert (value["category_agreement"], n["category_agreement"]) == (0.25, 4)
    agreement = (value["category_agreement_ge_1ml"], n["category_agreement_ge_1ml"])
    assert agreement == (0.25, 4)
    # both sides heterogeneous (truth: new + disappearing; measured: new + disappearing)
    assert (value["heterogeneity_agreement"], n["heterogeneity_agreement"]) == (1.0, 1)
    assert metrics["target"]["track_continuity_ge_1ml"] == pytest.approx(0.95)


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
    tracks, metrics, _ = build(tmp_path, truth_maps, seg_maps, truth_rows, suvtotal)
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
        assert value["category_agreement_ge_1ml"] == 1.0  # every lesion is >= 1 mL
        assert (value["heterogeneity_agreement"], n["heterogeneity_agreement"]) == (1.0, 2)
    else:
        # ``response`` alone calls the child new: 2 of 6 follow-up rows disagree, and the
        # truth is heterogeneous at f1 and f2 (new child, lesion 3 gone), the tracks not.
        agreement = (value["category_agreement"], n["category_agreement"])
        assert agreement == (pytest.approx(4 / 6), 6)
        assert (value["heterogeneity_agreement"], n["heterogeneity_agreement"]) == (0.0, 2)


def test_false_calls_and_disagreements_have_their_causes(tmp_path):
    # 1: found at b and f, true +35 % (increasing), measured +25 % (stable): borderline.
    # 2: 0.256 mL at b, missed there; 1.024 mL at f, found: measured new (truth increasing).
    # 3: found at b, missed at f (shrunk to 0.256 mL): measured disappeared (truth decreasing).
    # 4: never found.  5: found at b and f, stable on both sides.
    # Segmentation false positives: 9 at b only, 8 at f only.
    truth_maps = {
        "b": label_map(
            (1, 0, 4, 0, 4),
            (2, 0, 2, 10, 12),
            (3, 10, 14, 0, 4),
            (4, 10, 14, 20, 24),
            (5, 16, 20, 10, 14),
        ),
        "f": label_map(
            (1, 0, 4, 0, 4),
            (2, 0, 4, 10, 14),
            (3, 10, 12, 0, 2),
            (4, 10, 14, 20, 24),
            (5, 16, 20, 10, 14),
        ),
    }
    seg_maps = {
        "b": label_map((1, 0, 4, 0, 4), (3, 10, 14, 0, 4), (5, 16, 20, 10, 14), (9, 0, 4, 30, 34)),
        "f": label_map(
            (1, 0, 4, 0, 4), (2, 0, 4, 10, 14), (5, 16, 20, 10, 14), (8, 16, 20, 30, 34)
        ),
    }
    truth_rows = [("b", v, "present", "baseline", None) for v in (1, 2, 3, 4, 5)] + [
        ("f", 1, "present", "increasing", None),
        ("f", 2, "present", "increasing", None),
        ("f", 3, "present", "decreasing", None),
        ("f", 4, "present", "stable", None),
        ("f", 5, "present", "stable", None),
    ]
    truth_suvtotal = {("b", 1): 100, ("f", 1): 135, ("b", 2): 20, ("f", 2): 100}
    truth_suvtotal |= {("b", 3): 100, ("f", 3): 20, ("b", 4): 100, ("f", 4): 100}
    truth_suvtotal |= {("b", 5): 100, ("f", 5): 100}
    suvtotal = {("b", 1): 100, ("b", 3): 100, ("b", 5): 100, ("b", 9): 50}
    suvtotal |= {("f", 1): 125, ("f", 2): 100, ("f", 5): 100, ("f", 8): 50}
    tracks, metrics, lesions = build(
        tmp_path, truth_maps, seg_maps, truth_rows, suvtotal, truth_suvtotal
    )
    # tracks at b: 1 (seg 1), 2 (seg 3), 3 (seg 5), 4 (seg 9); new at f: 5 (seg 2), 6 (seg 8)
    new, gone = event_calls(lesions, tracks)
    assert dict(zip(new["track_id"], new["cause"], strict=True)) == {
        5: "missed_before",
        6: "unmatched",
    }
    assert dict(zip(gone["track_id"], gone["cause"], strict=True)) == {
        2: "missed_now",
        4: "unmatched",
    }
    value, n = metrics["value"], metrics["n"]
    assert (value["new_precision"], n["new_precision"]) == (0.0, 2)
    assert (value["new_false_unmatched"], value["new_false_missed_before"]) == (1, 1)
    assert (value["disappeared_precision"], n["disappeared_precision"]) == (0.0, 2)
    assert (value["disappeared_false_unmatched"], value["disappeared_false_missed_now"]) == (1, 1)
    assert value["new_false_tracking"] == value["disappeared_false_tracking"] == 0
    # only 5 agrees; the never-found 4 counts as a disagreement; 2 (0.256 mL at its first
    # scan) is left out of the >= 1 mL figure
    assert (value["category_agreement"], n["category_agreement"]) == (0.2, 5)
    agreement = (value["category_agreement_ge_1ml"], n["category_agreement_ge_1ml"])
    assert agreement == (0.25, 4)
    # 4 never detected: continuity is scored over the 3 detected lesions >= 1 mL
    assert (value["track_continuity_ge_1ml"], n["track_continuity_ge_1ml"]) == (1.0, 3)
    why = category_disagreements(lesions).set_index("lesion_id")
    assert why["reason"].to_dict() == {
        1: "borderline",
        2: "new_mismatch",
        3: "not_detected_now",
        4: "never_detected",
    }
    # true changes (SUVtotal vs baseline): +35 %, +400 %, -80 %, 0 %
    assert why["true_change_pct"].tolist() == pytest.approx([35.0, 400.0, -80.0, 0.0])
