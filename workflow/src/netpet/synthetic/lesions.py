"""Tumour lesions of a synthetic patient: shapes, uptake, changes over time, voxelised truth.

A lesion is an analytic object in its own local frame (mm, centred at the lesion centre):
a sphere, an ellipsoid or a lobulated union of spheres, rotated, scaled per time point by
``scale[t]`` (linear factor relative to baseline), with an intended (pre-blur) SUV pattern:
uniform, a cold necrotic core, or a linear gradient.

**Truth definition.**  The lesion's extent at a time point is the set of PET voxels whose
centres lie inside the scaled object; the centre sits at a fixed sub-voxel offset from a voxel
centre, and follow-up scans shift the anatomy by whole PET voxels, so the voxelised extent is
known before the lesion is placed in the body.  True ``volume_ml`` = voxel count x voxel
volume; true ``suvmean`` / ``suvmax`` = mean / max of the intended pre-blur SUV over those
voxels.  These are exactly the voxels labelled in ``truth/lesion_labels``.

**Tracking events.**  Besides growth, shrinkage, disappearance and new lesions (drawn from the
patient's lesion stream), two optional events come from a stream of their own
(``events_rng`` of :func:`draw_lesions`), so that switching them on leaves every other draw as
it was:

* ``new_lesion_resolve_probability``: a lesion new at a follow-up is gone at the next scan
  (non-monotonic tracks: new at interim, resolved at the end of treatment).
* ``split_probability``: at a follow-up, a baseline lesion of :data:`SPLIT_VOLUME_ML` (not
  in bone) splits in two.  Until then it is a dumbbell: its own object (the *parent* part,
  with the share of the volume it keeps) and the future *child* part (the rest), joined by a
  bridge (a capsule of :data:`BRIDGE_FRACTION` of the smaller part's equivalent radius);
  one lesion, one ``lesion_id``.  At the split the bridge is gone and the child becomes a
  lesion of its own (own ``lesion_id``, ``parent`` the parent, ``split_t`` the follow-up),
  lying where the child part was, so a tracker sees the pre-split lesion overlap both.  The
  child sits along a random direction as near the parent as its ``split_gap_mm`` allows: at
  every scan from the split on, no child voxel centre lies nearer than that to a parent voxel
  centre (the PET point-spread FWHM plus :data:`SPLIT_GAP_VOXELS` voxels,
  :func:`split_gap_mm`), so a threshold segmentation sees two components.  A lesion splits
  at most once; children do not split.

**Split convention** (the tracks of STUDY.md section 2): a child is no new lesion; it belongs
to its parent's *family* (the parent and its child), whose track starts at the parent's
baseline.  The family's category compares the family's summed SUVtotal with the parent's
baseline SUVtotal (:func:`family_response`); a child, having no baseline of its own, takes its
family's category as its ``response`` (:func:`response_category`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

# Sites, with the prior share of metastases, cap on volume (mL, over all time points) and the
# CT density (HU).  One place for these facts.
SITES: dict[str, dict[str, float]] = {
    "liver": {"weight": 0.50, "cap_ml": 150.0, "hu": 42.0},
    "lymph node mesenteric": {"weight": 0.12, "cap_ml": 35.0, "hu": 38.0},
    "retroperitoneal node": {"weight": 0.12, "cap_ml": 30.0, "hu": 38.0},
    "bone": {"weight": 0.14, "cap_ml": 5.0, "hu": 700.0},
    "peritoneum": {"weight": 0.12, "cap_ml": 20.0, "hu": 36.0},
    "pancreas primary": {"weight": 0.0, "cap_ml": 40.0, "hu": 40.0},
    "small-bowel primary": {"weight": 0.0, "cap_ml": 25.0, "hu": 40.0},
}
PRIMARY_SITE_OF = {"pancreas": "pancreas primary", "small_bowel": "small-bowel primary"}
METASTASIS_SITES = tuple(k for k, v in SITES.items() if v["weight"] > 0)

# Lesion uptake (intended SUV). Patients are treated with PRRT only when their lesions take
# up more than normal liver (Krenning score >= 3), so baseline lesions stay above the hottest
# liver (SUV 10) by a margin; responding lesions may fade, but not below the liver range.
BASELINE_MIN_SUV = 14.0
FOLLOWUP_MIN_SUV = 10.0
MAX_SUV = 68.0
BULKY_LIVER_SHARE = 0.3  # patients with one bulky (40-120 mL) liver metastasis
MIN_VOLUME_ML = 0.35  # smaller lesions are below what PET resolves: they count as gone
MIN_VOXELS = 5  # and at least this many PET voxels
CHANGE_DECREASE = -30.0  # dSUVtotal % limits of the response categories (STUDY.md 2)
CHANGE_INCREASE = 30.0
SPLIT_VOLUME_ML = (2.0, 30.0)  # lesions of this volume (at the follow-up) may split
SPLIT_KEEP_FRACTION = (0.5, 0.75)  # share of the volume the parent keeps, uniform
SPLIT_GAP_VOXELS = 2  # parent-child gap beyond the PSF FWHM, in (largest) PET voxels
BRIDGE_FRACTION = 0.7  # bridge radius / equivalent radius of the smaller part before a split


@dataclass
class Lesion:
    """One lesion's analytic description (local frame in mm at baseline scale).

    ``scale[t]`` and ``uptake[t]`` are per time point; ``present[t]`` says whether the lesion
    exists then (``False`` before it appears and after it disappears).
    """

    lesion_id: int
    site: str
    shape: str  # sphere | ellipsoid | lobulated
    rotation: np.ndarray  # (3, 3) local -> patient axes (x, y, z)
    axes_mm: tuple[float, float, float]  # ellipsoid / sphere semi-axes (local)
    lobes: tuple[tuple[float, float, float, float], ...]  # lobulated: (ox, oy, oz, r) local mm
    pattern: str  # uniform | necrotic | gradient
    pattern_direction: tuple[float, float, float]
    offset_mm: tuple[float, float, float]  # sub-voxel offset of the centre (x, y, z)
    present: list[bool]
    scale: list[float]
    uptake: list[float]  # SUV level of the lesion (rim level for necrotic, centre for gradient)
    truth: list[dict] = field(default_factory=list)
    # Splits: a parent's children; a child's parent, the follow-up it split off at, the least
    # distance of their voxel centres from then on (mm), its centre voxel minus the parent's
    # (z, y, x) and its centre minus the parent's (mm, x, y, z).
    children: list[Lesion] = field(default_factory=list, repr=False, compare=False)
    parent: Lesion | None = field(default=None, repr=False, compare=False)
    split_t: int = 0
    split_gap_mm: float = 0.0
    split_offset_vox: tuple[int, int, int] = (0, 0, 0)
    split_vector_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def parent_lesion_id(self) -> int | None:
        """``lesion_id`` of the lesion this one split from (None when it did not)."""
        return None if self.parent is None else self.parent.lesion_id

    @property
    def bound_mm(self) -> float:
        """Radius (mm, baseline scale) of a sphere about the centre that holds the object."""
        if self.shape == "lobulated":
            return max(math.sqrt(ox * ox + oy * oy + oz * oz) + r for ox, oy, oz, r in self.lobes)
        return max(self.axes_mm)

    def joined(self, t: int) -> list[Lesion]:
        """The children still part of this lesion at time point ``t`` (before their split)."""
        return [c for c in self.children if t < c.split_t]

    def extent_mm(self, t: int) -> float:
        """Radius (mm) of a sphere about the centre that holds the object at time point ``t``
        (with any child part and bridge before a split)."""
        radius = self.bound_mm * self.scale[t]
        for child in self.joined(t):
            reach = math.hypot(*child.split_vector_mm) + child.bound_mm * child.scale[t]
            radius = max(radius, reach)
        return radius

    def max_bound_mm(self) -> float:
        """Bounding radius (mm) over all time points at which the lesion is present."""
        if not self.children:
            return self.bound_mm * max(
                s for s, p in zip(self.scale, self.present, strict=True) if p
            )
        return max(self.extent_mm(t) for t, p in enumerate(self.present) if p)

    def equivalent_radius_mm(self, t: int) -> float:
        """Radius (mm) of the sphere of the object's (approximate) volume at ``t``."""
        volume_mm3 = _baseline_volume_ml(self) * 1000.0 * self.scale[t] ** 3
        return (3.0 * volume_mm3 / (4.0 * math.pi)) ** (1 / 3)

    def bridge_radius_mm(self, t: int) -> float:
        """Radius (mm) of the bridge to the child part at ``t`` (a child, before its split)."""
        smaller = min(self.equivalent_radius_mm(t), self.parent.equivalent_radius_mm(t))
        return BRIDGE_FRACTION * smaller

    def evaluate(self, qx, qy, qz, t: int):
        """Inside-mask and intended SUV at points ``q`` (mm, patient axes, relative to centre).

        Parameters
        ----------
        qx, qy, qz : numpy.ndarray
            Broadcastable coordinate arrays (x, y, z) relative to the lesion centre, mm.
        t : int
            Time-point index.

        Returns
        -------
        inside : numpy.ndarray of bool
        suv : numpy.ndarray of float
            Intended (pre-blur) SUV, meaningful where ``inside``.
        """
        s = self.scale[t]
        r = self.rotation
        px = (r[0, 0] * qx + r[1, 0] * qy + r[2, 0] * qz) / s
        py = (r[0, 1] * qx + r[1, 1] * qy + r[2, 1] * qz) / s
        pz = (r[0, 2] * qx + r[1, 2] * qy + r[2, 2] * qz) / s
        if self.shape == "lobulated":
            inside = np.zeros(np.broadcast_shapes(px.shape, py.shape, pz.shape), bool)
            for ox, oy, oz, rad in self.lobes:
                inside |= (px - ox) ** 2 + (py - oy) ** 2 + (pz - oz) ** 2 <= rad * rad
        else:
            a, b, c = self.axes_mm
            inside = (px / a) ** 2 + (py / b) ** 2 + (pz / c) ** 2 <= 1.0
        level = self.uptake[t]
        bound = self.bound_mm
        if self.pattern == "necrotic":
            radius = np.sqrt(px * px + py * py + pz * pz) / bound
            suv = np.where(radius < NECROTIC_CORE_FRACTION, NECROTIC_FACTOR * level, level)
        elif self.pattern == "gradient":
            dx, dy, dz = self.pattern_direction
            proj = (px * dx + py * dy + pz * dz) / bound
            suv = level * (1.0 + GRADIENT_SLOPE * proj)
        else:
            suv = np.full(inside.shape, level)
        suv = np.broadcast_to(suv, inside.shape)
        for child in self.joined(t):
            # Before the split: the child part (its own SUV) and the bridge (this lesion's
            # level); this lesion's own object wins where they overlap.
            vx, vy, vz = child.split_vector_mm
            part, part_suv = child.evaluate(qx - vx, qy - vy, qz - vz, t)
            along = np.clip((qx * vx + qy * vy + qz * vz) / (vx * vx + vy * vy + vz * vz), 0, 1)
            bridge = (qx - along * vx) ** 2 + (qy - along * vy) ** 2 + (
                qz - along * vz
            ) ** 2 <= child.bridge_radius_mm(t) ** 2
            suv = np.where(inside, suv, np.where(part, part_suv, level))
            inside = inside | part | bridge
        return inside, suv

    def voxelise(self, spacing_mm, t: int):
        """Voxelise at time point ``t`` on a PET grid with voxel centres at the lesion offset.

        Parameters
        ----------
        spacing_mm : sequence of float
            PET voxel size (x, y, z), mm.
        t : int
            Time-point index.

        Returns
        -------
        start : tuple of int
            Index (z, y, x) of the box's first voxel relative to the lesion's centre voxel.
        inside : numpy.ndarray of bool, shape (z, y, x)
        suv : numpy.ndarray of float, shape (z, y, x)
        """
        half = [
            math.ceil((self.extent_mm(t) + abs(o)) / d) + 1
            for o, d in zip(self.offset_mm, spacing_mm, strict=True)
        ]
        kx, ky, kz = (np.arange(-h, h + 1, dtype=float) for h in half)
        qx = (kx * spacing_mm[0] - self.offset_mm[0])[None, None, :]
        qy = (ky * spacing_mm[1] - self.offset_mm[1])[None, :, None]
        qz = (kz * spacing_mm[2] - self.offset_mm[2])[:, None, None]
        inside, suv = self.evaluate(qx, qy, qz, t)
        return (-half[2], -half[1], -half[0]), inside, np.array(suv, dtype=float)


