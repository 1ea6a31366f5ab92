"""Images of a synthetic scan: PET (SUV) and CT (HU) with organ labels, lesions painted in.

PET: the anatomy's painted-index map on the PET grid looked up as intended SUV, the present
lesions voxelised over it (:func:`intended_suv`), then point-spread and noise
(:func:`pet_image`).  CT: the anatomy rendered slab by slab on the CT grid, lesions painted
with their site's HU and host organ label (:func:`ct_slabs`), so a 512 x 512 CT never sits in
memory as float64 at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import ndimage

from netpet import labels
from netpet.imaging.grid import FWHM_PER_SIGMA
from netpet.synthetic.anatomy import Anatomy, Grid
from netpet.synthetic.lesions import SITES, Lesion
from netpet.synthetic.placement import Placement

CT_SLAB = 32  # CT slices rendered at a time
LABEL_DTYPE = np.uint8 if max(labels.NAMES) < 256 else np.uint16
"""dtype of the organ label maps."""


def intended_suv(
    anatomy: Anatomy,
    index_map: np.ndarray,
    lesions: list[Lesion],
    placement: Placement,
    shift_vox: np.ndarray,
    t: int,
    grid: Grid,
) -> tuple[np.ndarray, np.ndarray]:
    """The intended (pre-blur) SUV image of scan ``t`` and its true lesion label map.

    Parameters
    ----------
    anatomy : Anatomy
        The anatomy at scan ``t``.
    index_map : numpy.ndarray of uint8, shape (z, y, x)
        ``anatomy.render(grid)``.
    lesions : list of Lesion
        The patient's lesions; those present at ``t`` are painted over the anatomy.
    placement : Placement
        The lesions' centres on the baseline grid.
    shift_vox : numpy.ndarray of int
        The body shift of scan ``t`` in PET voxels (z, y, x).
    t : int
        Time-point index.
    grid : Grid
        The PET grid.

    Returns
    -------
    suv : numpy.ndarray of float32, shape (z, y, x)
        Normal-tissue SUV with each present lesion's voxelised SUV.
    lesion_label : numpy.ndarray of uint16, shape (z, y, x)
        ``lesion_id`` on the voxels whose centres lie inside the lesion, else 0.
    """
    suv = anatomy.lookup()[0][index_map].astype(np.float32)
    lesion_label = np.zeros(grid.shape, np.uint16)
    for les in lesions:
        if not les.present[t]:
            continue
        start, inside, vals = les.voxelise(grid.spacing_mm, t)
        c = placement.centres[les.lesion_id] + shift_vox + np.array(start)
        box = tuple(slice(c[i], c[i] + inside.shape[i]) for i in range(3))
        suv[box][inside] = vals[inside]
        lesion_label[box][inside] = les.lesion_id
    return suv, lesion_label


def pet_image(
    suv: np.ndarray,
    *,
    spacing_mm,
    fwhm_mm: float,
    liver_suv: float,
    liver_cv: float,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Reconstructed-looking PET (SUV) from the intended pre-blur SUV image.

    1. Point-spread: Gaussian blur with ``fwhm_mm`` (sigma = FWHM / (2 sqrt(2 ln 2)) per axis).
    2. Noise (``liver_cv`` > 0): Poisson-like, variance proportional to the blurred value,
       ``x + liver_cv * sqrt(x * liver_suv) * n`` with ``n`` a white Gaussian field smoothed
       by a 0.6-voxel Gaussian and scaled to unit SD, so the coefficient of variation is
       ``liver_cv`` where ``x = liver_suv`` and larger in colder tissue.
    3. Negative values are set to 0 (as OSEM images are non-negative).

    Parameters
    ----------
    suv : numpy.ndarray, shape (z, y, x)
        Intended SUV.
    spacing_mm : sequence of float
        Voxel size (x, y, z), mm.

    Returns
    -------
    numpy.ndarray of float32, shape (z, y, x)
    """
    sigma = [fwhm_mm / FWHM_PER_SIGMA / spacing_mm[2 - i] for i in range(3)]
    pet = ndimage.gaussian_filter(np.asarray(suv, np.float32), sigma, mode="constant")
    if liver_cv > 0:
        white = rng.standard_normal(pet.shape, dtype=np.float32)
        field = ndimage.gaussian_filter(white, 0.6, mode="wrap")
        field /= field.std()
        pet = pet + liver_cv * np.sqrt(np.maximum(pet, 0) * liver_suv) * field
    return np.maximum(pet, 0).astype(np.float32)


