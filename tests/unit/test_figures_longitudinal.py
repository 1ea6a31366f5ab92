"""Lesion-level response figures: what is drawn equals the tables given (read back from the
matplotlib artists), on tiny hand-built tracks, heterogeneity and criteria tables."""

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from matplotlib.colors import to_hex, to_rgb
from PIL import Image

from netpet.errors import InputError
from netpet.figures.criteria import RESPONSE_COLOURS, swimmer_figure
from netpet.figures.longitudinal import (
    CATEGORY_COLOURS,
    CATEGORY_ORDER,
    DAYS_PER_MONTH,
    label_centres_mm,
    last_categories,
    lesion_mip_figure,
    response_summary_figure,
    scan_months,
    track_figure,
)
from netpet.longitudinal.tracks import BASELINE_CATEGORY, CATEGORIES

TIMEPOINTS = ["basal", "fu1", "fu2"]
MONTHS = {"basal": 0.0, "fu1": 3.0, "fu2": 6.5}


def _by_gid(artists, gid):
    found = [a for a in artists if a.get_gid() == gid]
    assert found, gid
    return found


def _one(artists, gid):
    (artist,) = _by_gid(artists, gid)
    return artist


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def _px(mm: float) -> int:
    return int(mm / 25.4 * 300)


# --- colours ---------------------------------------------------------------------------------

# Machado, Oliveira & Fernandes (2009) dichromacy simulation matrices (severity 1), linear RGB.
_DICHROMACY = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def _simulated(colour: str, matrix) -> np.ndarray:
    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    out = np.clip(np.asarray(matrix) @ linear, 0.0, 1.0)
    return np.where(out <= 0.0031308, 12.92 * out, 1.055 * out ** (1 / 2.4) - 0.055)


def test_category_colours_fixed_and_distinct_for_colour_blind_readers():
    assert sorted(CATEGORY_ORDER) == sorted(CATEGORIES)
    assert set(CATEGORY_COLOURS) == {*CATEGORIES, BASELINE_CATEGORY}
    assert {k: v.upper() for k, v in CATEGORY_COLOURS.items()} == {
        "disappearing": "#56B4E9",
        "decreasing": "#0072B2",
        "stable": "#7F7F7F",
        "increasing": "#E69F00",
        "new": "#D55E00",
        "baseline": "#CC79A7",
    }
    # Every pair stays apart (sRGB distance > 0.15 of 1.73) under each dichromacy.  Okabe-Ito
    # bluish green would fail: 0.06 from the grey of "stable" under deuteranopia.
    for palette in (CATEGORY_COLOURS, RESPONSE_COLOURS):
        for name, matrix in _DICHROMACY.items():
            sim = {k: _simulated(c, matrix) for k, c in palette.items()}
            keys = list(sim)
            for i, a in enumerate(keys):
                for b in keys[i + 1 :]:
                    assert np.linalg.norm(sim[a] - sim[b]) > 0.15, (name, a, b)
    assert (
        np.linalg.norm(
            _simulated("#009E73", _DICHROMACY["deuteranopia"])
            - _simulated("#7F7F7F", _DICHROMACY["deuteranopia"])
        )
        < 0.15
    )


# --- tracks ---------------------------------------------------------------------------------


def _row(track, t, lesion, suvtotal, status, category):
    return {
        "patient_id": "P01",
        "track_id": track,
        "timepoint": t,
        "lesion_id": lesion,
        "suvtotal": suvtotal,
        "volume_ml": np.nan if lesion is None else 1.0,
        "suvmax": np.nan if lesion is None else 10.0,
        "status": status,
        "category": category,
        "parent_track_id": None,
        "match": "overlap",
    }


