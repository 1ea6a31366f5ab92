"""Analytic anatomy of a synthetic patient and its rendering on image grids.

The body is a set of simple solids (ellipsoids, elliptic cylinders, capsules, cut by planes)
in patient coordinates (LPS, mm: +x patient left, +y posterior, +z head), painted in order so
later solids override earlier ones.  Each solid has a tissue (for SUV and HU) and an organ
label (TotalSegmentator numbers from :mod:`netpet.labels`, 0 for unlabelled tissue).
Reference anatomy: a 1.70 m adult with BMI 24, z = 0 at the diaphragm dome, scaled
in-plane by body size and along z by height.

The small bowel is a tangle of tube-like loops (:class:`LoopTexture`) inside a mesenteric
envelope, so that a maximum-intensity projection shows convoluted loops with patchy mild
uptake as in clinical [68Ga]Ga-DOTA-TOC scans rather than a uniform disc.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from netpet import labels

# Tissue: (SUV range drawn per patient, CT HU).  One place for the normal-tissue facts
# (STUDY.md section 6; thyroid, stomach, bowel and colon: mild physiological uptake).
TISSUES: dict[str, tuple[tuple[float, float], float]] = {
    "air": ((0.0, 0.0), -1000.0),
    "fat": ((0.25, 0.4), -100.0),
    "soft": ((0.5, 0.9), 40.0),
    "muscle": ((0.7, 1.0), 50.0),
    "lung": ((0.25, 0.35), -850.0),
    "blood": ((1.2, 2.0), 40.0),
    "liver": ((6.0, 10.0), 60.0),
    "spleen": ((20.0, 35.0), 48.0),
    "kidney_cortex": ((14.0, 20.0), 35.0),
    "kidney_medulla": ((8.0, 12.0), 30.0),
    "adrenal": ((8.0, 12.0), 30.0),
    "pancreas_uncinate": ((4.0, 6.0), 42.0),
    "pancreas_body": ((2.0, 3.0), 42.0),
    # Small-bowel loops: the drawn value is the loops' median level; along the loops it is
    # scaled by BOWEL_LEVELS, so loop uptake spans SUV 1.4-4.
    "bowel": ((2.2, 2.5), 25.0),
    "mesentery": ((0.4, 0.7), -60.0),
    "stomach_wall": ((1.5, 2.8), 45.0),
    "stomach_lumen": ((0.2, 0.4), 10.0),
    "colon_wall": ((1.8, 3.0), 35.0),
    "colon_lumen": ((0.2, 0.4), -300.0),
    "thyroid": ((2.0, 4.0), 100.0),
    "bladder": ((5.0, 60.0), 8.0),
    "bone": ((0.8, 1.5), 450.0),
    "bone_cortical": ((0.3, 0.6), 900.0),
    "csf": ((0.05, 0.15), 8.0),
    "brain": ((0.1, 0.25), 35.0),
    "pituitary": ((5.0, 10.0), 45.0),
}
TISSUE_INDEX = {name: i for i, name in enumerate(TISSUES)}
_LABEL_OF_NAME = {name: num for num, name in labels.NAMES.items()}

# Small-bowel loop uptake: the loops are cut into len(BOWEL_LEVELS) bands by a coarse random
# field; band k has SUV = bowel SUV x BOWEL_LEVELS[k].  BOWEL_CUTS are the band limits in
# units of that field (standard normal): the faint bands are the commonest, hot patches rare.
BOWEL_LEVELS = (0.65, 0.8, 1.0, 1.2, 1.4, 1.6)
BOWEL_CUTS = (-0.5, 0.0, 0.5, 1.0, 1.5)
# Loop geometry: wavelength of the two random fields (mm) and the tube half-width in units of
# their SD; 24 cosines per field.
LOOP_WAVELENGTH_MM = 80.0
LOOP_WIDTH = 0.8
BAND_WAVELENGTH_MM = 110.0
N_WAVES = 24


@dataclass(frozen=True)
class LoopTexture:
    """Tube-like loops with uptake varying along them, defined in body coordinates (mm).

    Three smooth random fields, each a sum of ``n`` cosines with random directions, phases
    and wavelengths (random Fourier features, Rahimi and Recht 2007):
    ``f(p) = sqrt(2 / n) * sum_i cos(k_i . p + phi_i)``, unit variance.  The loops are the
    points with ``f1^2 + f2^2 <= width^2``: a thickened intersection of two random level
    surfaces, i.e. a tangle of curved tubes.  The band of a loop point is the number of
    ``cuts`` below ``f3`` (0 .. len(cuts)).

    ``waves`` holds, per field, a tuple of (kx, ky, kz, phase) in rad/mm and rad.
    """

    waves: tuple[tuple[tuple[float, float, float, float], ...], ...]
    width: float
    cuts: tuple[float, ...]

    @staticmethod
    def draw(rng: np.random.Generator) -> LoopTexture:
        """Draw a texture with the module's loop and band wavelengths."""
        fields = []
        for wavelength in (LOOP_WAVELENGTH_MM, LOOP_WAVELENGTH_MM, BAND_WAVELENGTH_MM):
            v = rng.standard_normal((N_WAVES, 3))
            v /= np.linalg.norm(v, axis=1)[:, None]
            k = v * (2 * math.pi / (wavelength * rng.uniform(0.8, 1.25, N_WAVES)))[:, None]
            phase = rng.uniform(0, 2 * math.pi, N_WAVES)
            fields.append(tuple(tuple(map(float, (*k[i], phase[i]))) for i in range(N_WAVES)))
        return LoopTexture(tuple(fields), LOOP_WIDTH, BOWEL_CUTS)

    @staticmethod
    def _field(waves, x, y, z) -> np.ndarray:
        out = 0.0
        for kx, ky, kz, phase in waves:
            out = out + np.cos(kx * x + ky * y + kz * z + phase)
        return out * math.sqrt(2.0 / len(waves))

    def bands(self, x, y, z, *, where: np.ndarray | None = None) -> np.ndarray:
        """Band index (int8) at broadcastable ``x``, ``y``, ``z`` (mm); -1 off the loops.

        ``where``: boolean array of the broadcast shape; the fields are evaluated only
        there (-1 elsewhere), which saves time inside a solid's bounding box.
        """
        shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
        where = np.ones(shape, bool) if where is None else where
        pts = [np.broadcast_to(c, shape)[where] for c in (x, y, z)]
        f1 = self._field(self.waves[0], *pts)
        f2 = self._field(self.waves[1], *pts)
        on = f1 * f1 + f2 * f2 <= self.width**2
        on_pts = [c[on] for c in pts]
        band = np.full(on.shape, -1, np.int8)
        band[on] = np.searchsorted(np.asarray(self.cuts), self._field(self.waves[2], *on_pts))
        out = np.full(shape, -1, np.int8)
        out[where] = band
        return out


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
    ``texture`` and ``band``: keep only the points of that band of the loops.
    ``suv_scale`` multiplies the tissue's SUV.
    """

    name: str
    kind: str
    a: tuple[float, float, float]
    b: tuple[float, float, float]
    tissue: str
    label: int = 0
    r: float = 0.0
    planes: tuple[tuple[float, float, float, float], ...] = ()
    texture: LoopTexture | None = None
    band: int = -1
    suv_scale: float = 1.0

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

    def inside(self, x, y, z, *, bands: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask at broadcastable coordinates ``x``, ``y``, ``z`` (mm).

        ``bands``: ``texture.bands(x, y, z, where=self.shape_mask(x, y, z))`` if already
        computed (solids of one shape sharing a texture).
        """
        m = self.shape_mask(x, y, z)
        if self.texture is not None:
            if bands is None:
                bands = self.texture.bands(x, y, z, where=m)
            m = m & (bands == self.band)
        return m

    def shape_mask(self, x, y, z) -> np.ndarray:
        """Boolean mask of the solid's shape and planes, ignoring its texture."""
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
        suv = [0.0] + [self.suv[s.tissue] * s.suv_scale for s in self.solids]
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
        bands_cache: dict[tuple, np.ndarray] = {}  # one texture evaluation per box
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
            xyz = (
                (x[bx] - sx)[None, None, :],
                (y[by] - sy)[None, :, None],
                (z[bz] - sz)[:, None, None],
            )
            bands = None
            if solid.texture is not None:
                shape = (solid.kind, solid.a, solid.b, solid.r, solid.planes)
                key = (id(solid.texture), shape, ix[0], ix[-1], iy[0], iy[-1], iz[0], iz[-1])
                if key not in bands_cache:
                    where = solid.shape_mask(*xyz)
                    bands_cache[key] = solid.texture.bands(*xyz, where=where)
                bands = bands_cache[key]
            m = solid.inside(*xyz, bands=bands)
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

    def shoulders(inset_mm):
        # Sloping shoulders: cut the trunk's upper outer corners at 45 degrees.
        d = ax_body + z_shoulder - 70 * sz - inset_mm
        return ((1, 0, 1, d), (-1, 0, 1, d))

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
        Solid(
            "trunk",
            "cylinder",
            (0, 0, z_bottom),
            (ax_body, ay_body, z_shoulder),
            "fat",
            planes=shoulders(0.0),
        ),
        Solid(
            "trunk_in",
            "cylinder",
            (0, 0, z_bottom),
            (ax_body - fat, ay_body - fat, z_shoulder),
            "soft",
            planes=shoulders(fat * math.sqrt(2)),
        ),
        Solid("neck", "cylinder", (0, 10, z_shoulder - 5), (58, 58, 430 * sz), "soft"),
        Solid("skull", "ellipsoid", (0, 5 * so, 525 * sz), (72, 92, 100 * sz), "bone_cortical"),
        Solid("brain", "ellipsoid", (0, 5 * so, 530 * sz), (65, 85, 90 * sz), "brain"),
        Solid(
            "pituitary", "ellipsoid", (0, -5, 470 * sz), (6, 5, 4), "pituitary", labels.PITUITARY
        ),
        # Thyroid: two lobes beside the trachea and the isthmus in front of it.
        Solid(
            "thyroid_r",
            "ellipsoid",
            (-18, -18, 345 * sz),
            (10, 11, 24 * sz),
            "thyroid",
            labels.THYROID,
        ),
        Solid(
            "thyroid_l",
            "ellipsoid",
            (18, -18, 345 * sz),
            (10, 11, 24 * sz),
            "thyroid",
            labels.THYROID,
        ),
        Solid(
            "thyroid_isthmus",
            "capsule",
            (-14, -27, 335 * sz),
            (14, -27, 335 * sz),
            "thyroid",
            labels.THYROID,
            r=5,
        ),
    ]
    # Muscles: paraspinal along the trunk, psoas from the upper lumbar spine to the groin.
    for side, sign in (("r", -1), ("l", 1)):
        s.append(
            Solid(
                f"paraspinal_{side}",
                "cylinder",
                (sign * 42 * so, 88 * so, z_bottom + 60 * sz),
                (24 * so, 20 * so, z_shoulder - 20 * sz),
                "muscle",
            )
        )
        s.append(
            Solid(
                f"psoas_{side}",
                "capsule",
                p(sign * 32, 62, -150),
                p(sign * 78, 15, -360),
                "muscle",
                r=17 * so,
            )
        )
    # Small bowel: a mesenteric envelope (labelled, faint) filled with loops whose uptake
    # varies along them, one solid per uptake band.
    envelope = dict(kind="ellipsoid", a=p(0, -25, -215), b=ax(95, 62, 95), label=labels.SMALL_BOWEL)
    cut = ((0, 0, 1, -135 * sz),)
    s.append(Solid("small_bowel", tissue="mesentery", planes=cut, **envelope))
    texture = LoopTexture.draw(rng)
    for k, level in enumerate(BOWEL_LEVELS):
        s.append(
            Solid(
                f"small_bowel_loop_{k}",
                tissue="bowel",
                planes=cut,
                texture=texture,
                band=k,
                suv_scale=level,
                **envelope,
            )
        )
    # Colon frame: caecum, ascending, transverse (sagging), descending, sigmoid, rectum;
    # a mildly active wall around a cold lumen.
    colon_path = [
        p(-108, -20, -285),
        p(-110, -15, -140),
        p(-85, -40, -118),
        p(0, -62, -150),
        p(85, -40, -110),
        p(108, -5, -125),
        p(108, -5, -270),
        p(45, -35, -300),
        p(0, 35, -330),
        p(0, 62, -390),
    ]
    for layer, tissue, radius in (("wall", "colon_wall", 19), ("lumen", "colon_lumen", 10)):
        for i, (a, b) in enumerate(itertools.pairwise(colon_path)):
            s.append(
                Solid(f"colon_{layer}_{i}", "capsule", a, b, tissue, labels.COLON, r=radius * so)
            )
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
        # Unlabelled large vessels: inferior vena cava, iliac arteries, carotid arteries.
        Solid("ivc", "capsule", p(-28, 35, -195), p(-30, 10, 20), "blood", r=13 * so),
        Solid("iliac_a_r", "capsule", p(20, 42, -190), p(-80, 5, -370), "blood", r=7),
        Solid("iliac_a_l", "capsule", p(20, 42, -190), p(80, 5, -370), "blood", r=7),
        Solid("carotid_r", "capsule", p(-10, -5, 150), p(-28, 10, 440), "blood", r=5),
        Solid("carotid_l", "capsule", p(10, -5, 150), p(28, 10, 440), "blood", r=5),
        # Stomach under the left dome: a mildly active wall around a fluid-filled lumen.
        Solid(
            "stomach", "ellipsoid", p(55, -25, -50), ax(36, 30, 48), "stomach_wall", labels.STOMACH
        ),
        Solid(
            "stomach_lumen",
            "ellipsoid",
            p(55, -25, -50),
            ax(29, 23, 41),
            "stomach_lumen",
            labels.STOMACH,
        ),
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
            sol = replace(sol, b=tuple(v * fill for v in sol.b))
        out.append(sol)
    scan_suv = {k: v * float(rng.uniform(0.95, 1.05)) for k, v in suv.items()}
    scan_suv["bladder"] = float(rng.uniform(*TISSUES["bladder"][0]))
    scan_suv["air"] = 0.0
    return Anatomy(out, scan_suv, dict(hu), shift_mm)