NECROTIC_CORE_FRACTION = 0.45  # core radius / bounding radius
NECROTIC_FACTOR = 0.15  # core SUV / rim SUV
GRADIENT_SLOPE = 0.45  # SUV varies by +-45 % across the lesion


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _shape(rng: np.random.Generator, volume_ml: float):
    """Draw a shape of about ``volume_ml`` (baseline); returns (shape, axes_mm, lobes)."""
    v_mm3 = volume_ml * 1000.0
    radius = (3 * v_mm3 / (4 * math.pi)) ** (1 / 3)
    u = rng.uniform()
    if u < 0.4:
        return "sphere", (radius, radius, radius), ()
    if u < 0.75:
        ratios = np.array([1.0, rng.uniform(0.6, 1.0), rng.uniform(0.45, 0.9)])
        ratios /= np.prod(ratios) ** (1 / 3)
        a, b, c = (float(x) for x in radius * ratios)
        return "ellipsoid", (a, b, c), ()
    n = int(rng.integers(3, 6))
    r_lobe = radius * rng.uniform(0.55, 0.7, size=n)
    lobes = [(0.0, 0.0, 0.0, float(r_lobe[0] * 1.1))]
    for j in range(1, n):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        dist = r_lobe[j] * rng.uniform(0.6, 0.9)
        lobes.append((*(float(x) for x in d * dist), float(r_lobe[j])))
    return "lobulated", (radius, radius, radius), tuple(lobes)