@pytest.fixture
def tracks() -> pd.DataFrame:
    """Five tracks of one patient.

    1: 1000 -> 500 -> 200 (decreasing); 2: 100 -> 110 -> 400 (stable, then increasing);
    3: 300 -> gone -> gone (disappearing); 4: new at fu1 (50), 80 at fu2 (new);
    5: new at fu1 (60), gone at fu2 (a new lesion that resolves: disappearing).
    """
    rows = [
        _row(1, "basal", 1, 1000.0, "present", "baseline"),
        _row(1, "fu1", 1, 500.0, "present", "decreasing"),
        _row(1, "fu2", 2, 200.0, "present", "decreasing"),
        _row(2, "basal", 2, 100.0, "present", "baseline"),
        _row(2, "fu1", 2, 110.0, "present", "stable"),
        _row(2, "fu2", 1, 400.0, "present", "increasing"),
        _row(3, "basal", 3, 300.0, "present", "baseline"),
        _row(3, "fu1", None, np.nan, "disappeared", "disappearing"),
        _row(3, "fu2", None, np.nan, "disappeared", "disappearing"),
        _row(4, "fu1", 3, 50.0, "new", "new"),
        _row(4, "fu2", 3, 80.0, "present", "new"),
        _row(5, "fu1", 4, 60.0, "new", "new"),
        _row(5, "fu2", None, np.nan, "disappeared", "disappearing"),
    ]
    frame = pd.DataFrame(rows)
    frame["lesion_id"] = frame["lesion_id"].astype("Int64")
    return frame


EXPECTED_LAST = {1: "decreasing", 2: "increasing", 3: "disappearing", 4: "new", 5: "disappearing"}


def test_last_category_per_track(tracks):
    # Row order must not matter: shuffle.
    shuffled = tracks.sample(frac=1.0, random_state=3)
    assert last_categories(shuffled, TIMEPOINTS) == EXPECTED_LAST


def test_track_lines_colours_and_values(tracks, tmp_path):
    fig, facts = track_figure(tracks, TIMEPOINTS, patient_id="P01", scan_times=MONTHS)
    ax = fig.axes[0]
    for track, category in EXPECTED_LAST.items():
        line = _one(ax.lines, f"track:{track}")
        assert to_hex(line.get_color()) == CATEGORY_COLOURS[category].lower(), track
    one = _one(ax.lines, "track:1")
    np.testing.assert_allclose(one.get_xdata(), [0.0, 3.0, 6.5])
    np.testing.assert_allclose(one.get_ydata(), [1000, 500, 200])
    # Absent: a gap in the solid line, the dotted line at the floor (smallest SUVtotal / 3).
    floor = 50.0 / 3.0
    np.testing.assert_allclose(_one(ax.lines, "track:3").get_ydata(), [300, np.nan, np.nan])
    np.testing.assert_allclose(_one(ax.lines, "track_absent:3").get_ydata(), [300, floor, floor])
    assert _one(ax.lines, "track_absent:3").get_linestyle() == ":"
    assert not [a for a in ax.lines if a.get_gid() == "track_absent:1"]
    # Markers: new where the lesion appears, cross at the floor where it disappeared.
    new = _one(ax.lines, "new:4")
    assert (list(new.get_xdata()), list(new.get_ydata()), new.get_marker()) == ([3.0], [50.0], "^")
    gone = _one(ax.lines, "disappeared:3")
    np.testing.assert_allclose(gone.get_xdata(), [3.0, 6.5])
    np.testing.assert_allclose(gone.get_ydata(), [floor, floor])
    np.testing.assert_allclose(_one(ax.lines, "disappeared:5").get_xdata(), [6.5])
    assert ax.get_yscale() == "log"
    assert facts["counts"] == {"disappearing": 2, "decreasing": 1, "increasing": 1, "new": 1}
    assert facts["n_tracks"] == 5 and facts["x_unit"] == "months" and facts["message"] == ""
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "disappearing (2)" in legend and "new lesion" in legend and "disappeared" in legend


def test_track_linear_axis_and_evenly_spaced_scans(tracks):
    """Without scan times x is the index in the study's time points (gaps kept); linear: floor 0."""
    no_fu1 = tracks[tracks["timepoint"] != "fu1"]
    fig, facts = track_figure(no_fu1, TIMEPOINTS, patient_id="P01", log_y=False)
    ax = fig.axes[0]
    assert facts["x"] == {"basal": 0.0, "fu2": 2.0} and facts["x_unit"] == "scan"
    np.testing.assert_allclose(_one(ax.lines, "track_absent:3").get_ydata(), [300, 0.0])
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["basal", "fu2"]


