"""Lesion tracks: matching segmented lesions across any number of scans, and their response.

Every scan's lesion label map (``lesion_id`` = label value, 0 background) is first brought
onto the **baseline PET grid** (the baseline's own map; follow-ups resampled by the
registration step, nearest neighbour, ids preserved).  Scans are then visited in time order
and each scan's lesions are matched to the tracks built so far (STUDY.md sections 2 and 3.6).

Matching rules
--------------
- A track is compared through its **most recent present extent**: the voxels of the lesion it
  last owned, at whichever earlier scan that was.  A track absent at one scan can therefore
  be picked up again later (a reappearing lesion continues its track, status ``present``).
- **Overlap first.**  A track and a lesion are linked when the voxels they share are at least
  ``min_overlap_fraction`` of the smaller of the two regions.  Links form a bipartite graph;
  each connected component is one event:

  * 1 track - 1 lesion: the lesion continues the track (``present``).
  * 1 track - k lesions (**split**): the lesion sharing most voxels with the track's last
    extent continues the track (ties: the larger lesion, voxels on the baseline grid, then
    the smaller ``lesion_id``); every other lesion starts a new track whose first row has the
    split track as ``parent_track_id``.  All k rows get status ``split``.  Shared voxels
    rather than size: the piece that still occupies the lesion's place is the lesion; a
    piece that grew elsewhere is not.  (Two synthetic cohorts of 12 patients, whose truth
    names the parent of every split: choosing by size gave the parent's track to the other
    piece in 4 of 20 splits, choosing by shared voxels in 2: an exact tie, and a parent the
    segmentation caught at a sixth of its volume.)
  * k tracks - 1 lesion (**merge**): the lesion continues the largest parent (voxels of its
    last extent; ties: smaller ``track_id``), status ``merged``; every other parent is
    *absorbed*: its row shows status ``merged``, the merged lesion's ``lesion_id`` and, as
    ``parent_track_id``, the track it merged into.
  * k tracks - m lesions (**many-many**): tracks in order of decreasing size (ties: smaller
    ``track_id``) each continue with the linked lesion not yet taken that shares most voxels
    with them (ties: the larger lesion, then the smaller ``lesion_id``).  A lesion left over
    splits off the linked track it shares most voxels with (ties: smaller ``track_id``); a
    track left over is absorbed into the linked lesion it shares most voxels with (ties:
    smaller ``lesion_id``).  This reduces to the split and merge rules above.  A continued
    lesion that absorbed a track is ``merged``; one whose track also split is ``split``
    (``merged`` wins when both); a pair without either event is ``present``.  A link between
    a track and a lesion that both continue with other partners is not recorded (no split,
    merge or family): each is matched to what it shares most with.

- **Centre distance second.**  Lesions and (non-absorbed) tracks without any overlap link are
  paired one to one, nearest centres first, when the centres (voxel-centre mean on the
  baseline grid) are at most ``max_centre_distance_mm`` apart; ties go to the smaller
  ``lesion_id``, then the smaller ``track_id``.  Such rows have ``match`` = ``distance``.
- A lesion still unmatched starts a new track (``new``); a track with no lesion is
  ``disappeared`` (empty ``lesion_id``).
- An absorbed track takes no further part in matching: its tissue continues in the track it
  merged into.  Its rows at later scans show status ``merged`` with the lesion the surviving
  track owns then (``disappeared`` when that track has none), ``parent_track_id`` = the
  surviving track.  So lesions that merge and later separate again come back as a split
  off the surviving track, not as the absorbed track.

``parent_track_id`` is therefore set on a split-off track's first row and on every row of an
absorbed track from its merge on; it is empty elsewhere.  ``match`` says how the row's lesion
was linked at this scan (``overlap``, ``distance``; empty for baseline, new, disappeared rows
and later rows of absorbed tracks).

Measurements (``suvtotal``, ``volume_ml``, ``suvmax``, from each scan's own features table)
sit only on the row of the track that owns the lesion, never on absorbed rows, so a column sum
over a scan's rows counts each lesion once.

Response categories (STUDY.md section 2), each follow-up versus the baseline, by the change of
SUVtotal ``d = (now - baseline) / baseline x 100 %``: ``decreasing`` (d < ``decrease_pct``),
``increasing`` (d > ``increase_pct``), ``stable`` otherwise; ``disappearing`` when the track
has no lesion now; ``new`` for a track that had no lesion at baseline and has one now (and
``disappearing`` when such a track has none now), as the synthetic truth defines it
(:func:`netpet.synthetic.lesions.response_category`).  At baseline the category is
``baseline``.  **Families**: tracks joined by a split or a merge at or before a scan form a
family; at that scan every track of the family gets the family's category, from the family's
summed SUVtotal now (each lesion once) against its summed baseline SUVtotal (a family with no
baseline lesion is ``new``).

Track ids are 1..n per patient, in order of first appearance, then ``lesion_id``.
Rows exist from a track's first appearance on.  Arrays are numpy (z, y, x); spacing is
(x, y, z) in mm.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import SimpleITK as sitk

from netpet.errors import InputError

log = logging.getLogger(__name__)

#: Columns of the tracks table (``results/longitudinal/tracks.tsv``), in order.
TRACK_COLUMNS = (
    "patient_id",
    "track_id",
    "timepoint",
    "lesion_id",
    "suvtotal",
    "volume_ml",
    "suvmax",
    "status",
    "category",
    "parent_track_id",
    "match",
)
#: Per-lesion measurements copied from the features table (``results/features/lesions.tsv``).
MEASUREMENT_COLUMNS = ("suvtotal", "volume_ml", "suvmax")

PRESENT, NEW, DISAPPEARED, SPLIT, MERGED = "present", "new", "disappeared", "split", "merged"
#: Values of the ``status`` column.
STATUSES = (PRESENT, NEW, DISAPPEARED, SPLIT, MERGED)
#: Response categories of a track at a follow-up (STUDY.md section 2), and at baseline.
CATEGORIES = ("new", "increasing", "stable", "decreasing", "disappearing")
BASELINE_CATEGORY = "baseline"
#: Values of the ``match`` column: how a row's lesion was linked to its track ("" = not).
MATCH_OVERLAP, MATCH_DISTANCE, NO_MATCH = "overlap", "distance", ""


@dataclass(frozen=True)
class TrackSettings:
    """Lesion matching and response-category settings (config section ``longitudinal``).

    Attributes
    ----------
    min_overlap_fraction : float
        A track and a lesion overlap when their shared voxels are at least this fraction of
        the smaller region (0-1].  0.2: a lesion that shrinks inside its old extent keeps its
        link, while neighbours touching by a rim of voxels (registration error) do not.
    max_centre_distance_mm : float
        Largest distance (mm) between centres for the fallback match of regions that do not
        overlap; 0 switches the fallback off.  15 mm: about three 4-mm PET voxels of
        residual misregistration or centre shift of a shrinking lesion.
    decrease_pct, increase_pct : float
        dSUVtotal limits (%) of ``decreasing`` (below ``decrease_pct``) and ``increasing``
        (above ``increase_pct``); in between, limits included, is ``stable``.
    """

    min_overlap_fraction: float = 0.2
    max_centre_distance_mm: float = 15.0
    decrease_pct: float = -30.0
    increase_pct: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 < self.min_overlap_fraction <= 1.0:
            raise InputError(
                f"longitudinal.min_overlap_fraction = {self.min_overlap_fraction}: "
                "give a fraction in (0, 1]"
            )
        if self.max_centre_distance_mm < 0:
            raise InputError(
                f"longitudinal.max_centre_distance_mm = {self.max_centre_distance_mm}: "
                "give a distance >= 0 mm (0 switches the distance fallback off)"
            )
        if not self.decrease_pct <= 0.0 <= self.increase_pct:
            raise InputError(
                f"longitudinal.decrease_pct = {self.decrease_pct}, increase_pct = "
                f"{self.increase_pct}: give decrease_pct <= 0 <= increase_pct (percent)"
            )

    @classmethod
    def from_config(cls, section: Mapping | None) -> TrackSettings:
        """Settings from the config's ``longitudinal`` section; unset keys take the defaults.

        Keys of the section that are not track settings (e.g. registration settings) are
        ignored here; they belong to the steps that use them.
        """
        section = section or {}
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: float(section[name]) for name in names if name in section})

    def to_dict(self) -> dict:
        """Plain mapping of every setting (recorded with outputs)."""
        return dataclasses.asdict(self)


@dataclass
class _Track:
    """Matching state of one track: its most recent present extent."""

    track_id: int
    scan: int  # index of the scan of the last present extent
    lesion_id: int
    size: int  # voxels of that extent on the baseline grid
    centre_mm: np.ndarray  # (x, y, z) mm on the baseline grid
    merged_into: int | None = None


class _UnionFind:
    """Disjoint sets of comparable keys; a set's root is its smallest key."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def add(self, key) -> None:
        self.parent.setdefault(key, key)

    def root(self, key):
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a, b) -> None:
        self.add(a)
        self.add(b)
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def regions(labels_zyx: np.ndarray, spacing_mm: Sequence[float]) -> pd.DataFrame:
    """Voxel count and centre of every lesion of a label map.

    Parameters
    ----------
    labels_zyx : numpy.ndarray of int, shape (z, y, x)
        Lesion label map (0 background).
    spacing_mm : sequence of float
        Voxel size (x, y, z), mm.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lesion_id`` (ascending): ``voxels``, ``centre_x_mm``, ``centre_y_mm``,
        ``centre_z_mm`` (mean voxel index x spacing: grid-relative millimetres).
    """
    mask = labels_zyx > 0
    ids, inverse, counts = np.unique(labels_zyx[mask], return_inverse=True, return_counts=True)
    indices = np.nonzero(mask)  # (z, y, x)
    centres = {}
    for axis, name in zip((2, 1, 0), ("centre_x_mm", "centre_y_mm", "centre_z_mm"), strict=True):
        sums = np.bincount(inverse, weights=indices[axis], minlength=len(ids))
        centres[name] = sums / np.maximum(counts, 1) * float(spacing_mm[2 - axis])
    table = pd.DataFrame({"voxels": counts.astype(np.int64), **centres})
    table.index = pd.Index(ids.astype(np.int64), name="lesion_id")
    return table