def split_gap_mm(settings: dict, spacing_mm) -> float:
    """Least distance (mm) between voxel centres of a split parent and its child.

    The PET point-spread FWHM (``psf_fwhm_mm``) plus :data:`SPLIT_GAP_VOXELS` of the largest
    voxel size in ``spacing_mm`` (x, y, z), mm: 7 + 2 x 4 = 15 mm on the default grids.
    """
    return float(settings["psf_fwhm_mm"]) + SPLIT_GAP_VOXELS * float(max(spacing_mm))


def draw_lesions(
    rng: np.random.Generator,
    *,
    n_timepoints: int,
    primary_site: str,
    spacing_mm,
    settings: dict,
    response_log: float,
    events_rng: np.random.Generator | None = None,
) -> list[Lesion]:
    """Draw a patient's lesions and their evolution over time, with voxelised truth.

    Parameters
    ----------
    rng : numpy.random.Generator
        The patient's lesion stream.
    n_timepoints : int
        Number of scans (first is baseline).
    primary_site : str
        ``pancreas``, ``small_bowel`` or ``unknown`` (no primary in view).
    spacing_mm : sequence of float
        PET voxel size (x, y, z), mm: the truth is voxelised on it.
    settings : dict
        Resolved synthetic settings.
    response_log : float
        The patient's mean log volume change from baseline to the first follow-up.
    events_rng : numpy.random.Generator, optional
        The patient's stream of tracking events (``split_probability``,
        ``new_lesion_resolve_probability``); None: no such events.

    Returns
    -------
    list of Lesion
        With ``truth[t]`` = dict(n_voxels, volume_ml, suvmean, suvmax) per time point; split
        children after all other lesions.
    """
    voxel_ml = float(np.prod(spacing_mm)) / 1000.0
    min_ml = max(MIN_VOLUME_ML, MIN_VOXELS * voxel_ml)
    n_meta = int(
        np.clip(
            round(settings["lesions_median"] * math.exp(rng.normal(0, 0.7))),
            1,
            settings["lesions_max"],
        )
    )
    burden = rng.normal(0.0, 0.5)  # patient-level lesion size factor (log)
    receptor = rng.normal(0.0, 0.3)  # patient-level receptor density factor (log)
    weights = np.array([SITES[s]["weight"] for s in METASTASIS_SITES])
    weights = weights / weights.sum()

    def new_lesion(site: str, first: int, median_ml: float, volume_ml=None, gen=None) -> Lesion:
        gen = rng if gen is None else gen
        cap = SITES[site]["cap_ml"]
        v0 = float(np.clip(median_ml * math.exp(burden + gen.normal(0, 1.0)), 2 * min_ml, cap))
        if volume_ml is not None:
            v0 = volume_ml
        shape, axes, lobes = _shape(gen, v0)
        hetero = gen.uniform() < 0.3
        pattern = "uniform"
        if hetero:
            pattern = "necrotic" if v0 >= 4.0 else "gradient"
        d = gen.normal(size=3)
        d /= np.linalg.norm(d)
        level = float(
            np.clip(25.0 * math.exp(receptor + gen.normal(0, 0.45)), BASELINE_MIN_SUV, MAX_SUV)
        )
        offset = tuple(float(x) for x in gen.uniform(-0.5, 0.5, 3) * np.asarray(spacing_mm))
        present = [t >= first for t in range(n_timepoints)]
        return Lesion(
            lesion_id=0,
            site=site,
            shape=shape,
            rotation=_rotation(gen),
            axes_mm=axes,
            lobes=lobes,
            pattern=pattern,
            pattern_direction=tuple(float(x) for x in d),
            offset_mm=offset,
            present=present,
            scale=[1.0] * n_timepoints,
            uptake=[level] * n_timepoints,
        )

    lesions: list[Lesion] = []
    if primary_site in PRIMARY_SITE_OF:
        lesions.append(new_lesion(PRIMARY_SITE_OF[primary_site], 0, 5.0))
    if rng.uniform() < BULKY_LIVER_SHARE:
        lesions.append(new_lesion("liver", 0, 0.0, volume_ml=float(rng.uniform(40.0, 120.0))))
    for site in rng.choice(METASTASIS_SITES, size=n_meta, p=weights):
        lesions.append(new_lesion(str(site), 0, 2.0))

    responses = [0.0]  # the patient's mean log volume change at each follow-up
    for t in range(1, n_timepoints):
        r_t = response_log if t == 1 else rng.normal(0.5 * response_log + 0.15, 0.3)
        responses.append(r_t)
        for les in lesions:
            if les.present[t - 1]:
                _evolve(les, t, r_t, rng, min_ml)
        n_new = rng.poisson(0.35 * math.exp(2.0 * r_t) * (1 + len(lesions) / 15))
        for site in rng.choice(METASTASIS_SITES, size=min(int(n_new), 8), p=weights):
            lesions.append(new_lesion(str(site), t, 1.0))

    if events_rng is not None:
        _resolve_new_lesions(lesions, settings["new_lesion_resolve_probability"], events_rng)
        if settings["split_probability"] > 0:

            def child(site: str, first: int, volume_ml: float) -> Lesion:
                return new_lesion(site, first, 0.0, volume_ml=volume_ml, gen=events_rng)

            _split_lesions(
                lesions,
                probability=settings["split_probability"],
                rng=events_rng,
                responses=responses,
                min_ml=min_ml,
                make_child=child,
            )

    for i, les in enumerate(lesions, start=1):
        les.lesion_id = i
    for les in lesions:
        if les.parent is not None:
            les.split_gap_mm = split_gap_mm(settings, spacing_mm)
            _set_beside_parent(les, spacing_mm, events_rng)
    for les in lesions:
        les.truth = [_truth(les, spacing_mm, t, voxel_ml) for t in range(n_timepoints)]
        # A lesion too small to fill MIN_VOXELS voxels is not there.
        for t, tr in enumerate(les.truth):
            if les.present[t] and tr["n_voxels"] < MIN_VOXELS:
                les.present[t] = False
                les.truth[t] = _truth(les, spacing_mm, t, voxel_ml)
    kept = [les for les in lesions if any(les.present)]
    for les in kept:
        les.children = [c for c in les.children if any(c.present)]
    return kept