def test_track_scan_times_from_days_per_patient(tracks):
    scans = pd.DataFrame(
        {
            "patient_id": ["P01", "P01", "P01", "P02"],
            "timepoint": ["basal", "fu1", "fu2", "fu1"],
            "days_from_basal": [0, 91, 200, 5],
        }
    )
    _, facts = track_figure(tracks, TIMEPOINTS, patient_id="P01", scan_times=scans)
    assert facts["x"] == pytest.approx(
        {"basal": 0.0, "fu1": 91 / DAYS_PER_MONTH, "fu2": 200 / DAYS_PER_MONTH}
    )
    assert 91 / DAYS_PER_MONTH == pytest.approx(2.9897, abs=1e-4)


def test_scan_months_needs_every_time_point():
    assert scan_months({"basal": 0, "fu1": 3}, ["basal", "fu1"]) == {"basal": 0.0, "fu1": 3.0}
    assert scan_months(None, ["basal"]) is None
    with pytest.raises(InputError, match=r"fu2"):
        scan_months({"basal": 0, "fu1": 3}, ["basal", "fu2"])
    with pytest.raises(InputError, match="months_from_baseline"):
        scan_months(
            pd.DataFrame({"patient_id": ["P"], "timepoint": ["basal"]}), ["basal"], patient_id="P"
        )


def test_track_bad_input_names_the_problem(tracks):
    other = tracks.assign(patient_id=["P01"] * 12 + ["P02"])
    with pytest.raises(InputError, match=r"P02"):
        track_figure(other, TIMEPOINTS, patient_id="P01")
    with pytest.raises(InputError, match=r"fu3"):
        track_figure(tracks.replace({"timepoint": {"fu2": "fu3"}}), TIMEPOINTS, patient_id="P01")
    with pytest.raises(InputError, match=r"'category'.*shrinking"):
        track_figure(
            tracks.replace({"category": {"decreasing": "shrinking"}}), TIMEPOINTS, patient_id="P01"
        )
    with pytest.raises(InputError, match=r"suvtotal"):
        track_figure(tracks.drop(columns="suvtotal"), TIMEPOINTS, patient_id="P01")


def test_track_empty_and_degenerate_inputs_say_why(tracks, tmp_path):
    empty = tracks.iloc[0:0]
    fig, facts = track_figure(empty, TIMEPOINTS, patient_id="P01", path=tmp_path / "e.png")
    assert "no lesion segmented" in facts["message"]
    assert any("no lesion segmented" in t for t in _texts(fig))
    assert _png_size(tmp_path / "e.png") == (_px(85), _px(85))
    # Complete response: every track disappeared; still drawn, all in the disappearing colour.
    gone = tracks[tracks["track_id"] == 3]
    fig, facts = track_figure(gone, TIMEPOINTS, patient_id="P01")
    assert facts["counts"] == {"disappearing": 1} and facts["message"] == ""
    line = _one(fig.axes[0].lines, "track:3")
    assert to_hex(line.get_color()) == CATEGORY_COLOURS["disappearing"].lower()
    # One time point: baseline only.
    fig, facts = track_figure(tracks[tracks["timepoint"] == "basal"], TIMEPOINTS, patient_id="P01")
    assert facts["message"].startswith("one time point only")
    assert facts["counts"] == {"baseline": 3}
    assert fig.axes[0].get_title(loc="left") == facts["message"]


# --- response categories ------------------------------------------------------------------------


