"""Analytic anatomy of a synthetic patient and its rendering on image grids.

The body is a set of simple solids (ellipsoids, elliptic cylinders, capsules, cut by planes)
in patient coordinates (LPS, mm: +x patient left, +y posterior, +z head), painted in order so
later solids override earlier ones.  Each solid has a tissue (for SUV and HU) and an organ
label (TotalSegmentator numbers from :mod:`netpet.labels`, 0 for unlabelled tissue).
Reference anatomy: a 1.70 m adult with BMI 24, z = 0 at the diaphragm dome, scaled
in-plane by body size and along z by height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netpet import labels

# Tissue: (SUV range drawn per patient, CT HU).  One place for the normal-tissue facts
# (STUDY.md section 6).
TISSUES: dict[str, tuple[tuple[float, float], float]] = {
    "air": ((0.0, 0.0), -1000.0),
    "fat": ((0.25, 0.4), -100.0),
    "soft": ((0.5, 0.9), 40.0),
    "lung": ((0.25, 0.35), -850.0),
    "blood": ((1.2, 2.0), 40.0),
    "liver": ((6.0, 10.0), 60.0),
    "spleen": ((20.0, 35.0), 48.0),
    "kidney_cortex": ((14.0, 20.0), 35.0),
    "kidney_medulla": ((8.0, 12.0), 30.0),
    "adrenal": ((8.0, 12.0), 30.0),
    "pancreas_uncinate": ((4.0, 6.0), 42.0),
    "pancreas_body": ((2.0, 3.0), 42.0),
    "bowel": ((1.2, 2.5), 25.0),
    "bladder": ((5.0, 60.0), 8.0),
    "bone": ((0.8, 1.5), 450.0),
    "bone_cortical": ((0.3, 0.6), 900.0),
    "csf": ((0.05, 0.15), 8.0),
    "brain": ((0.1, 0.25), 35.0),
    "pituitary": ((5.0, 10.0), 45.0),
}
TISSUE_INDEX = {name: i for i, name in enumerate(TISSUES)}
_LABEL_OF_NAME = {name: num for num, name in labels.NAMES.items()}


@dataclass(frozen=True)
class Grid:
    """An axial image grid in patient coordinates.

    ``origin_mm`` is the centre of voxel (0, 0, 0) and ``spacing_mm`` the voxel size, both
    (x, y, z) in mm; ``shape`` is the numpy array shape (z, y, x).  Identity direction.
    """

    origin_mm: tuple[float, float, float]
    spacing_mm: tuple[float, float, float]
    shape: tuple[int, int, int]

    def axis(self, i: int) -> np.ndarray:
        """Voxel-centre coordinates (mm) along patient axis ``i`` (0 = x, 1 = y, 2 = z)."""
        n = self.shape[2 - i]
        return self.origin_mm[i] + self.spacing_mm[i] * np.arange(n)

    @property
    def voxel_ml(self) -> float:
        return float(np.prod(self.spacing_mm)) / 1000.0


@dataclass(frozen=True)
class Solid:
    """One painted solid: ``kind`` in ellipsoid | cylinder | capsule.

    ellipsoid: ``a`` = centre (x, y, z), ``b`` = semi-axes; cylinder: ``a`` = (cx, cy, z0),
    ``b`` = (sx, sy, z1), elliptic cross-section between z0 and z1; capsule: segment ``a`` to
    ``b`` with radius ``r``.  ``planes``: keep points with n . p <= d for each (nx, ny, nz, d).
    """

    name: str
    kind: str
    a: tuple[float, float, float]
    b: tuple[float, float, float]
    tissue: str
    label: int = 0
    r: float = 0.0
    planes: tuple[tuple[float, float, float, float], ...] = ()

    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = np.asarray(self.a, float), np.asarray(self.b, float)
        if self.kind == "ellipsoid":
            return a - b, a + b
        if self.kind == "cylinder":
            return (
                np.array([a[0] - b[0], a[1] - b[1], a[2]]),
                np.array([a[0] + b[0], a[1] + b[1], b[2]]),
            )
        return np.minimum(a, b) - self.r, np.maximum(a, b) + self.r

    def inside(self, x, y, z) -> np.ndarray:
        """Boolean mask at broadcastable coordinates ``x``, ``y``, ``z`` (mm)."""
        a, b = self.a, self.b
        if self.kind == "ellipsoid":
            m = ((x - a[0]) / b[0]) ** 2 + ((y - a[1]) / b[1]) ** 2 + ((z - a[2]) / b[2]) ** 2 <= 1
        elif self.kind == "cylinder":
            m = (
                (((x - a[0]) / b[0]) ** 2 + ((y - a[1]) / b[1]) ** 2 <= 1)
                & (z >= a[2])
                & (z <= b[2])
            )
        else:
            d = np.subtract(b, a)
            length2 = float(d @ d)
            t = ((x - a[0]) * d[0] + (y - a[1]) * d[1] + (z - a[2]) * d[2]) / length2
            t = np.clip(t, 0.0, 1.0)
            m = (x - a[0] - t * d[0]) ** 2 + (y - a[1] - t * d[1]) ** 2 + (
                z - a[2] - t * d[2]
            ) ** 2 <= self.r**2
        for nx, ny, nz, dd in self.planes:
            m = m & (nx * x + ny * y + nz * z <= dd)
        return m


@dataclass
class Anatomy:
    """A patient's solids at one time point plus tissue SUVs (pre-blur) and CT numbers."""

    solids: list[Solid]
    suv: dict[str, float]
    hu: dict[str, float]
    shift_mm: tuple[float, float, float]  # translation of the body in this scan (x, y, z)

    def lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per painted index (0 = air, i = solid i-1): SUV, HU, organ label arrays."""
        suv = [0.0] + [self.suv[s.tissue] for s in self.solids]
        hu = [TISSUES["air"][1]] + [self.hu[s.tissue] for s in self.solids]
        lab = [0] + [s.label for s in self.solids]
        return np.array(suv), np.array(hu), np.array(lab, dtype=np.uint16)

    def render(self, grid: Grid, z_range: tuple[int, int] | None = None) -> np.ndarray:
        """Paint the solids on ``grid``; returns the painted-index array (z, y, x), uint8.

        ``z_range`` = (first, stop) slice indices renders a slab only.
        """
        z0, z1 = z_range or (0, grid.shape[0])
        x = grid.axis(0)
        y = grid.axis(1)
        z = grid.axis(2)[z0:z1]
        out = np.zeros((z1 - z0, grid.shape[1], grid.shape[2]), dtype=np.uint8)
        sx, sy, sz = self.shift_mm
        for idx, solid in enumerate(self.solids, start=1):
            lo, hi = solid.bbox()
            lo = lo + np.array((sx, sy, sz))
            hi = hi + np.array((sx, sy, sz))
            ix = np.nonzero((x >= lo[0]) & (x <= hi[0]))[0]
            iy = np.nonzero((y >= lo[1]) & (y <= hi[1]))[0]
            iz = np.nonzero((z >= lo[2]) & (z <= hi[2]))[0]
            if not (ix.size and iy.size and iz.size):
                continue
            bx = slice(ix[0], ix[-1] + 1)
            by = slice(iy[0], iy[-1] + 1)
            bz = slice(iz[0], iz[-1] + 1)
            m = solid.inside(
                (x[bx] - sx)[None, None, :],
                (y[by] - sy)[None, :, None],
                (z[bz] - sz)[:, None, None],
            )
            out[bz, by, bx][m] = idx
        return out


VERTEBRA_LEVELS = (
    "S1",
    "L5",
    "L4",
    "L3",
    "L2",
    "L1",
    "T12",
    "T11",
    "T10",
    "T9",
    "T8",
    "T7",
    "T6",
    "T5",
    "T4",
    "T3",
    "T2",
    "T1",
    "C7",
    "C6",
    "C5",
    "C4",
    "C3",
)


def vertebra_label(level: str) -> int:
    """TotalSegmentator label of a vertebra if :mod:`netpet.labels` defines it, else 0."""
    return _LABEL_OF_NAME.get(f"vertebrae_{level}", 0)


def build_anatomy(
    rng: np.random.Generator, *, weight_kg: float, height_m: float
) -> tuple[list[Solid], dict[str, float], dict[str, float]]:
    """Draw a patient's solids (basal geometry) and tissue SUV/HU values.

    Returns
    -------
    solids : list of Solid
        In painting order.
    suv : dict
        Intended normal-tissue SUV (pre-blur) per tissue.
    hu : dict
        CT number per tissue, HU.
    """
    bmi = weight_kg / height_m**2
    sxy = float(np.clip(math.sqrt(bmi / 24.0), 0.85, 1.15))
    so = float(np.clip(sxy, 0.92, 1.08))  # organs scale less than the outline
    sz = float(np.clip(height_m / 1.70, 0.92, 1.08))
    fat = float(np.clip(8 + 12 * (bmi - 18), 8, 40))

    def p(x, y, z):
        return (x * so, y * so, z * sz)

    def ax(a, b, c):
        return (a * so, b * so, c * sz)

    ax_body, ay_body = 165 * sxy, 110 * sxy
    z_bottom, z_shoulder = -400 * sz, 300 * sz
    s: list[Solid] = [
        Solid(
            "thigh_r",
            "cylinder",
            (-95 * so, 5, -900 * sz),
            (75 * sxy, 75 * sxy, z_bottom + 10),
            "fat",
        ),
        Solid(
            "thigh_l",
            "cylinder",
            (95 * so, 5, -900 * sz),
            (75 * sxy, 75 * sxy, z_bottom + 10),
            "fat",
        ),
        Solid(
            "thigh_r_in",
            "cylinder",
            (-95 * so, 5, -900 * sz),
            (75 * sxy - fat, 75 * sxy - fat, z_bottom + 10),
            "soft",
        ),
        Solid(
            "thigh_l_in",
            "cylinder",
            (95 * so, 5, -900 * sz),
            (75 * sxy - fat, 75 * sxy - fat, z_bottom + 10),
            "soft",
        ),
        Solid("trunk", "cylinder", (0, 0, z_bottom), (ax_body, ay_body, z_shoulder), "fat"),
        Solid(
            "trunk_in",
            "cylinder",
            (0, 0, z_bottom),
            (ax_body - fat, ay_body - fat, z_shoulder),
            "soft",
        ),
        Solid("neck", "cylinder", (0, 10, z_shoulder - 5), (58, 58, 430 * sz), "soft"),
        Solid("skull", "ellipsoid", (0, 5 * so, 525 * sz), (72, 92, 100 * sz), "bone_cortical"),
        Solid("brain", "ellipsoid", (0, 5 * so, 530 * sz), (65, 85, 90 * sz), "brain"),
        Solid(
            "pituitary", "ellipsoid", (0, -5, 470 * sz), (6, 5, 4), "pituitary", labels.PITUITARY
        ),
        Solid(
            "small_bowel",
            "ellipsoid",
            p(0, -25, -215),
            ax(115, 62, 95),
            "bowel",
            labels.SMALL_BOWEL,
            planes=((0, 0, 1, -135 * sz),),
        ),
    ]
    # Lungs: lower lobes whole, then middle and upper lobes painted over (oblique fissures).
    for side, sign, labs in (
        ("r", -1, (labels.LUNG_LOWER_RIGHT, labels.LUNG_MIDDLE_RIGHT, labels.LUNG_UPPER_RIGHT)),
        ("l", 1, (labels.LUNG_LOWER_LEFT, None, labels.LUNG_UPPER_LEFT)),
    ):
        centre, semi = p(sign * 85, 10, 135), ax(62, 85, 150)
        floor = (0, 0, -1, -5 * sz)
        s.append(
            Solid(f"lung_{side}_lower", "ellipsoid", centre, semi, "lung", labs[0], planes=(floor,))
        )
        if labs[1] is not None:
            s.append(
                Solid(
                    f"lung_{side}_middle",
                    "ellipsoid",
                    centre,
                    semi,
                    "lung",
                    labs[1],
                    planes=(floor, (0, 1, 0, -15 * so)),
                )
            )
        s.append(
            Solid(
                f"lung_{side}_upper",
                "ellipsoid",
                centre,
                semi,
                "lung",
                labs[2],
                planes=(floor, (0, 0.5, -1, -150 * sz)),
            )
        )
    s += [
        Solid("heart", "ellipsoid", p(25, -35, 75), ax(62, 52, 58), "blood", labels.HEART),
        Solid(
            "aorta",
            "cylinder",
            (20 * so, 42 * so, -190 * sz),
            (12, 12, 140 * sz),
            "blood",
            labels.AORTA,
        ),
        Solid("aorta_arch", "capsule", p(20, 42, 140), p(0, -10, 150), "blood", labels.AORTA, r=13),
        Solid(
            "liver",
            "ellipsoid",
            p(-65, -5, -55),
            ax(88, 78, 70),
            "liver",
            labels.LIVER,
            planes=((1, 0, 0, 35 * so),),
        ),
        Solid("spleen", "ellipsoid", p(100, 45, -45), ax(28, 42, 48), "spleen", labels.SPLEEN),
        Solid(
            "pancreas_body",
            "capsule",
            p(5, 12, -95),
            p(85, 32, -72),
            "pancreas_body",
            labels.PANCREAS,
            r=11,
        ),
        Solid(
            "pancreas_head",
            "capsule",
            p(-22, 5, -108),
            p(5, 12, -95),
            "pancreas_uncinate",
            labels.PANCREAS,
            r=15,
        ),
        Solid(
            "kidney_r",
            "ellipsoid",
            p(-75, 58, -140),
            ax(28, 26, 55),
            "kidney_cortex",
            labels.KIDNEY_RIGHT,
        ),
        Solid(
            "kidney_r_in",
            "ellipsoid",
            p(-75, 58, -140),
            ax(16, 14, 40),
            "kidney_medulla",
            labels.KIDNEY_RIGHT,
        ),
        Solid(
            "kidney_l",
            "ellipsoid",
            p(75, 58, -125),
            ax(28, 26, 55),
            "kidney_cortex",
            labels.KIDNEY_LEFT,
        ),
        Solid(
            "kidney_l_in",
            "ellipsoid",
            p(75, 58, -125),
            ax(16, 14, 40),
            "kidney_medulla",
            labels.KIDNEY_LEFT,
        ),
        Solid(
            "adrenal_r",
            "ellipsoid",
            p(-52, 48, -70),
            ax(7, 12, 18),
            "adrenal",
            labels.ADRENAL_RIGHT,
        ),
        Solid(
            "adrenal_l", "ellipsoid", p(52, 48, -60), ax(7, 12, 18), "adrenal", labels.ADRENAL_LEFT
        ),
        Solid("iliac_r", "ellipsoid", p(-105, 45, -275), ax(24, 45, 62), "bone"),
        Solid("iliac_l", "ellipsoid", p(105, 45, -275), ax(24, 45, 62), "bone"),
        Solid("femur_r", "capsule", p(-92, 5, -375), p(-100, 5, -900), "bone_cortical", r=22),
        Solid("femur_l", "capsule", p(92, 5, -375), p(100, 5, -900), "bone_cortical", r=22),
        Solid(
            "bladder",
            "ellipsoid",
            p(0, -20, -335),
            ax(40, 32, 28),
            "bladder",
            labels.URINARY_BLADDER,
        ),
    ]
    # Spine: posterior arch and canal along the whole column, then labelled vertebral bodies.
    s.append(
        Solid(
            "spine_arch", "cylinder", (0, 100 * so, -310 * sz), (20, 15, 420 * sz), "bone_cortical"
        )
    )
    s.append(Solid("spinal_canal", "cylinder", (0, 98 * so, -310 * sz), (9, 8, 430 * sz), "csf"))
    pitch = 32.0 * sz
    for k, level in enumerate(VERTEBRA_LEVELS):
        zc = -290 * sz + k * pitch
        s.append(
            Solid(
                f"vertebra_{level}",
                "cylinder",
                (0, 72 * so, zc - 13 * sz),
                (21, 18, zc + 13 * sz),
                "bone",
                vertebra_label(level),
            )
        )
    suv = {t: float(rng.uniform(*rng_range)) for t, (rng_range, _) in TISSUES.items()}
    suv["kidney_medulla"] = 0.6 * suv["kidney_cortex"]
    hu = {t: h for t, (_, h) in TISSUES.items()}
    return s, suv, hu


def scan_anatomy(
    rng: np.random.Generator,
    solids: list[Solid],
    suv: dict[str, float],
    hu: dict[str, float],
    shift_mm: tuple[float, float, float],
) -> Anatomy:
    """The anatomy at one scan: bladder filling and uptake vary, the body is shifted.

    Normal-tissue SUVs vary by +-5 % between scans; bladder SUV is redrawn; bladder size
    varies by a factor 0.7-1.3 per axis.
    """
    fill = float(rng.uniform(0.7, 1.3))
    out = []
    for sol in solids:
        if sol.name == "bladder":
            sol = Solid(
                sol.name, sol.kind, sol.a, tuple(v * fill for v in sol.b), sol.tissue, sol.label
            )
        out.append(sol)
    scan_suv = {k: v * float(rng.uniform(0.95, 1.05)) for k, v in suv.items()}
    scan_suv["bladder"] = float(rng.uniform(*TISSUES["bladder"][0]))
    scan_suv["air"] = 0.0
    return Anatomy(out, scan_suv, dict(hu), shift_mm)
