"""Analytic anatomy of a synthetic patient and its rendering on image grids.

The body is a set of simple solids (ellipsoids, elliptic cylinders, capsules, cut by planes)
in patient coordinates (LPS, mm: +x patient left, +y posterior, +z head), painted in order so
later solids override earlier ones.  Each solid has a tissue (for SUV and HU) and an organ
label (TotalSegmentator numbers from :mod:`netpet.labels`, 0 for unlabelled tissue).
Reference anatomy: a 1.70 m adult with BMI 24, z = 0 at the diaphragm dome, scaled
in-plane by body size and along z by height.

The solids' numbers live in the versioned anatomy file ``anatomy_v1.yaml`` (read by
:mod:`netpet.synthetic.anatomy_file`); the scaling rules live here (:class:`BodySize`), and
:func:`build_anatomy` sizes the file's solids for a patient.

The small bowel is a tangle of tube-like loops (:class:`LoopTexture`) inside a mesenteric
envelope, so that a maximum-intensity projection shows convoluted loops with patchy mild
uptake as in clinical [68Ga]Ga-DOTA-TOC scans rather than a uniform disc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from netpet.synthetic import anatomy_file

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


@dataclass(frozen=True)
class BodySize:
    """A patient's body-size factors versus the reference adult (1.70 m, BMI 24).

    The scaling rules of the anatomy; the anatomy file's expressions use these four names.

    Attributes
    ----------
    sxy : float
        In-plane scale of the body outline (skin, thighs): sqrt(BMI / 24), clipped to
        [0.85, 1.15].
    so : float
        In-plane scale of the organs: ``sxy`` clipped to [0.92, 1.08] (organs vary less with
        weight than the outline).
    sz : float
        Scale along z: height / 1.70 m, clipped to [0.92, 1.08].
    fat : float
        Subcutaneous fat thickness, mm: 8 + 12 (BMI - 18), clipped to [8, 40].
    """

    sxy: float
    so: float
    sz: float
    fat: float

    @staticmethod
    def of(*, weight_kg: float, height_m: float) -> BodySize:
        """The factors of a patient of ``weight_kg`` and ``height_m``."""
        bmi = weight_kg / height_m**2
        sxy = float(np.clip(math.sqrt(bmi / 24.0), 0.85, 1.15))
        return BodySize(
            sxy=sxy,
            so=float(np.clip(sxy, 0.92, 1.08)),
            sz=float(np.clip(height_m / 1.70, 0.92, 1.08)),
            fat=float(np.clip(8 + 12 * (bmi - 18), 8, 40)),
        )

    def variables(self) -> dict[str, float]:
        """The factors by name, as the anatomy file's expressions use them."""
        return {"sxy": self.sxy, "so": self.so, "sz": self.sz, "fat": self.fat}


def _anatomy_file() -> anatomy_file.AnatomyFile:
    return anatomy_file.read_anatomy_file(anatomy_file.ANATOMY_FILE, tissues=tuple(TISSUES))


def scan_range_mm(body: BodySize) -> tuple[float, float]:
    """z (mm) of the PET field of view's edges: top with the head in view, bottom without.

    Returns
    -------
    vertex_z, thigh_z : float
        The anatomy file's ``scan_range`` for this body.
    """
    return _anatomy_file().scan_range_mm(body.variables())


def build_anatomy(
    rng: np.random.Generator, body: BodySize
) -> tuple[list[Solid], dict[str, float], dict[str, float]]:
    """Draw a patient's solids (basal geometry) and tissue SUV/HU values.

    The solids are those of the anatomy file (:mod:`netpet.synthetic.anatomy_file`) sized
    for ``body``; after an envelope with ``loops`` come the small-bowel loops, one solid per
    band of :data:`BOWEL_LEVELS` on a :class:`LoopTexture` drawn from ``rng``.  Random draws,
    in this order: the loop texture, then one SUV per tissue of :data:`TISSUES`.

    Parameters
    ----------
    rng : numpy.random.Generator
        The patient's scan stream.
    body : BodySize
        The patient's body-size factors.

    Returns
    -------
    solids : list of Solid
        In painting order.
    suv : dict
        Intended normal-tissue SUV (pre-blur) per tissue.
    hu : dict
        CT number per tissue, HU.
    """
    solids: list[Solid] = []
    for arguments in _anatomy_file().solid_arguments(body.variables()):
        loops = arguments.pop("loops")
        solid = Solid(**arguments)
        solids.append(solid)
        if loops is not None:
            texture = LoopTexture.draw(rng)
            solids += [
                replace(
                    solid,
                    name=f"{solid.name}_loop_{k}",
                    tissue=loops,
                    texture=texture,
                    band=k,
                    suv_scale=level,
                )
                for k, level in enumerate(BOWEL_LEVELS)
            ]
    suv = {t: float(rng.uniform(*rng_range)) for t, (rng_range, _) in TISSUES.items()}
    suv["kidney_medulla"] = 0.6 * suv["kidney_cortex"]
    hu = {t: h for t, (_, h) in TISSUES.items()}
    return solids, suv, hu


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