@pytest.fixture
def heterogeneity() -> pd.DataFrame:
    """Counts per patient and follow-up (columns new, increasing, stable, decreasing,
    disappearing); ``heterogeneous`` as a TSV gives it (strings)."""
    rows = [
        ("P1", "fu1", 1, 0, 2, 3, 1, "True"),
        ("P2", "fu1", 0, 2, 1, 0, 0, "False"),
        ("P3", "fu1", 0, 0, 0, 1, 2, "False"),
        ("P1", "fu2", 2, 1, 1, 2, 1, "True"),
        ("P2", "fu2", 1, 2, 1, 0, 0, "False"),
    ]
    columns = [
        "patient_id",
        "timepoint",
        "n_new",
        "n_increasing",
        "n_stable",
        "n_decreasing",
        "n_disappearing",
        "heterogeneous",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["n_tracks"] = frame[columns[2:7]].sum(axis=1)
    frame["shares"] = ""
    return frame


def _bar(ax, gid):
    rect = _one(ax.patches, gid)
    return rect.get_y(), rect.get_height()


def test_cohort_bars_are_summed_counts_stacked_in_category_order(heterogeneity):
    fig, facts = response_summary_figure(heterogeneity, TIMEPOINTS)
    ax = fig.axes[0]
    # fu1: disappearing 3, decreasing 4, stable 3, increasing 2, new 1 (stacked in this order).
    assert _bar(ax, "cohort:fu1:disappearing") == (0.0, 3.0)
    assert _bar(ax, "cohort:fu1:decreasing") == (3.0, 4.0)
    assert _bar(ax, "cohort:fu1:stable") == (7.0, 3.0)
    assert _bar(ax, "cohort:fu1:increasing") == (10.0, 2.0)
    assert _bar(ax, "cohort:fu1:new") == (12.0, 1.0)
    # fu2: new 3, increasing 3, stable 2, decreasing 2, disappearing 1.
    assert _bar(ax, "cohort:fu2:new") == (8.0, 3.0)
    colour = _one(ax.patches, "cohort:fu2:new").get_facecolor()
    assert to_hex(colour) == CATEGORY_COLOURS["new"].lower()
    assert facts["counts"]["fu2"] == {
        "disappearing": 1,
        "decreasing": 2,
        "stable": 2,
        "increasing": 3,
        "new": 3,
    }
    assert facts["n_patients"] == {"fu1": 3, "fu2": 2}


def test_patient_bars_order_and_heterogeneity_marks(heterogeneity):
    """Share new or increasing at fu1: P1 1/7, P2 2/3, P3 0 -> order P2, P1, P3."""
    fig, facts = response_summary_figure(heterogeneity, TIMEPOINTS)
    ax = fig.axes[1]
    assert facts["order"] == ["P2", "P1", "P3"]
    assert facts["heterogeneous"] == ["P1"] and facts["n_heterogeneous"] == 1
    assert _bar(ax, "patient:P1:stable") == (4.0, 2.0)
    assert _one(ax.patches, "patient:P1:stable").get_x() == pytest.approx(1 - 0.75 / 2)
    mark = _one(ax.lines, "heterogeneous")
    np.testing.assert_allclose(mark.get_xdata(), [1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["P2", "P1", "P3"]


def test_shares_are_percent_of_the_tracks(heterogeneity):
    fig, _ = response_summary_figure(heterogeneity, TIMEPOINTS, shares=True)
    bottom, height = _bar(fig.axes[0], "cohort:fu1:stable")
    assert bottom == pytest.approx(700 / 13) and height == pytest.approx(300 / 13)
    assert _bar(fig.axes[1], "patient:P2:increasing") == pytest.approx((100 / 3, 200 / 3))
    assert fig.axes[0].get_ylabel() == "Lesion tracks (%)"


def test_summary_degenerate_inputs(heterogeneity, tmp_path):
    fig, facts = response_summary_figure(heterogeneity.iloc[0:0], TIMEPOINTS)
    assert facts["message"] == "no patient with lesion tracks at a follow-up"
    assert facts["message"] in "\n".join(_texts(fig)).replace("\n", " ")
    _, facts = response_summary_figure(heterogeneity.iloc[0:0], ["basal"], path=tmp_path / "a.png")
    assert facts["message"].startswith("one time point only")
    assert _png_size(tmp_path / "a.png") == (_px(174), _px(80))
    with pytest.raises(InputError, match=r"heterogeneous.*maybe"):
        response_summary_figure(heterogeneity.assign(heterogeneous="maybe"), TIMEPOINTS)
    with pytest.raises(InputError, match="n_new"):
        response_summary_figure(heterogeneity.drop(columns="n_new"), TIMEPOINTS)


# --- lesion MIPs ------------------------------------------------------------------------------

SPACING = (2.0, 3.0, 4.0)  # (x, y, z) mm; anisotropic, so that axis mix-ups show


def _labels(boxes) -> np.ndarray:
    """(z, y, x) label array of shape (20, 10, 16) with boxes {label: (z, y, x) slices}."""
    array = np.zeros((20, 10, 16), dtype=np.uint16)
    for label, box in boxes.items():
        array[box] = label
    return array


@pytest.fixture
def mip_case():
    suv = np.zeros((20, 10, 16), dtype=np.float32)
    suv[4:6, 3:5, 3:5] = 20.0
    basal = _labels({1: np.s_[4:6, 3:5, 3:5], 2: np.s_[12:14, 5:7, 10:12]})
    fu1 = _labels({1: np.s_[4, 3, 3], 3: np.s_[16, 2, 12], 4: np.s_[1, 1, 1]})
    tracks = pd.DataFrame(
        [
            _row(1, "basal", 1, 160.0, "present", "baseline"),
            _row(1, "fu1", 1, 20.0, "present", "decreasing"),
            _row(2, "basal", 2, 100.0, "present", "baseline"),
            _row(2, "fu1", None, np.nan, "disappeared", "disappearing"),
            _row(3, "fu1", 3, 30.0, "new", "new"),
        ]
    )
    return suv, {"basal": basal, "fu1": fu1}, tracks


def test_label_centres_in_mm():
    image = sitk.GetImageFromArray(_labels({1: np.s_[4:6, 3:5, 3:5], 7: np.s_[0, 0, 1]}))
    image.SetSpacing(SPACING)
    image.SetOrigin((10.0, 0.0, -5.0))
    centres = label_centres_mm(image)
    # Index centre (x, y, z) = (3.5, 3.5, 4.5) -> 10 + 7, 10.5, -5 + 18.
    np.testing.assert_allclose(centres[1], [17.0, 10.5, 13.0])
    np.testing.assert_allclose(centres[7], [12.0, 0.0, -5.0])


def test_mip_labels_outlines_and_disappeared_marks(mip_case):
    suv, labels, tracks = mip_case
    fig, facts = lesion_mip_figure(
        suv, labels, tracks, ["basal", "fu1"], patient_id="P01", spacing_mm=SPACING
    )
    basal_ax, fu_ax = fig.axes
    texts = {
        t.get_text(): (t.get_position(), to_hex(t.get_color()))
        for t in _by_gid(fu_ax.texts, "track_label:fu1")
    }
    # Coronal: (x, z) mm of the lesion centre; lesion 1 at index (3, 3, 4), lesion 3 (12, 2, 16).
    assert texts == {
        "1": ((6.0, 16.0), CATEGORY_COLOURS["decreasing"].lower()),
        "3": ((24.0, 64.0), CATEGORY_COLOURS["new"].lower()),
    }
    basal_texts = {
        t.get_text(): t.get_position() for t in _by_gid(basal_ax.texts, "track_label:basal")
    }
    assert basal_texts == {"1": (7.0, 18.0), "2": (21.0, 50.0)}
    assert {c.get_gid() for c in basal_ax.collections} >= {"outline:basal:baseline"}
    gids = {c.get_gid() for c in fu_ax.collections}
    assert {"outline:fu1:decreasing", "outline:fu1:new", "outline:fu1:untracked"} <= gids
    outline = next(c for c in fu_ax.collections if c.get_gid() == "outline:fu1:new")
    assert to_hex(outline.get_edgecolor()[0]) == CATEGORY_COLOURS["new"].lower()
    # Track 2 disappeared at fu1: crossed at its baseline centre.
    gone = _one(fu_ax.lines, "disappeared:fu1")
    np.testing.assert_allclose(np.c_[gone.get_xdata(), gone.get_ydata()], [[21.0, 50.0]])
    assert facts["lesions"] == {"basal": {1: [1], 2: [2]}, "fu1": {1: [1], 3: [3]}}
    assert facts["untracked"] == {"basal": [], "fu1": [4]}
    assert facts["categories"]["fu1"] == {"decreasing": 1, "new": 1, "untracked": 1}
    assert facts["disappeared"] == {"fu1": [2]}
    assert facts["background"] == {"basal": "baseline", "fu1": "baseline"}
    assert "baseline SUV in every panel" in fig._suptitle.get_text()


def test_mip_sagittal_merged_tracks_and_sitk_input(mip_case):
    """Sagittal: horizontal = y mm; a lesion of two merged tracks is labelled "1+2"."""
    suv, labels, tracks = mip_case
    merged = tracks.copy()
    merged.loc[3, ["lesion_id", "suvtotal", "status", "category"]] = [
        1,
        20.0,
        "merged",
        "decreasing",
    ]
    merged.loc[1, "status"] = "merged"
    image = sitk.GetImageFromArray(suv)
    image.SetSpacing(SPACING)
    fig, facts = lesion_mip_figure(
        image,
        {"basal": labels["basal"], "fu1": labels["fu1"]},
        merged,
        ["basal", "fu1"],
        patient_id="P01",
        spacing_mm=SPACING,
        view="sagittal",
    )
    texts = {t.get_text(): t.get_position() for t in _by_gid(fig.axes[1].texts, "track_label:fu1")}
    assert texts == {"1+2": (9.0, 16.0), "3": (6.0, 64.0)}
    assert facts["lesions"]["fu1"] == {1: [1, 2], 3: [3]}
    assert facts["disappeared"] == {}


def test_mip_missing_and_empty_label_maps_and_bad_grid(mip_case):
    suv, labels, tracks = mip_case
    fig, _ = lesion_mip_figure(
        suv,
        {"basal": np.zeros_like(labels["basal"]), "fu1": None},
        tracks.iloc[0:0],
        ["basal", "fu1"],
        patient_id="P01",
        spacing_mm=SPACING,
    )
    assert [ax.get_title() for ax in fig.axes] == ["basal: no lesion", "fu1: no label map"]
    with pytest.raises(InputError, match="not on the PET grid"):
        lesion_mip_figure(
            suv,
            {"basal": labels["basal"][:, :, :8]},
            tracks[tracks["timepoint"] == "basal"],
            ["basal"],
            patient_id="P01",
            spacing_mm=SPACING,
        )
    with pytest.raises(InputError, match="spacing_mm"):
        lesion_mip_figure(suv, labels, tracks, ["basal", "fu1"], patient_id="P01")


# --- swimmer plot ----------------------------------------------------------------------------


@pytest.fixture
def swimmer_case():
    patients = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4"],
            "pfs_months": [10.0, 20.0, np.nan, 2.0],
            "progression": [1, 0, np.nan, 1],
        }
    )
    criteria = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", "P3"],
            "timepoint": ["fu1", "fu2", "fu1", "fu1"],
            "percist": ["PR", "PD", "CR", "SD"],
            "eortc": ["SD", "PD", "", "sd"],
            "sst_tv": ["NE", None, None, None],
            "note": ["", "", "", ""],
        }
    )
    # Days of exactly 3, 8, 4 and 5 months.
    scans = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", "P3"],
            "timepoint": ["fu1", "fu2", "fu1", "fu1"],
            "days_from_basal": np.array([3, 8, 4, 5]) * DAYS_PER_MONTH,
        }
    )
    return criteria, patients, scans