def _evolve(les: Lesion, t: int, r_t: float, rng: np.random.Generator, min_ml: float) -> None:
    """Carry a lesion present at ``t - 1`` on to time point ``t`` (and, for now, later ones).

    Its volume changes by ``exp(r_t + N(0, 0.35))``; small lesions vanish with a chance that
    grows with the patient's response; the uptake follows the response.  Draws from ``rng``
    in this order: volume change, (unless already below ``min_ml``) the vanishing chance,
    uptake change.
    """
    n = len(les.present)
    v_prev = les.scale[t - 1] ** 3
    v_base = _baseline_volume_ml(les)
    v_new = v_prev * math.exp(r_t + rng.normal(0, 0.35))
    p_gone = min(0.5, 0.03 + 0.3 * max(0.0, -r_t)) if v_base * v_prev < 3 else 0.0
    cap = SITES[les.site]["cap_ml"]
    if v_base * v_new < min_ml or rng.uniform() < p_gone:
        for u in range(t, n):
            les.present[u] = False
        return
    v_new = min(v_new, cap / v_base)
    for u in range(t, n):
        les.scale[u] = v_new ** (1 / 3)
        les.uptake[u] = float(
            np.clip(
                les.uptake[t - 1] * math.exp(0.4 * r_t + rng.normal(0, 0.12)),
                FOLLOWUP_MIN_SUV,
                MAX_SUV,
            )
        )