def _pair_counts(earlier_zyx: np.ndarray, now_zyx: np.ndarray, both: np.ndarray) -> pd.DataFrame:
    """Shared voxels of every (earlier lesion, current lesion) pair that overlaps."""
    a = earlier_zyx[both].astype(np.int64)
    b = now_zyx[both].astype(np.int64)
    base = int(b.max()) + 1 if b.size else 1
    keys, counts = np.unique(a * base + b, return_counts=True)
    return pd.DataFrame({"earlier_id": keys // base, "lesion_id": keys % base, "voxels": counts})


def _components(edges: pd.DataFrame) -> list[tuple[list[int], list[int]]]:
    """Connected components (tracks, lesions) of the bipartite link graph, in a fixed order."""
    graph = _UnionFind()
    for track_id, lesion_id in zip(edges["track_id"], edges["lesion_id"], strict=True):
        graph.join(("t", int(track_id)), ("l", int(lesion_id)))
    groups: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
    for node in graph.parent:
        tracks, lesions = groups.setdefault(graph.root(node), ([], []))
        (tracks if node[0] == "t" else lesions).append(node[1])
    result = [(sorted(t), sorted(les)) for t, les in groups.values()]
    return sorted(result, key=lambda c: (c[1][0], c[0][0]))


def _resolve(
    track_ids: list[int],
    lesion_ids: list[int],
    edges: pd.DataFrame,
    track_size: Mapping[int, int],
    lesion_size: Mapping[int, int],
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """One overlap component: continuations, split children and absorbed tracks.

    Returns
    -------
    continued : dict lesion_id -> track_id
    children : dict lesion_id -> parent track_id
    absorbed : dict track_id -> lesion_id it merged into
    """
    voxels = {(int(t), int(v)): int(n) for t, v, n in edges.itertuples(index=False)}
    linked_lesions = {t: [v for v in lesion_ids if (t, v) in voxels] for t in track_ids}
    continued: dict[int, int] = {}
    for t in sorted(track_ids, key=lambda t: (-track_size[t], t)):
        free = [v for v in linked_lesions[t] if v not in continued]
        if free:
            continued[min(free, key=lambda v: (-voxels[(t, v)], -lesion_size[v], v))] = t
    taken = set(continued.values())
    children = {}
    for v in lesion_ids:
        if v not in continued:
            linked = [t for t in track_ids if (t, v) in voxels]
            children[v] = min(linked, key=lambda t: (-voxels[(t, v)], t))
    absorbed = {}
    for t in track_ids:
        if t not in taken:
            absorbed[t] = min(linked_lesions[t], key=lambda v: (-voxels[(t, v)], v))
    return continued, children, absorbed


def link_lesions(
    label_maps_zyx: Sequence[np.ndarray],
    *,
    spacing_mm: Sequence[float],
    settings: TrackSettings,
) -> pd.DataFrame:
    """Match the lesions of a patient's scans into tracks (rules in the module docstring).

    Parameters
    ----------
    label_maps_zyx : sequence of numpy.ndarray of int, each shape (z, y, x)
        One lesion label map per scan, in time order (baseline first), all on the baseline
        PET grid.
    spacing_mm : sequence of float
        Voxel size of that grid (x, y, z), mm.
    settings : TrackSettings

    Returns
    -------
    pandas.DataFrame
        One row per track per scan from the track's first appearance on: ``scan`` (index
        into ``label_maps_zyx``), ``track_id``, ``lesion_id`` (Int64, empty when absent),
        ``status``, ``parent_track_id`` (Int64), ``match``, ``owner`` (the row holds the
        lesion's measurements: False for absorbed rows and absent lesions) and ``family``
        (smallest track id of the track's split/merge family as of that scan).
    """
    if not label_maps_zyx:
        raise InputError("lesion tracks: no label map given; pass at least the baseline's")
    shape = label_maps_zyx[0].shape
    for i, labels in enumerate(label_maps_zyx):
        if labels.shape != shape:
            raise InputError(
                f"lesion tracks: label map of scan {i} has shape {labels.shape}, the baseline's "
                f"{shape}; resample every follow-up onto the baseline PET grid first"
            )
    tracks: dict[int, _Track] = {}
    families = _UnionFind()  # track ids joined by splits and merges
    rows: list[dict] = []

    def start(track_id, scan, lesion_id, region) -> None:
        tracks[track_id] = _Track(
            track_id,
            scan,
            lesion_id,
            int(region["voxels"]),
            region[["centre_x_mm", "centre_y_mm", "centre_z_mm"]].to_numpy(float),
        )
        families.add(track_id)

    for scan, labels in enumerate(label_maps_zyx):
        found = regions(labels, spacing_mm)
        scan_rows: dict[int, dict] = {}  # track_id -> row
        births: list[tuple[int, str, int | None, str]] = []  # lesion, status, parent, match

        if scan == 0:
            births = [(int(v), PRESENT, None, NO_MATCH) for v in found.index]
        else:
            open_tracks = {k: tr for k, tr in tracks.items() if tr.merged_into is None}
            edges = _overlap_links(label_maps_zyx, scan, open_tracks, found, settings)
            track_size = {k: tr.size for k, tr in open_tracks.items()}
            lesion_size = found["voxels"].to_dict()
            for comp_tracks, comp_lesions in _components(edges):
                comp_edges = edges[edges["track_id"].isin(comp_tracks)]
                if len(comp_tracks) == 1 and len(comp_lesions) == 1:
                    continued, children, absorbed = {comp_lesions[0]: comp_tracks[0]}, {}, {}
                else:
                    continued, children, absorbed = _resolve(
                        comp_tracks, comp_lesions, comp_edges, track_size, lesion_size
                    )
                owner_of = dict(continued)
                split_tracks = set(children.values())
                merged_lesions = set(absorbed.values())
                for lesion_id, track_id in continued.items():
                    status = PRESENT
                    if lesion_id in merged_lesions:
                        status = MERGED
                    elif track_id in split_tracks:
                        status = SPLIT
                    scan_rows[track_id] = _row(track_id, lesion_id, status, None, MATCH_OVERLAP)
                    start(track_id, scan, lesion_id, found.loc[lesion_id])
                for lesion_id, parent in children.items():
                    births.append((lesion_id, SPLIT, parent, MATCH_OVERLAP))
                for track_id, lesion_id in absorbed.items():
                    owner = owner_of[lesion_id]
                    scan_rows[track_id] = _row(track_id, lesion_id, MERGED, owner, MATCH_OVERLAP)
                    scan_rows[track_id]["owner"] = False
                    tracks[track_id].merged_into = owner
                    families.join(track_id, owner)

            matched_lesions = set(edges["lesion_id"].tolist())
            linked_tracks = set(edges["track_id"].tolist())
            unmatched_tracks = [k for k in open_tracks if k not in linked_tracks]
            free = found.loc[[v for v in found.index if v not in matched_lesions]]
            for lesion_id, track_id in _distance_pairs(free, unmatched_tracks, tracks, settings):
                scan_rows[track_id] = _row(track_id, lesion_id, PRESENT, None, MATCH_DISTANCE)
                start(track_id, scan, lesion_id, found.loc[lesion_id])
                matched_lesions.add(lesion_id)
            births += [
                (int(v), NEW, None, NO_MATCH) for v in found.index if v not in matched_lesions
            ]
            for track_id in unmatched_tracks:
                if track_id not in scan_rows:
                    scan_rows[track_id] = _row(track_id, None, DISAPPEARED, None, NO_MATCH)

        next_id = max(tracks, default=0) + 1
        for lesion_id, status, parent, match in sorted(births, key=lambda b: b[0]):
            scan_rows[next_id] = _row(next_id, lesion_id, status, parent, match)
            start(next_id, scan, lesion_id, found.loc[lesion_id])
            if parent is not None:
                families.join(next_id, parent)
            next_id += 1

        # Tracks absorbed at an earlier scan follow the track they merged into.
        for track_id, track in tracks.items():
            if track_id in scan_rows or track.merged_into is None:
                continue
            survivor = track.merged_into
            while tracks[survivor].merged_into is not None:
                survivor = tracks[survivor].merged_into
            lesion_id = scan_rows[survivor]["lesion_id"]
            status = MERGED if lesion_id is not None else DISAPPEARED
            scan_rows[track_id] = _row(track_id, lesion_id, status, survivor, NO_MATCH)
            scan_rows[track_id]["owner"] = False

        for track_id in sorted(scan_rows):
            row = scan_rows[track_id]
            row["scan"] = scan
            row["family"] = families.root(track_id)
            rows.append(row)

    columns = ["scan", "track_id", "lesion_id", "status", "parent_track_id", "match", "owner"]
    table = pd.DataFrame(rows, columns=[*columns, "family"])
    return table.astype(
        {
            "scan": np.int64,
            "track_id": np.int64,
            "lesion_id": "Int64",
            "parent_track_id": "Int64",
            "owner": bool,
            "family": np.int64,
        }
    )


def _row(track_id, lesion_id, status, parent, match) -> dict:
    return {
        "track_id": track_id,
        "lesion_id": lesion_id,
        "status": status,
        "parent_track_id": parent,
        "match": match,
        "owner": lesion_id is not None,
    }


def _overlap_links(
    label_maps_zyx: Sequence[np.ndarray],
    scan: int,
    open_tracks: Mapping[int, _Track],
    found: pd.DataFrame,
    settings: TrackSettings,
) -> pd.DataFrame:
    """Overlap links (``track_id``, ``lesion_id``, ``voxels``) of one scan's lesions."""
    now = label_maps_zyx[scan]
    both_now = now > 0
    tables = []
    for earlier in sorted({tr.scan for tr in open_tracks.values()}):
        owner = {tr.lesion_id: k for k, tr in open_tracks.items() if tr.scan == earlier}
        pairs = _pair_counts(label_maps_zyx[earlier], now, both_now & (label_maps_zyx[earlier] > 0))
        pairs = pairs[pairs["earlier_id"].isin(list(owner))]
        tables.append(pairs.assign(track_id=pairs["earlier_id"].map(owner)))
    columns = ["track_id", "lesion_id", "voxels"]
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=np.int64) for c in columns})
    edges = pd.concat(tables, ignore_index=True)[columns].astype(np.int64)
    smaller = np.minimum(
        edges["track_id"].map({k: tr.size for k, tr in open_tracks.items()}).to_numpy(),
        edges["lesion_id"].map(found["voxels"]).to_numpy(),
    )
    keep = edges["voxels"].to_numpy() >= settings.min_overlap_fraction * smaller
    return edges[keep].sort_values(["track_id", "lesion_id"], ignore_index=True)