def test_swimmer_bars_markers_and_events(swimmer_case):
    criteria, patients, scans = swimmer_case
    fig, facts = swimmer_figure(criteria, patients, TIMEPOINTS, scan_times=scans)
    # Longest bar on top: P2 20, P1 10, P3 5 (last follow-up, no PFS), P4 2.
    assert facts["order"] == ["P2", "P1", "P3", "P4"]
    assert facts["bar_months"] == pytest.approx({"P1": 10.0, "P2": 20.0, "P3": 5.0, "P4": 2.0})
    assert facts["bar_source"]["P3"] == "last follow-up"
    assert facts["criteria"] == ["percist", "eortc", "sst_tv"]
    percist, eortc, sst_tv = fig.axes[:3]
    assert _one(percist.patches, "bar:P2").get_width() == 20.0
    assert _one(percist.patches, "bar:P3").get_hatch() == "////"
    assert _one(percist.patches, "bar:P1").get_hatch() is None
    expected = {
        "CR": ([4.0], [0.0]),
        "PR": ([3.0], [1.0]),
        "SD": ([5.0], [2.0]),
        "PD": ([8.0], [1.0]),
    }
    for cls, (x, y) in expected.items():
        line = _one(percist.lines, f"response:percist:{cls}")
        np.testing.assert_allclose(line.get_xdata(), x)
        np.testing.assert_allclose(line.get_ydata(), y)
        assert to_hex(line.get_color()) == RESPONSE_COLOURS[cls].lower()
    sd = _one(eortc.lines, "response:eortc:SD")
    np.testing.assert_allclose(np.c_[sd.get_xdata(), sd.get_ydata()], [[3.0, 1.0], [5.0, 2.0]])
    assert facts["counts"]["eortc"] == {"CR": 0, "PR": 0, "SD": 2, "PD": 1}
    assert facts["not_assessed"] == {"percist": 0, "eortc": 1, "sst_tv": 4}
    assert sst_tv.get_title(loc="left") == "SST-TV (not assessed)"
    event = _one(percist.lines, "event")
    np.testing.assert_allclose(
        np.c_[event.get_xdata(), event.get_ydata()], [[10.0, 1.0], [2.0, 3.0]]
    )
    censored = _one(percist.lines, "censored")
    np.testing.assert_allclose(np.c_[censored.get_xdata(), censored.get_ydata()], [[20.0, 0.0]])
    assert facts["n_events"] == 2
    assert [t.get_text() for t in percist.get_yticklabels()] == ["P2", "P1", "P3", "P4"]