def _resolve_new_lesions(lesions: list[Lesion], probability: float, rng) -> None:
    """Each lesion new at a follow-up before the last is gone from the next scan on with
    ``probability`` (one draw from ``rng`` per such lesion still there at the next scan)."""
    if probability <= 0:
        return
    n = len(lesions[0].present) if lesions else 0
    for les in lesions:
        first = les.present.index(True) if any(les.present) else n
        if 1 <= first < n - 1 and les.present[first + 1] and rng.uniform() < probability:
            for u in range(first + 1, n):
                les.present[u] = False


def _split_lesions(
    lesions: list[Lesion],
    *,
    probability: float,
    rng: np.random.Generator,
    responses: list[float],
    min_ml: float,
    make_child,
) -> None:
    """Split baseline lesions at follow-ups (see the module docstring); children appended.

    Per follow-up ``t`` and eligible lesion (present at baseline, ``t - 1`` and ``t``, not
    in bone, not split before, volume at ``t`` within :data:`SPLIT_VOLUME_ML`): one uniform
    draw against ``probability``; on a split the share kept by the parent (uniform in
    :data:`SPLIT_KEEP_FRACTION`), the child (``make_child(site, t, volume_ml)``), the child's
    uptake (the parent's x exp(N(0, 0.1))) and its later evolution (:func:`_evolve` with the
    patient's ``responses``).  A split leaving either part under 2 x ``min_ml`` is dropped.
    The parent keeps its share at every scan; before ``t`` the child part holds the rest
    (the parent's volume changes and uptake).
    """
    n = len(responses)
    originals = list(lesions)
    for t in range(1, n):
        for les in originals:
            if les.children or les.site == "bone" or not all(les.present[u] for u in (0, t - 1, t)):
                continue
            volume_ml = _baseline_volume_ml(les) * les.scale[t] ** 3
            if not SPLIT_VOLUME_ML[0] <= volume_ml <= SPLIT_VOLUME_ML[1]:
                continue
            if rng.uniform() >= probability:
                continue
            keep = float(rng.uniform(*SPLIT_KEEP_FRACTION))
            if min(keep, 1.0 - keep) * volume_ml < 2 * min_ml:
                continue
            for u in range(n):
                les.scale[u] *= keep ** (1 / 3)
            child = make_child(les.site, t, (1.0 - keep) * volume_ml)
            level = les.uptake[t] * math.exp(rng.normal(0, 0.1))
            for u in range(n):
                if u < t:  # the child part of the lesion before the split
                    child.scale[u] = les.scale[u] / les.scale[t]
                    child.uptake[u] = les.uptake[u]
                else:
                    child.uptake[u] = float(np.clip(level, FOLLOWUP_MIN_SUV, MAX_SUV))
            for u in range(t + 1, n):
                if child.present[u - 1]:
                    _evolve(child, u, responses[u], rng, min_ml)
            child.parent = les
            child.split_t = t
            les.children.append(child)
            lesions.append(child)


