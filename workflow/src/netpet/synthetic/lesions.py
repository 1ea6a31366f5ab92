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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

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

    @property
    def bound_mm(self) -> float:
        """Radius (mm, baseline scale) of a sphere about the centre that holds the object."""
        if self.shape == "lobulated":
            return max(math.sqrt(ox * ox + oy * oy + oz * oz) + r for ox, oy, oz, r in self.lobes)
        return max(self.axes_mm)

    def max_bound_mm(self) -> float:
        """Bounding radius (mm) over all time points at which the lesion is present."""
        return self.bound_mm * max(s for s, p in zip(self.scale, self.present, strict=True) if p)

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
        return inside, np.broadcast_to(suv, inside.shape)

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
            math.ceil((self.bound_mm * self.scale[t] + abs(o)) / d) + 1
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


def draw_lesions(
    rng: np.random.Generator,
    *,
    n_timepoints: int,
    primary_site: str,
    spacing_mm,
    settings: dict,
    response_log: float,
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

    Returns
    -------
    list of Lesion
        With ``truth[t]`` = dict(n_voxels, volume_ml, suvmean, suvmax, suvtotal) per time point.
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

    def new_lesion(site: str, first: int, median_ml: float, volume_ml=None) -> Lesion:
        cap = SITES[site]["cap_ml"]
        v0 = float(np.clip(median_ml * math.exp(burden + rng.normal(0, 1.0)), 2 * min_ml, cap))
        if volume_ml is not None:
            v0 = volume_ml
        shape, axes, lobes = _shape(rng, v0)
        hetero = rng.uniform() < 0.3
        pattern = "uniform"
        if hetero:
            pattern = "necrotic" if v0 >= 4.0 else "gradient"
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        level = float(
            np.clip(25.0 * math.exp(receptor + rng.normal(0, 0.45)), BASELINE_MIN_SUV, MAX_SUV)
        )
        offset = tuple(float(x) for x in rng.uniform(-0.5, 0.5, 3) * np.asarray(spacing_mm))
        present = [t >= first for t in range(n_timepoints)]
        return Lesion(
            lesion_id=0,
            site=site,
            shape=shape,
            rotation=_rotation(rng),
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

    for t in range(1, n_timepoints):
        r_t = response_log if t == 1 else rng.normal(0.5 * response_log + 0.15, 0.3)
        for les in lesions:
            if not les.present[t - 1]:
                continue
            v_prev = les.scale[t - 1] ** 3
            v_base = _baseline_volume_ml(les)
            v_new = v_prev * math.exp(r_t + rng.normal(0, 0.35))
            p_gone = min(0.5, 0.03 + 0.3 * max(0.0, -r_t)) if v_base * v_prev < 3 else 0.0
            cap = SITES[les.site]["cap_ml"]
            if v_base * v_new < min_ml or rng.uniform() < p_gone:
                for u in range(t, n_timepoints):
                    les.present[u] = False
                continue
            v_new = min(v_new, cap / v_base)
            for u in range(t, n_timepoints):
                les.scale[u] = v_new ** (1 / 3)
                les.uptake[u] = float(
                    np.clip(
                        les.uptake[t - 1] * math.exp(0.4 * r_t + rng.normal(0, 0.12)),
                        FOLLOWUP_MIN_SUV,
                        MAX_SUV,
                    )
                )
        n_new = rng.poisson(0.35 * math.exp(2.0 * r_t) * (1 + len(lesions) / 15))
        for site in rng.choice(METASTASIS_SITES, size=min(int(n_new), 8), p=weights):
            lesions.append(new_lesion(str(site), t, 1.0))

    for i, les in enumerate(lesions, start=1):
        les.lesion_id = i
        les.truth = [_truth(les, spacing_mm, t, voxel_ml) for t in range(n_timepoints)]
        # A lesion too small to fill MIN_VOXELS voxels is not there.
        for t, tr in enumerate(les.truth):
            if les.present[t] and tr["n_voxels"] < MIN_VOXELS:
                les.present[t] = False
                les.truth[t] = _truth(les, spacing_mm, t, voxel_ml)
    return [les for les in lesions if any(les.present)]


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


def response_category(les: Lesion, t: int) -> str:
    """Lesion response at time point ``t`` versus baseline (STUDY.md section 2).

    By the change of SUVtotal (= suvmean x voxel count): ``decreasing`` (< -30 %), ``stable``
    (-30 % to +30 %), ``increasing`` (> +30 %); ``new`` when absent at baseline,
    ``disappearing`` when present at baseline and absent now; ``baseline`` at ``t = 0``.
    """
    if t == 0:
        return "baseline"
    if not les.present[0]:
        return "new" if les.present[t] else "disappearing"
    if not les.present[t]:
        return "disappearing"
    base = les.truth[0]["suvmean"] * les.truth[0]["n_voxels"]
    now = les.truth[t]["suvmean"] * les.truth[t]["n_voxels"]
    change = (now - base) / base * 100.0
    if change < CHANGE_DECREASE:
        return "decreasing"
    if change > CHANGE_INCREASE:
        return "increasing"
    return "stable"
