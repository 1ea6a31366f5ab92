"""Where the synthetic lesions sit: inside their host tissue, apart, at every time point.

:func:`place_lesions` picks each lesion's centre voxel on the baseline PET grid so that the
lesion's whole extent, at every scan where it is present (the body shifted by that scan's
voxel shift), lies in tissue its site allows, at least two voxel sizes from the other
lesions.  Sites without room fall back to peritoneum or nodes.  A lesion that splits is placed
with its child, whose centre voxel lies ``split_offset_vox`` from the parent's
(:mod:`netpet.synthetic.lesions` chose it): the parent's own object, the child and the bridge
joining them before the split all lie in the site's tissue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netpet.errors import InputError
from netpet.synthetic.anatomy import Anatomy, Grid
from netpet.synthetic.lesions import Lesion

# Where each site's lesion centre may lie (prefixes of solid names in the anatomy file) and
# which solids (name prefixes) or tissues its whole extent may cover; box limits in baseline
# patient mm (x, y, z) restrict the centre.
_HOSTS = {
    "liver": {"centre": ("liver",), "extent": ("liver",)},
    "pancreas primary": {
        "centre": ("pancreas",),
        "extent": ("pancreas", "soft", "bowel", "mesentery"),
    },
    "small-bowel primary": {"centre": ("small_bowel",), "extent": ("bowel", "mesentery", "soft")},
    "lymph node mesenteric": {
        "centre": ("small_bowel", "trunk_in"),
        "extent": ("bowel", "mesentery", "soft"),
        "box": ((-70, 70), (-70, 40), (-230, -120)),
    },
    "retroperitoneal node": {
        "centre": ("trunk_in",),
        "extent": ("soft",),
        "box": ((-75, 75), (10, 80), (-240, -60)),
    },
    "bone": {"centre": ("vertebra_", "iliac_"), "extent": ("bone",)},
    "peritoneum": {
        "centre": ("trunk_in", "small_bowel"),
        "extent": ("soft", "bowel", "mesentery"),
        "box": ((-130, 130), (-110, -20), (-280, -40)),
    },
}
_FALLBACK = ("peritoneum", "lymph node mesenteric", "retroperitoneal node")
_ORGAN_HOSTED = ("liver", "pancreas primary", "small-bowel primary", "bone")
_CENTRE_TRIES = 300  # candidate centres per site
_RESCUE_TRIES = 3000  # distinct candidate centres per site when those found no room


def _ball(radius_mm: float, spacing_mm) -> np.ndarray:
    """Integer (z, y, x) offsets of voxels whose centres lie within ``radius_mm``."""
    h = [math.ceil(radius_mm / d) for d in spacing_mm]
    zz, yy, xx = np.mgrid[-h[2] : h[2] + 1, -h[1] : h[1] + 1, -h[0] : h[0] + 1]
    d2 = (xx * spacing_mm[0]) ** 2 + (yy * spacing_mm[1]) ** 2 + (zz * spacing_mm[2]) ** 2
    return np.stack([zz[d2 <= radius_mm**2], yy[d2 <= radius_mm**2], xx[d2 <= radius_mm**2]], 1)


def _family_spheres(les: Lesion, spacing_mm) -> list[tuple[np.ndarray, float]]:
    """Spheres holding a lesion and its split children at every scan: (centre voxel offset
    from the lesion's centre voxel (z, y, x), radius mm).

    The lesion's own object (largest scale while present), each child (largest scale while it
    or its part is there) and balls along the bridge (largest bridge radius before the split,
    centres at most one radius apart).
    """
    own = les.bound_mm * max(s for s, p in zip(les.scale, les.present, strict=True) if p)
    spheres = [(np.zeros(3, int), own)]
    for child in les.children:
        before = [t for t in range(child.split_t) if les.present[t]]
        shown = [t for t, p in enumerate(child.present) if p] + before
        offset = np.array(child.split_offset_vox)
        spheres.append((offset, child.bound_mm * max(child.scale[t] for t in shown)))
        if before:
            bridge = max(child.bridge_radius_mm(t) for t in before)
            length = math.hypot(*child.split_vector_mm)
            n = math.ceil(length / bridge) + 1
            for k in range(1, n):
                spheres.append((np.round(offset * k / n).astype(int), bridge))
    return spheres


class _Placer:
    """Place lesions inside their host tissue, apart from each other, at every time point."""

    def __init__(self, basal: Anatomy, maps: list[np.ndarray], grid: Grid, shifts):
        self.anat = basal
        self.maps = maps
        self.grid = grid
        self.shifts = shifts  # per time point, integer voxel shift (z, y, x)
        self.placed: list[tuple[np.ndarray, float]] = []  # (centre voxel, radius mm) spheres
        self.n_placed = 0  # lesions
        n_solids = len(self.anat.solids) + 1
        self.names = [""] + [s.name for s in self.anat.solids]
        self.tissues = [""] + [s.tissue for s in self.anat.solids]
        self._n = n_solids
        self._candidates: dict[str, np.ndarray] = {}

    def _mask_of(self, names=(), tissues=()) -> np.ndarray:
        ok = np.zeros(self._n, bool)
        for i in range(1, self._n):
            if self.names[i].startswith(tuple(names)) or self.tissues[i] in tissues:
                ok[i] = True
        return ok

    def candidates(self, site: str) -> np.ndarray:
        if site not in self._candidates:
            host = _HOSTS[site]
            ok = self._mask_of(names=host["centre"])
            idx = np.argwhere(ok[self.maps[0]])
            if "box" in host:
                g = self.grid
                xyz = [g.origin_mm[i] + idx[:, 2 - i] * g.spacing_mm[i] for i in range(3)]
                keep = np.ones(len(idx), bool)
                for i, (lo, hi) in enumerate(host["box"]):
                    keep &= (xyz[i] >= lo) & (xyz[i] <= hi)
                idx = idx[keep]
            self._candidates[site] = idx
        return self._candidates[site]

    def _apart(self, c: np.ndarray, radius: float) -> bool:
        """Whether a lesion of bounding ``radius`` (mm) at voxel ``c`` keeps its distance from
        the lesions placed so far (two voxel sizes between bounding spheres)."""
        margin = max(self.grid.spacing_mm)
        return not any(
            np.linalg.norm((c - q) * np.array(self.grid.spacing_mm)[::-1]) < radius + r + 2 * margin
            for q, r in self.placed
        )

    def _fits(self, c: np.ndarray, les: Lesion, ball: np.ndarray, allowed: np.ndarray) -> bool:
        """Whether ``ball`` (voxel offsets) about ``c`` lies in ``allowed`` tissue and away from
        the grid edge at every scan where ``les`` is present (the body shifted)."""
        shape = np.array(self.grid.shape)
        edge = np.ceil(les.max_bound_mm() / np.array(self.grid.spacing_mm)[::-1]).astype(int) + 4
        for t, (m, sh) in enumerate(zip(self.maps, self.shifts, strict=True)):
            if not les.present[t]:
                continue
            ct = c + sh
            if np.any(ct < edge) or np.any(ct >= shape - edge):
                return False
            pts = ball + ct
            if not allowed[m[pts[:, 0], pts[:, 1], pts[:, 2]]].all():
                return False
        return True

    def _family_fits(self, c, les: Lesion, spheres, footprint, allowed) -> bool:
        """Like :meth:`_apart` and :meth:`_fits` for a lesion with split children: every
        sphere apart from the placed lesions, the ``footprint`` (voxel offsets) in
        ``allowed`` tissue and 4 voxels inside the grid at every scan showing the family."""
        if not all(self._apart(c + offset, radius) for offset, radius in spheres):
            return False
        shape = np.array(self.grid.shape)
        for t, (m, sh) in enumerate(zip(self.maps, self.shifts, strict=True)):
            if not (les.present[t] or any(child.present[t] for child in les.children)):
                continue
            pts = footprint + c + sh
            if np.any(pts < 4) or np.any(pts >= shape - 4):
                return False
            if not allowed[m[pts[:, 0], pts[:, 1], pts[:, 2]]].all():
                return False
        return True

    def place(self, les: Lesion, rng) -> tuple[np.ndarray, str]:
        """Centre voxel (z, y, x) in the basal grid and the site finally used (for a lesion
        with split children, the whole family's room is checked)."""
        radius = les.max_bound_mm()
        margin = max(self.grid.spacing_mm)
        if les.children:
            spheres = _family_spheres(les, self.grid.spacing_mm)
            balls = [_ball(r + 0.5 * margin, self.grid.spacing_mm) + o for o, r in spheres]
            footprint = np.unique(np.concatenate(balls), axis=0)
        else:
            spheres = [(np.zeros(3, int), radius)]
            ball = _ball(radius + 0.5 * margin, self.grid.spacing_mm)
        sites = (les.site, *(s for s in _FALLBACK if s != les.site))
        # Random tries at each site first; then, rather than give up, up to _RESCUE_TRIES
        # distinct candidate centres per site (slower, so only when the tries found nothing).
        for rescue in (False, True):
            for site in sites:
                cand = self.candidates(site)
                if not len(cand):
                    continue
                extent = _HOSTS[site]["extent"]
                allowed = self._mask_of(names=extent, tissues=extent)
                if rescue:
                    tries = (cand[i] for i in rng.permutation(len(cand))[:_RESCUE_TRIES])
                else:
                    tries = (cand[rng.integers(len(cand))] for _ in range(_CENTRE_TRIES))
                for c in tries:
                    if les.children:
                        fits = self._family_fits(c, les, spheres, footprint, allowed)
                    else:
                        fits = self._apart(c, radius) and self._fits(c, les, ball, allowed)
                    if fits:
                        self.placed += [(c + offset, r) for offset, r in spheres]
                        self.n_placed += 1 + len(les.children)
                        return c, site
        raise InputError(
            f"synthetic: no room for lesion {les.lesion_id} ({les.site}) after "
            f"{self.n_placed} placed lesions; lower 'lesions_median', 'lesions_max' or "
            "'split_probability', or try another 'seed'"
        )


@dataclass(frozen=True)
class Placement:
    """Where a patient's lesions sit.

    Attributes
    ----------
    centres : dict of int to numpy.ndarray
        Per ``lesion_id``, the centre voxel index (z, y, x) on the baseline PET grid; at
        scan ``t`` it moves with that scan's body shift.
    sites : dict of int to str
        Per ``lesion_id``, the site finally used (the drawn one or a fallback).
    organ_of : dict of int to int
        Per ``lesion_id``, the organ label its voxels keep in the organ label maps: the host
        solid's label for organ-hosted sites (liver, pancreas, small bowel, bone), else 0.
    """

    centres: dict[int, np.ndarray]
    sites: dict[int, str]
    organ_of: dict[int, int]


def place_lesions(
    rng: np.random.Generator,
    lesions: list[Lesion],
    basal: Anatomy,
    maps: list[np.ndarray],
    grid: Grid,
    shifts_vox: list[np.ndarray],
) -> Placement:
    """Place every lesion, largest first (the small ones fit in the gaps); split children
    with their parent.

    Parameters
    ----------
    rng : numpy.random.Generator
        The patient's scan stream (one draw per candidate centre tried).
    lesions : list of Lesion
        The patient's lesions (:func:`netpet.synthetic.cohort.patient_plan`).
    basal : Anatomy
        The baseline anatomy (solid names and tissues of the painted indices).
    maps : list of numpy.ndarray
        Per time point, the painted-index map (z, y, x) on ``grid``.
    grid : Grid
        The PET grid.
    shifts_vox : list of numpy.ndarray
        Per time point, the body shift in whole PET voxels (z, y, x).

    Returns
    -------
    Placement

    Raises
    ------
    InputError
        When a lesion finds no room at its site nor at any fallback site (too many or too
        large lesions for the body).
    """
    placer = _Placer(basal, maps, grid, shifts_vox)
    centres: dict[int, np.ndarray] = {}
    sites: dict[int, str] = {}
    for les in sorted(lesions, key=lambda les: -les.max_bound_mm()):
        if les.parent is not None:
            continue  # placed with its parent
        centres[les.lesion_id], sites[les.lesion_id] = placer.place(les, rng)
        for child in les.children:
            centres[child.lesion_id] = centres[les.lesion_id] + np.array(child.split_offset_vox)
            sites[child.lesion_id] = sites[les.lesion_id]
    organ_of = {}
    for les in lesions:
        solid = basal.solids[maps[0][tuple(centres[les.lesion_id])] - 1]
        organ_of[les.lesion_id] = solid.label if sites[les.lesion_id] in _ORGAN_HOSTED else 0
    return Placement(centres, sites, organ_of)