def _set_beside_parent(child: Lesion, spacing_mm, rng: np.random.Generator) -> None:
    """Choose where a split child sits relative to its parent (``split_offset_vox``,
    ``split_vector_mm``).

    Along a direction drawn from ``rng`` (three normal draws), the nearest whole-voxel offset
    (steps of half the smallest voxel size) at which, at every scan from the split on that
    shows the child, no child voxel centre lies within ``child.split_gap_mm`` of a voxel
    centre of the parent's own object.
    """
    parent = child.parent
    spacing = np.asarray(spacing_mm, float)  # x, y, z
    zyx_mm = spacing[::-1]

    def voxels(les: Lesion, t: int) -> np.ndarray:
        start, inside, _ = les.voxelise(spacing_mm, t)
        return np.argwhere(inside) + np.array(start)

    times = [t for t, p in enumerate(child.present) if p and t >= child.split_t]
    pairs = [(cKDTree(voxels(parent, t) * zyx_mm), voxels(child, t)) for t in times]
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    reach = 0.0
    while True:
        step = np.round(direction * reach / spacing).astype(int)[::-1]  # z, y, x
        if all(
            tree.query((kids + step) * zyx_mm)[0].min() >= child.split_gap_mm
            for tree, kids in pairs
        ):
            break
        reach += 0.5 * float(spacing.min())
    child.split_offset_vox = tuple(int(v) for v in step)
    vector = step[::-1] * spacing + np.subtract(child.offset_mm, parent.offset_mm)
    child.split_vector_mm = tuple(float(v) for v in vector)