def _distance_pairs(
    free: pd.DataFrame,
    track_ids: Sequence[int],
    tracks: Mapping[int, _Track],
    settings: TrackSettings,
) -> list[tuple[int, int]]:
    """One-to-one (lesion_id, track_id) pairs by centre distance, nearest first."""
    if free.empty or not track_ids or settings.max_centre_distance_mm <= 0:
        return []
    lesion_centres = free[["centre_x_mm", "centre_y_mm", "centre_z_mm"]].to_numpy(float)
    track_centres = np.stack([tracks[k].centre_mm for k in track_ids])
    distance = np.linalg.norm(lesion_centres[:, None, :] - track_centres[None, :, :], axis=2)
    li, ti = np.nonzero(distance <= settings.max_centre_distance_mm)
    lesion_ids = free.index.to_numpy()[li]
    track_arr = np.asarray(track_ids)[ti]
    order = np.lexsort((track_arr, lesion_ids, distance[li, ti]))
    pairs, used_lesions, used_tracks = [], set(), set()
    for k in order:
        lesion_id, track_id = int(lesion_ids[k]), int(track_arr[k])
        if lesion_id not in used_lesions and track_id not in used_tracks:
            pairs.append((lesion_id, track_id))
            used_lesions.add(lesion_id)
            used_tracks.add(track_id)
    return pairs


