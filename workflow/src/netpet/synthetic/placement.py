"""Where the synthetic lesions sit: inside their host tissue, apart, at every time point.

:func:`place_lesions` picks each lesion's centre voxel on the baseline PET grid so that the
lesion's whole extent, at every scan where it is present (the body shifted by that scan's
voxel shift), lies in tissue its site allows, at least two voxel sizes from the other
lesions.  Sites without room fall back to peritoneum or nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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


def _ball(radius_mm: float, spacing_mm) -> np.ndarray:
    """Integer (z, y, x) offsets of voxels whose centres lie within ``radius_mm``."""
    h = [math.ceil(radius_mm / d) for d in spacing_mm]
    zz, yy, xx = np.mgrid[-h[2] : h[2] + 1, -h[1] : h[1] + 1, -h[0] : h[0] + 1]
    d2 = (xx * spacing_mm[0]) ** 2 + (yy * spacing_mm[1]) ** 2 + (zz * spacing_mm[2]) ** 2
    return np.stack([zz[d2 <= radius_mm**2], yy[d2 <= radius_mm**2], xx[d2 <= radius_mm**2]], 1)


class _Placer:
    """Place lesions inside their host tissue, apart from each other, at every time point."""

    def __init__(self, basal: Anatomy, maps: list[np.ndarray], grid: Grid, shifts):
        self.anat = basal
        self.maps = maps
        self.grid = grid
        self.shifts = shifts  # per time point, integer voxel shift (z, y, x)
        self.placed: list[tuple[np.ndarray, float]] = []
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

    def place(self, les: Lesion, rng) -> tuple[np.ndarray, str]:
        """Centre voxel (z, y, x) in the basal grid and the site finally used."""
        radius = les.max_bound_mm()
        margin = max(self.grid.spacing_mm)
        ball = _ball(radius + 0.5 * margin, self.grid.spacing_mm)
        shape = np.array(self.grid.shape)
        edge = np.ceil(radius / np.array(self.grid.spacing_mm)[::-1]).astype(int) + 4
        for site in (les.site, *(s for s in _FALLBACK if s != les.site)):
            cand = self.candidates(site)
            if not len(cand):
                continue
            extent = _HOSTS[site]["extent"]
            allowed = self._mask_of(names=extent, tissues=extent)
            for _ in range(300):
                c = cand[rng.integers(len(cand))]
                if any(
                    np.linalg.norm((c - q) * np.array(self.grid.spacing_mm)[::-1])
                    < radius + r + 2 * margin
                    for q, r in self.placed
                ):
                    continue
                fits = True
                for t, (m, sh) in enumerate(zip(self.maps, self.shifts, strict=True)):
                    if not les.present[t]:
                        continue
                    ct = c + sh
                    if np.any(ct < edge) or np.any(ct >= shape - edge):
                        fits = False
                        break
                    pts = ball + ct
                    if not allowed[m[pts[:, 0], pts[:, 1], pts[:, 2]]].all():
                        fits = False
                        break
                if fits:
                    self.placed.append((c, radius))
                    return c, site
        raise RuntimeError(f"no room for lesion {les.lesion_id} ({les.site})")


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
    """Place every lesion, largest first (the small ones fit in the gaps).

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
    RuntimeError
        When a lesion finds no room at its site nor at any fallback site.
    """
    placer = _Placer(basal, maps, grid, shifts_vox)
    centres: dict[int, np.ndarray] = {}
    sites: dict[int, str] = {}
    for les in sorted(lesions, key=lambda les: -les.max_bound_mm()):
        centres[les.lesion_id], sites[les.lesion_id] = placer.place(les, rng)
    organ_of = {}
    for les in lesions:
        solid = basal.solids[maps[0][tuple(centres[les.lesion_id])] - 1]
        organ_of[les.lesion_id] = solid.label if sites[les.lesion_id] in _ORGAN_HOSTED else 0
    return Placement(centres, sites, organ_of)
