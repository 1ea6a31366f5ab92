"""Lesion tracks and response heterogeneity on hand-built label maps with known answers."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from netpet.errors import InputError
from netpet.longitudinal.heterogeneity import (
    NO_TRACKS_NOTE,
    heterogeneity_table,
    heterogeneity_wide,
)
from netpet.longitudinal.tracks import (
    TRACK_COLUMNS,
    TrackSettings,
    categorise,
    cohort_tracks,
    link_lesions,
    owner_rows,
    patient_tracks,
    regions,
)

SPACING = (4.0, 4.0, 4.0)  # (x, y, z) mm
DEFAULT = TrackSettings()


def label_map(*boxes, shape=(1, 20, 20)) -> np.ndarray:
    """(z, y, x) label map with ``(lesion_id, y0, y1, x0, x1)`` boxes in slice 0."""
    labels = np.zeros(shape, np.int32)
    for lesion_id, y0, y1, x0, x1 in boxes:
        labels[0, y0:y1, x0:x1] = lesion_id
    return labels


def features(suvtotal: dict) -> pd.DataFrame:
    """Features rows from ``{(timepoint, lesion_id): suvtotal}``; volume and SUVmax derived."""
    return pd.DataFrame(
        [
            {
                "timepoint": t,
                "lesion_id": v,
                "suvtotal": s,
                "volume_ml": s / 100.0,
                "suvmax": s / 10.0,
            }
            for (t, v), s in suvtotal.items()
        ],
        columns=["timepoint", "lesion_id", "suvtotal", "volume_ml", "suvmax"],
    )


def track(table: pd.DataFrame, track_id: int) -> pd.DataFrame:
    return table[table["track_id"] == track_id].reset_index(drop=True)


def run(maps, suvtotal, timepoints=("b", "f1", "f2"), settings=DEFAULT) -> pd.DataFrame:
    timepoints = list(timepoints)[: len(maps)]
    return patient_tracks(
        "P1",
        timepoints=timepoints,
        label_maps_zyx=maps,
        spacing_mm=SPACING,
        lesions=features(suvtotal),
        settings=settings,
    )


def test_regions_counts_and_centres_in_mm():
    table = regions(label_map((3, 0, 2, 0, 4), (7, 10, 11, 5, 6)), SPACING)
    assert table.index.tolist() == [3, 7]
    assert table["voxels"].tolist() == [8, 1]
    # lesion 3: y 0..1 -> 0.5, x 0..3 -> 1.5; times 4 mm
    assert table.loc[3, ["centre_x_mm", "centre_y_mm", "centre_z_mm"]].tolist() == [6, 2, 0]
    assert table.loc[7, ["centre_x_mm", "centre_y_mm"]].tolist() == [20, 40]


def test_one_to_one_keeps_ids_measurements_and_categories():
    base = label_map((1, 0, 4, 0, 4), (2, 10, 14, 10, 14))
    follow = label_map((5, 10, 13, 10, 13), (8, 0, 4, 1, 5))  # ids differ from baseline
    table = run([base, follow], {("b", 1): 100, ("b", 2): 50, ("f1", 8): 140, ("f1", 5): 20})
    assert list(table.columns) == list(TRACK_COLUMNS)
    assert table["track_id"].tolist() == [1, 1, 2, 2]
    assert table["lesion_id"].tolist() == [1, 8, 2, 5]
    assert table["status"].tolist() == ["present"] * 4
    assert table["match"].tolist() == ["", "overlap", "", "overlap"]
    assert table["category"].tolist() == ["baseline", "increasing", "baseline", "decreasing"]
    assert table["suvtotal"].tolist() == [100, 140, 50, 20]
    assert table["suvmax"].tolist() == [10, 14, 5, 2]
    assert table["parent_track_id"].isna().all()
    assert str(table["lesion_id"].dtype) == "Int64"


def test_new_and_disappeared():
    base = label_map((1, 0, 4, 0, 4))
    follow = label_map((3, 15, 18, 15, 18))  # 21 voxels (84 mm) away: beyond 15 mm
    table = run([base, follow], {("b", 1): 100, ("f1", 3): 30})
    gone, new = track(table, 1), track(table, 2)
    assert gone["status"].tolist() == ["present", "disappeared"]
    assert gone["lesion_id"].isna().tolist() == [False, True]
    assert np.isnan(gone.loc[1, ["suvtotal", "volume_ml", "suvmax"]].to_numpy(float)).all()
    assert gone["category"].tolist() == ["baseline", "disappearing"]
    assert gone["match"].tolist() == ["", ""]
    assert new["timepoint"].tolist() == ["f1"]  # no row before the first appearance
    assert new[["lesion_id", "status", "category"]].iloc[0].tolist() == [3, "new", "new"]


def test_reappearing_lesion_continues_its_track_over_three_scans():
    base = label_map((1, 0, 4, 0, 4))
    empty = label_map()
    back = label_map((2, 1, 4, 1, 4))
    table = run([base, empty, back], {("b", 1): 100, ("f2", 2): 60})
    assert table["track_id"].unique().tolist() == [1]
    assert table["status"].tolist() == ["present", "disappeared", "present"]
    assert table["lesion_id"].tolist() == [1, pd.NA, 2]
    assert table["category"].tolist() == ["baseline", "disappearing", "decreasing"]
    assert table["match"].tolist() == ["", "", "overlap"]  # with the extent of two scans ago


def test_new_lesion_that_resolves_is_disappearing_like_the_truth():
    base = label_map((1, 0, 4, 0, 4))
    follow1 = label_map((1, 0, 4, 0, 4), (2, 15, 18, 15, 18))
    follow2 = label_map((1, 0, 4, 0, 4))
    suv = {("b", 1): 100, ("f1", 1): 100, ("f1", 2): 10, ("f2", 1): 100}
    table = run([base, follow1, follow2], suv)
    assert track(table, 2)["category"].tolist() == ["new", "disappearing"]
    assert track(table, 2)["status"].tolist() == ["new", "disappeared"]


def test_split_largest_child_keeps_the_track_and_family_category():
    base = label_map((1, 0, 6, 0, 6))  # 36 voxels
    follow = label_map((4, 0, 6, 0, 2), (3, 0, 6, 3, 6))  # 12 and 18 voxels
    table = run([base, follow], {("b", 1): 100, ("f1", 3): 50, ("f1", 4): 19})
    parent, child = track(table, 1), track(table, 2)
    assert parent["lesion_id"].tolist() == [1, 3]  # the larger child
    assert parent["status"].tolist() == ["present", "split"]
    assert child[["lesion_id", "status", "parent_track_id", "match"]].iloc[0].tolist() == [
        4,
        "split",
        1,
        "overlap",
    ]
    # family: 50 + 19 = 69 against 100 = -31 %: decreasing for both, though 50 alone is -50 %
    # and the child alone has no baseline.
    assert parent["category"].tolist() == ["baseline", "decreasing"]
    assert child["category"].tolist() == ["decreasing"]
    # 50 + 21 = 71: -29 %: stable
    table = run([base, follow], {("b", 1): 100, ("f1", 3): 50, ("f1", 4): 21})
    assert table.loc[table["timepoint"] == "f1", "category"].tolist() == ["stable", "stable"]


def test_merge_continues_largest_parent_and_absorbed_track_follows():
    base = label_map((1, 0, 4, 0, 6), (2, 5, 7, 0, 6))  # 24 and 12 voxels
    merged = label_map((9, 0, 7, 0, 6))
    later = label_map((4, 0, 7, 0, 6))
    suv = {("b", 1): 100, ("b", 2): 50, ("f1", 9): 200, ("f2", 4): 100}
    table = run([base, merged, later], suv)
    survivor, absorbed = track(table, 1), track(table, 2)
    assert survivor["lesion_id"].tolist() == [1, 9, 4]
    assert survivor["status"].tolist() == ["present", "merged", "present"]
    assert survivor["suvtotal"].tolist() == [100, 200, 100]
    assert absorbed["lesion_id"].tolist() == [2, 9, 4]
    assert absorbed["status"].tolist() == ["present", "merged", "merged"]
    assert absorbed["parent_track_id"].tolist() == [pd.NA, 1, 1]
    assert absorbed["suvtotal"].isna().tolist() == [False, True, True]  # each lesion once
    # family: 200 vs 150 = +33 % increasing; 100 vs 150 = -33 % decreasing
    for rows in (survivor, absorbed):
        assert rows["category"].tolist() == ["baseline", "increasing", "decreasing"]
    assert len(table) == 6
    assert len(owner_rows(table)) == 4


def test_many_to_many_continues_by_shared_voxels_then_absorbs():
    base = label_map((1, 0, 6, 0, 6), (2, 0, 6, 7, 9), (3, 0, 6, 11, 13))  # 36, 12, 12
    # lesion 6 (24 voxels) is 1's left two thirds; lesion 5 (54) covers 1's right third
    # (12 shared voxels), all of 2 and all of 3
    follow = label_map((6, 0, 6, 0, 4), (5, 0, 6, 4, 13))
    suv = {("b", 1): 100, ("b", 2): 30, ("b", 3): 30, ("f1", 5): 120, ("f1", 6): 60}
    table = run([base, follow], suv)
    f1 = table[table["timepoint"] == "f1"].set_index("track_id")
    # track 1 (largest) continues with the lesion it shares most with (6: 24 voxels, not the
    # larger 5: 12); tracks 2 and 3 (12 voxels each, tie: smaller id first): 2 continues with
    # 5 and 3, left over, is absorbed into it.  Nothing is left over to split off.
    assert f1["lesion_id"].tolist() == [6, 5, 5]
    assert f1["status"].tolist() == ["present", "merged", "merged"]
    assert f1["parent_track_id"].tolist() == [pd.NA, pd.NA, 2]
    # families {1} and {2, 3} (the 1-5 link continues nothing): 60 vs 100 = -40 %;
    # 120 vs 30 + 30 = +100 %
    assert f1["category"].tolist() == ["decreasing", "increasing", "increasing"]


def test_split_piece_sharing_most_voxels_keeps_the_track():
    base = label_map((1, 0, 6, 0, 6))  # 36 voxels
    # 3: 18 voxels, all inside the old extent; 4: 36 voxels, 12 of them inside
    follow = label_map((3, 0, 6, 0, 3), (4, 0, 6, 4, 10))
    suv = {("b", 1): 100, ("f1", 3): 50, ("f1", 4): 100}
    table = run([base, follow], suv)
    assert track(table, 1)["lesion_id"].tolist() == [1, 3]  # not the larger 4
    assert track(table, 2)[["lesion_id", "parent_track_id"]].iloc[0].tolist() == [4, 1]
    # shared voxels tie (12 and 12): the larger piece continues
    follow = label_map((3, 0, 6, 0, 2), (4, 0, 6, 4, 10))
    table = run([base, follow], {("b", 1): 100, ("f1", 3): 30, ("f1", 4): 100})
    assert track(table, 1)["lesion_id"].tolist() == [1, 4]
    assert track(table, 2)["lesion_id"].tolist() == [3]


def test_overlap_threshold_edge_and_distance_fallback():
    base = label_map((1, 0, 4, 0, 4))  # 16 voxels
    shifted = label_map((2, 0, 4, 3, 7))  # shares one column: 4 / 16 = 0.25
    suv = {("b", 1): 100, ("f1", 2): 100}
    at_edge = run([base, shifted], suv, settings=TrackSettings(min_overlap_fraction=0.25))
    assert track(at_edge, 1)["match"].tolist() == ["", "overlap"]
    above = TrackSettings(min_overlap_fraction=0.3, max_centre_distance_mm=12.0)
    by_distance = run([base, shifted], suv, settings=above)  # centres 3 voxels = 12 mm apart
    assert track(by_distance, 1)["match"].tolist() == ["", "distance"]
    assert track(by_distance, 1)["status"].tolist() == ["present", "present"]
    too_far = TrackSettings(min_overlap_fraction=0.3, max_centre_distance_mm=11.9)
    table = run([base, shifted], suv, settings=too_far)
    assert table["status"].tolist() == ["present", "disappeared", "new"]


def test_distance_matching_is_one_to_one_nearest_first():
    # Track centres (y, x) = (1.5, 2) for A and (1.5, 12) for B; lesion C at (11.5, 8) is
    # sqrt(116) voxels from B and sqrt(136) from A; lesion D at (11.5, 15) is sqrt(109) from
    # B and sqrt(269) (66 mm, too far) from A.  Nearest first gives D-B, then C-A; taking
    # lesions in id order would give C-B and leave D without a track.
    base = label_map((1, 0, 4, 1, 4), (2, 0, 4, 11, 14))
    follow = label_map((3, 10, 14, 7, 10), (4, 10, 14, 14, 17))
    settings = TrackSettings(max_centre_distance_mm=60.0)
    suv = {("b", 1): 1, ("b", 2): 1, ("f1", 3): 1, ("f1", 4): 1}
    f1 = run([base, follow], suv, settings=settings).query("timepoint == 'f1'")
    assert dict(zip(f1["track_id"], f1["lesion_id"], strict=True)) == {1: 3, 2: 4}
    assert set(f1["match"]) == {"distance"}
    # one lesion equally far from both tracks (x = 7): the smaller track id wins
    follow = label_map((3, 10, 14, 6, 9))
    del suv[("f1", 4)]
    f1 = run([base, follow], suv, settings=settings).query("timepoint == 'f1'")
    assert f1["lesion_id"].tolist() == [3, pd.NA]


def test_new_track_ids_follow_first_appearance_then_lesion_id():
    base = label_map((5, 0, 4, 0, 4))
    follow = label_map((9, 0, 4, 0, 2), (4, 10, 12, 10, 12), (7, 0, 4, 3, 4), (2, 15, 17, 0, 2))
    suv = {("b", 5): 10, ("f1", 9): 5, ("f1", 4): 1, ("f1", 7): 2, ("f1", 2): 1}
    table = run([base, follow], suv)
    f1 = table[table["timepoint"] == "f1"]
    assert dict(zip(f1["track_id"], f1["lesion_id"], strict=True)) == {1: 9, 2: 2, 3: 4, 4: 7}
    assert f1.set_index("track_id").loc[4, "status"] == "split"


def test_categorise_thresholds_are_those_of_the_synthetic_truth():
    base = np.array([100, 100, 100, 100, 100, 0, 0, np.nan])
    now = np.array([70, 69.99, 130, 130.01, 0, 5, 0, 3])
    assert categorise(base, now, settings=DEFAULT).tolist() == [
        "stable",
        "decreasing",
        "stable",
        "increasing",
        "disappearing",
        "new",
        "disappearing",
        "new",
    ]
    narrow = TrackSettings(decrease_pct=-10, increase_pct=10)
    assert categorise([100], [85], settings=narrow).tolist() == ["decreasing"]


def test_zero_lesions_everywhere_is_a_result():
    table = run([label_map(), label_map()], {})
    assert table.empty and list(table.columns) == list(TRACK_COLUMNS)
    het = heterogeneity_table(table, scans=[("P1", "b"), ("P1", "f1")], baseline="b")
    row = het.iloc[0]
    assert row["n_tracks"] == 0 and row["n_new"] == 0 and not row["heterogeneous"]
    assert np.isnan(row["share_new"]) and row["note"] == NO_TRACKS_NOTE


def test_settings_from_config_and_bad_values():
    settings = TrackSettings.from_config({"min_overlap_fraction": 0.5, "registration": {}})
    assert settings.min_overlap_fraction == 0.5
    assert settings.max_centre_distance_mm == DEFAULT.max_centre_distance_mm
    assert TrackSettings.from_config(None) == DEFAULT
    with pytest.raises(InputError, match="min_overlap_fraction"):
        TrackSettings(min_overlap_fraction=0)
    with pytest.raises(InputError, match="decrease_pct"):
        TrackSettings(decrease_pct=10)


def test_heterogeneity_counts_by_hand():
    rows = [
        # track, timepoint, lesion_id (None = absent), category
        (1, "b", 1, "baseline"),
        (1, "f1", 1, "decreasing"),
        (1, "f2", 1, "decreasing"),
        (2, "b", 2, "baseline"),
        (2, "f1", None, "disappearing"),
        (2, "f2", None, "disappearing"),  # at baseline: counted at f2 too
        (3, "f1", 3, "new"),
        (3, "f2", None, "disappearing"),  # neither at baseline nor at f2: not counted
        (4, "b", 4, "baseline"),
        (4, "f1", 4, "stable"),
        (4, "f2", 4, "increasing"),
    ]
    tracks = pd.DataFrame(rows, columns=["track_id", "timepoint", "lesion_id", "category"])
    tracks = tracks.assign(patient_id="P1", lesion_id=tracks["lesion_id"].astype("Int64"))
    scans = [("P1", "b"), ("P1", "f1"), ("P1", "f2"), ("P2", "b"), ("P2", "f1")]
    het = heterogeneity_table(tracks, scans=scans, baseline="b").set_index(
        ["patient_id", "timepoint"]
    )
    f1, f2, empty = het.loc[("P1", "f1")], het.loc[("P1", "f2")], het.loc[("P2", "f1")]
    assert f1[["n_tracks", "n_new", "n_stable", "n_decreasing", "n_disappearing"]].tolist() == [
        4,
        1,
        1,
        1,
        1,
    ]
    assert f1["share_new"] == pytest.approx(0.25) and f1["heterogeneous"]
    assert f2[["n_tracks", "n_increasing", "n_decreasing", "n_disappearing"]].tolist() == [
        3,
        1,
        1,
        1,
    ]
    assert f2["n_new"] == 0 and f2["heterogeneous"]
    assert empty["n_tracks"] == 0 and not empty["heterogeneous"]

    wide = heterogeneity_wide(het.reset_index(), followups=["f1", "f2"]).set_index("patient_id")
    assert wide.loc["P1", "heterogeneous_f1"] and wide.loc["P1", "n_new_f1"] == 1
    assert wide.loc["P1", "share_disappearing_f2"] == pytest.approx(1 / 3)
    assert wide.loc["P2", "n_tracks_f1"] == 0 and pd.isna(wide.loc["P2", "heterogeneous_f2"])


def test_heterogeneity_without_progression_is_not_heterogeneous():
    tracks = pd.DataFrame(
        {
            "patient_id": "P1",
            "track_id": [1, 1, 2, 2],
            "timepoint": ["b", "f1", "b", "f1"],
            "lesion_id": pd.array([1, 1, 2, None], dtype="Int64"),
            "category": ["baseline", "stable", "baseline", "disappearing"],
        }
    )
    het = heterogeneity_table(tracks, scans=[("P1", "b"), ("P1", "f1")], baseline="b")
    assert het["heterogeneous"].tolist() == [False]
    assert het["n_disappearing"].tolist() == [1]


def write_map(path, labels_zyx, *, origin=(0.0, 0.0, 0.0)):
    image = sitk.GetImageFromArray(labels_zyx.astype(np.uint16))
    image.SetSpacing(SPACING)
    image.SetOrigin(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))
    return path


def test_cohort_tracks_from_files(tmp_path, caplog):
    paths = [
        write_map(tmp_path / "P1_b.nii.gz", label_map((1, 0, 4, 0, 4))),
        write_map(tmp_path / "P1_f.nii.gz", label_map((2, 0, 4, 0, 4))),
        write_map(tmp_path / "P2_b.nii.gz", label_map()),
        write_map(tmp_path / "P2_f.nii.gz", label_map()),
    ]
    lesions = features({("b", 1): 100, ("f", 2): 100, ("f", 3): 1})
    lesions["patient_id"] = "P1"
    scans = [("P1", "f"), ("P1", "b"), ("P2", "b"), ("P2", "f")]
    order = [1, 0, 2, 3]
    with caplog.at_level(logging.WARNING, logger="netpet.longitudinal.tracks"):
        table = cohort_tracks(
            scans=scans,
            label_paths=[paths[i] for i in order],
            lesions=lesions,
            timepoints=["b", "f"],
            settings=DEFAULT,
        )
    assert table["timepoint"].tolist() == ["b", "f"]
    assert table["category"].tolist() == ["baseline", "stable"]
    assert "('f', 3)" in caplog.text  # in the features table, not in the map

    write_map(tmp_path / "P1_f.nii.gz", label_map((2, 0, 4, 0, 4)), origin=(4.0, 0.0, 0.0))
    with pytest.raises(InputError, match="not on the baseline PET grid"):
        cohort_tracks(
            scans=scans[:2],
            label_paths=[paths[1], paths[0]],
            lesions=lesions,
            timepoints=["b", "f"],
            settings=DEFAULT,
        )
    with pytest.raises(InputError, match="no row for lesion"):
        cohort_tracks(
            scans=[("P1", "b")],
            label_paths=[paths[0]],
            lesions=lesions[lesions["lesion_id"] != 1],
            timepoints=["b", "f"],
            settings=DEFAULT,
        )


def test_link_lesions_is_deterministic_under_reordering_of_ids():
    base = label_map((1, 0, 6, 0, 6), (2, 10, 14, 10, 14))
    follow = label_map((3, 0, 6, 0, 3), (4, 0, 6, 3, 6), (5, 10, 14, 10, 14))
    first = link_lesions([base, follow], spacing_mm=SPACING, settings=DEFAULT)
    again = link_lesions([base.copy(), follow.copy()], spacing_mm=SPACING, settings=DEFAULT)
    pd.testing.assert_frame_equal(first, again)
    # lesions 3 and 4 tie in size (18 voxels): the smaller lesion_id continues the track
    f1 = first[first["scan"] == 1].set_index("track_id")
    assert f1.loc[1, "lesion_id"] == 3 and f1.loc[3, "lesion_id"] == 4
    assert f1.loc[3, "parent_track_id"] == 1