def categorise(
    baseline_suvtotal: np.ndarray,
    now_suvtotal: np.ndarray,
    *,
    settings: TrackSettings,
) -> np.ndarray:
    """Response category from summed SUVtotal at baseline and now (STUDY.md section 2).

    Parameters
    ----------
    baseline_suvtotal, now_suvtotal : array_like of float
        SUVtotal (SUV x voxels, the features table's unit) of a track or family at baseline
        and at the follow-up; 0 or NaN where it has no lesion.
    settings : TrackSettings
        ``decrease_pct`` and ``increase_pct``.

    Returns
    -------
    numpy.ndarray of str
        ``new`` (no baseline lesion, a lesion now), ``disappearing`` (no lesion now),
        ``decreasing`` (change < ``decrease_pct``), ``increasing`` (change >
        ``increase_pct``) or ``stable``, with change = (now - baseline) / baseline x 100 %.
    """
    base = np.nan_to_num(np.asarray(baseline_suvtotal, dtype=float), nan=0.0)
    now = np.nan_to_num(np.asarray(now_suvtotal, dtype=float), nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (now - base) / base * 100.0
    return np.select(
        [
            now <= 0,
            base <= 0,
            change < settings.decrease_pct,
            change > settings.increase_pct,
        ],
        ["disappearing", "new", "decreasing", "increasing"],
        default="stable",
    )


def patient_tracks(
    patient_id: str,
    *,
    timepoints: Sequence[str],
    label_maps_zyx: Sequence[np.ndarray],
    spacing_mm: Sequence[float],
    lesions: pd.DataFrame,
    settings: TrackSettings,
) -> pd.DataFrame:
    """Tracks of one patient with measurements and response categories.

    Parameters
    ----------
    patient_id : str
    timepoints : sequence of str
        The patient's scans in time order, baseline first (same order as the maps).
    label_maps_zyx : sequence of numpy.ndarray of int, each shape (z, y, x)
        Lesion label maps on the baseline PET grid.
    spacing_mm : sequence of float
        Voxel size of that grid (x, y, z), mm.
    lesions : pandas.DataFrame
        The patient's rows of ``results/features/lesions.tsv`` (``timepoint``,
        ``lesion_id``, ``suvtotal``, ``volume_ml``, ``suvmax``).
    settings : TrackSettings

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRACK_COLUMNS`, sorted by ``track_id`` then time.
    """
    if len(timepoints) != len(label_maps_zyx):
        raise InputError(
            f"lesion tracks of {patient_id}: {len(timepoints)} time points but "
            f"{len(label_maps_zyx)} label maps; give one map per time point"
        )
    links = link_lesions(label_maps_zyx, spacing_mm=spacing_mm, settings=settings)
    links.insert(0, "timepoint", [timepoints[i] for i in links["scan"]])
    measured = _measurements(patient_id, lesions, timepoints)
    owned = links[links["owner"]]
    keys = pd.MultiIndex.from_arrays([owned["timepoint"], owned["lesion_id"].astype(np.int64)])
    missing = keys.difference(measured.index)
    if len(missing):
        raise InputError(
            f"results/features/lesions.tsv: no row for lesion(s) {list(missing)} "
            f"(timepoint, lesion_id) of patient {patient_id} found in the label maps; "
            "rerun the features step on the same segmentation"
        )
    values = measured.reindex(keys)
    for column in MEASUREMENT_COLUMNS:
        links[column] = np.nan
        links.loc[owned.index, column] = values[column].to_numpy(float)
    _warn_unplaced(patient_id, measured, links)

    # Category: family sums of SUVtotal now versus at baseline.
    base_by_track = links[links["scan"] == 0].set_index("track_id")["suvtotal"]
    links["base_suvtotal"] = links["track_id"].map(base_by_track).fillna(0.0)
    sums = links.groupby(["scan", "family"])[["base_suvtotal", "suvtotal"]].sum(min_count=0)
    family_sums = sums.reindex(pd.MultiIndex.from_frame(links[["scan", "family"]]))
    category = categorise(
        family_sums["base_suvtotal"].to_numpy(),
        family_sums["suvtotal"].to_numpy(),
        settings=settings,
    )
    links["category"] = np.where(links["scan"] == 0, BASELINE_CATEGORY, category)
    links.insert(0, "patient_id", patient_id)
    links = links.sort_values(["track_id", "scan"], ignore_index=True)
    return links[list(TRACK_COLUMNS)]


def _measurements(patient_id: str, lesions: pd.DataFrame, timepoints: Sequence[str]):
    """The patient's features rows indexed by (timepoint, lesion_id)."""
    needed = {"timepoint", "lesion_id", *MEASUREMENT_COLUMNS}
    absent = sorted(needed - set(lesions.columns))
    if absent:
        raise InputError(
            f"results/features/lesions.tsv: column(s) {absent} missing; rerun the features step"
        )
    rows = lesions[lesions["timepoint"].isin(list(timepoints))]
    keyed = rows.set_index(["timepoint", rows["lesion_id"].astype(np.int64)])
    if keyed.index.has_duplicates:
        raise InputError(
            f"results/features/lesions.tsv: patient {patient_id} has more than one row per "
            "(timepoint, lesion_id) (several suv_type?); pass one SUV type's rows"
        )
    return keyed[list(MEASUREMENT_COLUMNS)]


def _warn_unplaced(patient_id: str, measured: pd.DataFrame, links: pd.DataFrame) -> None:
    """Log lesions of the features table that are missing from the baseline-grid maps."""
    placed = pd.MultiIndex.from_arrays(
        [links["timepoint"], links["lesion_id"].fillna(-1).astype(np.int64)]
    )
    lost = measured.index.difference(placed)
    if len(lost):
        log.warning(
            "%s: lesion(s) %s (timepoint, lesion_id) are in the features table but not in "
            "the label map on the baseline grid (lost in resampling?); they have no track",
            patient_id,
            [(t, int(v)) for t, v in lost],
        )


def cohort_tracks(
    *,
    scans: Sequence[tuple[str, str]],
    label_paths: Sequence[str | os.PathLike],
    lesions: pd.DataFrame | str | os.PathLike,
    timepoints: Sequence[str],
    settings: TrackSettings,
) -> pd.DataFrame:
    """Tracks of every patient (the ``results/longitudinal/tracks.tsv`` table).

    Parameters
    ----------
    scans : sequence of (patient_id, timepoint)
        Every scan; each patient needs its baseline (``timepoints[0]``).
    label_paths : sequence of path
        In the order of ``scans``: the scan's lesion label map on its patient's baseline PET
        grid (baseline: ``results/segmentation/{p}/{t}/lesions.nii.gz``; follow-ups:
        ``results/longitudinal/registration/{p}/{t}/lesions_in_baseline.nii.gz``).
    lesions : pandas.DataFrame or path
        ``results/features/lesions.tsv`` (one SUV type).
    timepoints : sequence of str
        All time points in order: the baseline, then the follow-ups.
    settings : TrackSettings

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRACK_COLUMNS`; patients in order of ``scans``.  A patient without any
        lesion has no rows.
    """
    if not isinstance(lesions, pd.DataFrame):
        lesions = pd.read_csv(lesions, sep="\t")
    if len(scans) != len(label_paths):
        raise InputError(
            f"lesion tracks: {len(scans)} scans but {len(label_paths)} label maps; "
            "give one map per scan"
        )
    order = {t: i for i, t in enumerate(timepoints)}
    by_patient: dict[str, list[tuple[str, str]]] = {}
    for (patient, timepoint), path in zip(scans, label_paths, strict=True):
        if timepoint not in order:
            raise InputError(
                f"lesion tracks: scan {patient}/{timepoint} has a time point that is not in "
                f"config timepoints {list(timepoints)}; add it there"
            )
        by_patient.setdefault(patient, []).append((timepoint, str(path)))
    tables = []
    for patient, items in by_patient.items():
        items.sort(key=lambda item: order[item[0]])
        if items[0][0] != timepoints[0]:
            raise InputError(
                f"lesion tracks: patient {patient} has no baseline ({timepoints[0]}) scan; "
                "tracks are built in baseline space"
            )
        images = [sitk.ReadImage(path) for _, path in items]
        reference = images[0]
        for image, (_, path) in zip(images[1:], items[1:], strict=True):
            if (
                image.GetSize() != reference.GetSize()
                or not np.allclose(image.GetSpacing(), reference.GetSpacing(), atol=1e-4)
                or not np.allclose(image.GetOrigin(), reference.GetOrigin(), atol=1e-3)
                or not np.allclose(image.GetDirection(), reference.GetDirection(), atol=1e-4)
            ):
                raise InputError(
                    f"{path}: not on the baseline PET grid of {items[0][1]}; use the "
                    "registration step's lesions_in_baseline map"
                )
        tables.append(
            patient_tracks(
                patient,
                timepoints=[t for t, _ in items],
                label_maps_zyx=[sitk.GetArrayFromImage(image) for image in images],
                spacing_mm=reference.GetSpacing(),
                lesions=lesions[lesions["patient_id"] == patient],
                settings=settings,
            )
        )
    tables = [table for table in tables if len(table)]
    if not tables:
        return _empty_tracks()
    return pd.concat(tables, ignore_index=True)


def _empty_tracks() -> pd.DataFrame:
    table = pd.DataFrame({c: pd.Series(dtype=object) for c in TRACK_COLUMNS})
    return table.astype(
        {"track_id": np.int64, "lesion_id": "Int64", "parent_track_id": "Int64"}
        | {c: float for c in MEASUREMENT_COLUMNS}
    )


def owner_rows(tracks: pd.DataFrame) -> pd.DataFrame:
    """The rows of a tracks table that own their lesion: one per (patient, timepoint, lesion).

    Absorbed tracks (status ``merged`` with a ``parent_track_id``) show a lesion that another
    track owns; rows without a lesion own nothing.
    """
    absorbed = tracks["status"].eq(MERGED) & tracks["parent_track_id"].notna()
    return tracks[tracks["lesion_id"].notna() & ~absorbed]