def test_swimmer_schedule_mapping_and_criteria_subset(swimmer_case):
    criteria, patients, _ = swimmer_case
    fig, facts = swimmer_figure(
        criteria, patients, TIMEPOINTS, scan_times=MONTHS, criteria_columns=["eortc"]
    )
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 1
    pd_line = _one(fig.axes[0].lines, "response:eortc:PD")
    np.testing.assert_allclose(pd_line.get_xdata(), [6.5])
    assert facts["bar_months"]["P3"] == 3.0  # last follow-up fu1 at 3 months


def test_swimmer_bad_and_degenerate_inputs(swimmer_case, tmp_path):
    criteria, patients, scans = swimmer_case
    with pytest.raises(InputError, match=r"'percist'.*'BEST'"):
        swimmer_figure(criteria.assign(percist="best"), patients, TIMEPOINTS, scan_times=scans)
    with pytest.raises(InputError, match="scan_times"):
        swimmer_figure(criteria, patients, TIMEPOINTS)
    with pytest.raises(InputError, match="more than one row"):
        swimmer_figure(pd.concat([criteria, criteria]), patients, TIMEPOINTS, scan_times=scans)
    with pytest.raises(InputError, match=r"\['P1'\] have more than one row"):
        swimmer_figure(
            criteria, pd.concat([patients, patients.iloc[:1]]), TIMEPOINTS, scan_times=scans
        )
    fig, facts = swimmer_figure(
        criteria[["patient_id", "timepoint"]], patients, TIMEPOINTS, scan_times=scans
    )
    assert facts["message"] == "no response criterion in the criteria table"
    assert fig.axes[0].get_title(loc="left") == facts["message"]
    fig, facts = swimmer_figure(
        criteria.iloc[0:0], patients.iloc[0:0], TIMEPOINTS, path=tmp_path / "s.png"
    )
    assert facts["message"] == "no patient: nothing to draw"
    assert _png_size(tmp_path / "s.png") == (_px(174), _px(60))