def _baseline_volume_ml(les: Lesion) -> float:
    if les.shape == "lobulated":
        return sum(4 / 3 * math.pi * r**3 for *_, r in les.lobes) / 1000.0 * 0.8
    a, b, c = les.axes_mm
    return 4 / 3 * math.pi * a * b * c / 1000.0


def _truth(les: Lesion, spacing_mm, t: int, voxel_ml: float) -> dict:
    if not les.present[t]:
        return {"n_voxels": 0, "volume_ml": 0.0, "suvmean": np.nan, "suvmax": np.nan}
    _, inside, suv = les.voxelise(spacing_mm, t)
    n = int(inside.sum())
    if n == 0:
        return {"n_voxels": 0, "volume_ml": 0.0, "suvmean": np.nan, "suvmax": np.nan}
    vals = suv[inside]
    return {
        "n_voxels": n,
        "volume_ml": n * voxel_ml,
        "suvmean": float(vals.mean()),
        "suvmax": float(vals.max()),
    }


def suvtotal(les: Lesion, t: int) -> float:
    """True SUVtotal at time point ``t``: suvmean x voxel count (sum of SUV over the voxels);
    0 when absent."""
    tr = les.truth[t]
    return tr["suvmean"] * tr["n_voxels"] if tr["n_voxels"] else 0.0


def _change_category(now: float, base: float) -> str:
    change = (now - base) / base * 100.0
    if change < CHANGE_DECREASE:
        return "decreasing"
    if change > CHANGE_INCREASE:
        return "increasing"
    return "stable"


def response_category(les: Lesion, t: int) -> str:
    """Lesion response at time point ``t`` versus baseline (STUDY.md section 2).

    By the change of SUVtotal (= suvmean x voxel count): ``decreasing`` (< -30 %), ``stable``
    (-30 % to +30 %), ``increasing`` (> +30 %); ``new`` when absent at baseline,
    ``disappearing`` when present at baseline and absent now; ``baseline`` at ``t = 0``.
    A split child has no baseline of its own: it takes its family's category
    (:func:`family_response`), never ``new``.
    """
    if t == 0:
        return "baseline"
    if les.parent is not None:
        return family_response(les, t)
    if not les.present[0]:
        return "new" if les.present[t] else "disappearing"
    if not les.present[t]:
        return "disappearing"
    return _change_category(suvtotal(les, t), suvtotal(les, 0))


def family_response(les: Lesion, t: int) -> str:
    """Response at ``t`` of the family of ``les``: its parent (or itself) and the children.

    By the change of the family's summed SUVtotal at ``t`` versus the parent's baseline
    SUVtotal, with the limits of :func:`response_category`; ``disappearing`` when no member
    is present at ``t``.  For a lesion that never split this is its
    :func:`response_category`.
    """
    root = les.parent if les.parent is not None else les
    if not root.children or t == 0 or not root.present[0]:
        return response_category(root, t)
    members = [root, *root.children]
    if not any(m.present[t] for m in members):
        return "disappearing"
    return _change_category(sum(suvtotal(m, t) for m in members), suvtotal(root, 0))