def ct_slabs(
    anatomy: Anatomy,
    ct_grid: Grid,
    organs: np.ndarray,
    *,
    lesions: list[Lesion],
    placement: Placement,
    shift_vox: np.ndarray,
    t: int,
    pet_grid: Grid,
    noise_hu: float,
    rng: np.random.Generator,
) -> Iterator[np.ndarray]:
    """Yield the CT of scan ``t`` slab by slab and fill its organ label map on the way.

    Each slab of :data:`CT_SLAB` slices: the anatomy's HU and organ labels, the present
    lesions painted with their site's HU and their ``placement.organ_of`` label, then white
    Gaussian noise of SD ``noise_hu`` (none when 0).

    Parameters
    ----------
    anatomy : Anatomy
        The anatomy at scan ``t``.
    ct_grid : Grid
        The CT grid.
    organs : numpy.ndarray of LABEL_DTYPE, shape (z, y, x) of ``ct_grid``
        Filled with the organ labels, slab by slab, as the slabs are consumed.
    lesions, placement, shift_vox, t, pet_grid
        As for :func:`intended_suv` (lesion centres are PET voxels).
    noise_hu : float
        SD of the CT noise, HU.
    rng : numpy.random.Generator
        The CT noise stream of this scan.

    Yields
    ------
    numpy.ndarray of float64, shape (slices, y, x)
        HU of the next slab, from the first slice (lowest z) up.
    """
    _, hu_lut, lab_lut = anatomy.lookup()
    n_ct = ct_grid.shape[0]
    for z0 in range(0, n_ct, CT_SLAB):
        z1 = min(n_ct, z0 + CT_SLAB)
        idx = anatomy.render(ct_grid, (z0, z1))
        hu_slab = hu_lut[idx]
        lab = lab_lut[idx].astype(LABEL_DTYPE)
        _paint_ct_lesions(
            hu_slab, lab, lesions, t, ct_grid, (z0, z1), placement, shift_vox, pet_grid
        )
        organs[z0:z1] = lab
        if noise_hu > 0:
            hu_slab = hu_slab + rng.normal(0, noise_hu, hu_slab.shape)
        yield hu_slab


def _paint_ct_lesions(hu, lab, lesions, t, ct_grid, z_range, placement, shift_vox, pet_grid):
    """Paint present lesions into a CT slab: HU of the site; organ label of the host or 0."""
    x = ct_grid.axis(0)
    y = ct_grid.axis(1)
    z = ct_grid.axis(2)[z_range[0] : z_range[1]]
    for les in lesions:
        if not les.present[t]:
            continue
        c = placement.centres[les.lesion_id] + shift_vox
        centre = [
            pet_grid.origin_mm[i] + c[2 - i] * pet_grid.spacing_mm[i] + les.offset_mm[i]
            for i in range(3)
        ]
        r = les.extent_mm(t) + 1.0
        ix = np.nonzero(np.abs(x - centre[0]) <= r)[0]
        iy = np.nonzero(np.abs(y - centre[1]) <= r)[0]
        iz = np.nonzero(np.abs(z - centre[2]) <= r)[0]
        if not (ix.size and iy.size and iz.size):
            continue
        box = (slice(iz[0], iz[-1] + 1), slice(iy[0], iy[-1] + 1), slice(ix[0], ix[-1] + 1))
        inside, _ = les.evaluate(
            (x[box[2]] - centre[0])[None, None, :],
            (y[box[1]] - centre[1])[None, :, None],
            (z[box[0]] - centre[2])[:, None, None],
            t,
        )
        hu[box][inside] = SITES[placement.sites[les.lesion_id]]["hu"]
        lab[box][inside] = placement.organ_of[les.lesion_id]