# --- files: size and byte-identical reruns ---------------------------------------------------


def test_png_files_have_their_size_and_identical_bytes(
    tracks, heterogeneity, mip_case, swimmer_case, tmp_path
):
    suv, labels, mip_tracks = mip_case
    criteria, patients, scans = swimmer_case
    makers = {
        "tracks": lambda p: track_figure(tracks, TIMEPOINTS, patient_id="P01", path=p),
        "summary": lambda p: response_summary_figure(heterogeneity, TIMEPOINTS, path=p),
        "mip": lambda p: lesion_mip_figure(
            suv, labels, mip_tracks, ["basal", "fu1"], patient_id="P01", spacing_mm=SPACING, path=p
        ),
        "swimmer": lambda p: swimmer_figure(
            criteria, patients, TIMEPOINTS, scan_times=scans, path=p
        ),
    }
    for name, make in makers.items():
        fig, facts = make(tmp_path / f"{name}_a.png")
        make(tmp_path / f"{name}_b.png")
        first = (tmp_path / f"{name}_a.png").read_bytes()
        assert first == (tmp_path / f"{name}_b.png").read_bytes(), name
        width, height = fig.get_size_inches() * 300
        assert _png_size(tmp_path / f"{name}_a.png") == (int(width), int(height)), name
    assert _png_size(tmp_path / "tracks_a.png") == (_px(85), _px(85))
    assert _png_size(tmp_path / "summary_a.png") == (_px(174), _px(80))
    assert _png_size(tmp_path / "swimmer_a.png") == tuple(_px(v) for v in facts["size_mm"])
    assert _png_size(tmp_path / "mip_a.png")[0] == _px(174)
