"""Voxel-grid geometry shared by the imaging modules: spacing, resampling, balls, sphere means.

Everything here depends only on the grid, not on the study: the other imaging modules
(:mod:`~netpet.imaging.organs`, :mod:`~netpet.imaging.segment`, :mod:`~netpet.imaging.features`,
...) import it, and it imports none of them.

- grid: :func:`spacing_zyx`, :func:`voxel_volume_ml`, :func:`check_same_grid`,
  :func:`resample_labels_to`;
- balls of whole voxels: :func:`ball_offsets`, :func:`ball_kernel`, :func:`dilate_mm`;
- sphere means: :func:`sphere_mean` with the 1 mL SUVpeak sphere (:data:`PEAK_RADIUS_MM`);
- robust statistics: :func:`robust_statistics` (median and 1.4826 x MAD);
- Gaussian widths: :data:`FWHM_PER_SIGMA`.

Conventions: numpy arrays from SimpleITK are indexed (z, y, x); SimpleITK spacing, origin and
points are (x, y, z) in mm, LPS patient coordinates.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from netpet.errors import InputError

# Geometry agreement tolerance between two images meant to share one grid, in mm.
GRID_TOLERANCE_MM = 1e-3
# Radius of a 1 mL (1 cm^3) sphere in mm: (3 x 1000 / (4 pi)) ** (1/3) = 6.2035 mm.
PEAK_RADIUS_MM = 6.2035
# 1 / z(0.75): the median absolute deviation times this is the SD for Gaussian data.
MAD_TO_SD = 1.4826
# FWHM of a Gaussian in units of its sigma: 2 sqrt(2 ln 2) = 2.3548.
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def spacing_zyx(image: sitk.Image) -> tuple[float, float, float]:
    """Voxel spacing of ``image`` in mm, in numpy (z, y, x) order."""
    sx, sy, sz = image.GetSpacing()
    return (sz, sy, sx)


def voxel_volume_ml(image: sitk.Image) -> float:
    """Volume of one voxel of ``image`` in mL: ``sx x sy x sz / 1000`` (spacing in mm)."""
    return float(np.prod(image.GetSpacing())) / 1000.0


def check_same_grid(image: sitk.Image, reference: sitk.Image, *, what: str) -> None:
    """Raise :class:`InputError` unless ``image`` lies on the grid of ``reference``.

    Sizes must be equal; spacing and origin may differ by :data:`GRID_TOLERANCE_MM`, the
    direction cosines by 1e-6.  ``what`` names the image in the message (e.g.
    ``"organ label map"``).
    """
    same = (
        image.GetSize() == reference.GetSize()
        and np.allclose(image.GetSpacing(), reference.GetSpacing(), atol=GRID_TOLERANCE_MM)
        and np.allclose(image.GetOrigin(), reference.GetOrigin(), atol=GRID_TOLERANCE_MM)
        and np.allclose(image.GetDirection(), reference.GetDirection(), atol=1e-6)
    )
    if not same:
        raise InputError(
            f"{what} is not on the PET grid (size {image.GetSize()} vs {reference.GetSize()}, "
            f"spacing {image.GetSpacing()} vs {reference.GetSpacing()}, origin "
            f"{image.GetOrigin()} vs {reference.GetOrigin()}): resample it to the PET with "
            "netpet.imaging.grid.resample_labels_to first"
        )


def resample_labels_to(labels: sitk.Image, reference: sitk.Image) -> sitk.Image:
    """Resample a label map onto the grid of ``reference`` by nearest neighbour.

    Parameters
    ----------
    labels : SimpleITK.Image
        Integer label map (e.g. TotalSegmentator organs on the CT grid).
    reference : SimpleITK.Image
        Image whose size, spacing, origin and direction the result takes (the PET).

    Returns
    -------
    SimpleITK.Image
        Label map on the reference grid, same pixel type as ``labels``; voxels outside the
        source field of view are 0 (background).
    """
    return sitk.Resample(
        labels,
        reference,
        sitk.Transform(),
        sitk.sitkNearestNeighbor,
        0,
        labels.GetPixelID(),
    )


def ball_offsets(radius_mm: float, spacing_zyx_mm) -> np.ndarray:
    """Voxel offsets (dz, dy, dx) whose centres lie within ``radius_mm`` of the origin.

    An offset belongs to the ball when ``(dz sz)^2 + (dy sy)^2 + (dx sx)^2 <= r^2`` (whole
    voxels, no partial-volume weights; 1e-9 mm^2 of slack for rounding).

    Parameters
    ----------
    radius_mm : float
        Ball radius ``r``, mm.
    spacing_zyx_mm : sequence of 3 floats
        Voxel spacing ``(sz, sy, sx)`` in mm.

    Returns
    -------
    numpy.ndarray of int, shape (n, 3)
        Offsets in (z, y, x) order.
    """
    reach = [int(np.floor(radius_mm / s)) for s in spacing_zyx_mm]
    grids = np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")
    offsets = np.stack([g.ravel() for g in grids], axis=1)
    dist2 = ((offsets * np.asarray(spacing_zyx_mm)) ** 2).sum(axis=1)
    return offsets[dist2 <= radius_mm**2 + 1e-9]


def ball_kernel(radius_mm: float, spacing_zyx_mm) -> np.ndarray:
    """Boolean (z, y, x) kernel of the voxels of :func:`ball_offsets`, centred in the array."""
    offsets = ball_offsets(radius_mm, spacing_zyx_mm)
    reach = np.abs(offsets).max(axis=0)
    kernel = np.zeros(tuple(2 * reach + 1), dtype=bool)
    kernel[tuple((offsets + reach).T)] = True
    return kernel


def dilate_mm(mask: np.ndarray, spacing_zyx_mm, radius_mm: float) -> np.ndarray:
    """Dilate a boolean mask by a ball of ``radius_mm`` (anisotropic voxels handled).

    A voxel is in the result when its centre lies within ``radius_mm`` of the centre of a
    mask voxel (Euclidean distance transform with the voxel spacing as sampling).

    Parameters
    ----------
    mask : numpy.ndarray of bool, shape (z, y, x)
    spacing_zyx_mm : sequence of 3 floats
        Voxel spacing in mm, (z, y, x) order.
    radius_mm : float
        Dilation radius in mm; 0 returns a copy of ``mask``.

    Returns
    -------
    numpy.ndarray of bool, shape (z, y, x)
    """
    mask = np.asarray(mask, dtype=bool)
    if radius_mm <= 0 or not mask.any():
        return mask.copy()
    # Work in the bounding box grown by the radius: much cheaper than the whole body.
    pad = [int(np.ceil(radius_mm / s)) + 1 for s in spacing_zyx_mm]
    nz = np.nonzero(mask)
    lo = [max(int(idx.min()) - p, 0) for idx, p in zip(nz, pad, strict=True)]
    hi = [min(int(idx.max()) + p + 1, n) for idx, p, n in zip(nz, pad, mask.shape, strict=True)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    distance = ndimage.distance_transform_edt(~mask[box], sampling=spacing_zyx_mm)
    out = np.zeros_like(mask)
    out[box] = distance <= radius_mm
    return out


def sphere_mean(
    values_zyx: np.ndarray,
    spacing_zyx_mm,
    *,
    radius_mm: float = PEAK_RADIUS_MM,
    within: np.ndarray | None = None,
) -> np.ndarray:
    """Mean value in a sphere around every voxel (default: the 1 mL SUVpeak sphere).

    ``mean(v) = sum_{u in B(v), u in W} x_u / |{u in B(v), u in W}|`` where ``B(v)`` holds
    the whole voxels whose centres lie within ``radius_mm`` of the centre of ``v``
    (:func:`ball_offsets`; no partial-voxel weights: at 4 mm isotropic voxels the 1 mL
    sphere is 19 voxels, 1.216 mL) and ``W`` the voxels of ``within`` (default: every
    voxel).  Voxels outside the image never count (no zero padding).  A voxel whose sphere
    holds no voxel of ``W`` gets 0.

    Parameters
    ----------
    values_zyx : numpy.ndarray, shape (z, y, x)
        E.g. SUV.
    spacing_zyx_mm : sequence of 3 floats
        Voxel spacing in mm, (z, y, x).
    radius_mm : float, keyword-only
        Sphere radius, mm (:data:`PEAK_RADIUS_MM`: 1 mL, PERCIST's SUVpeak sphere).
    within : numpy.ndarray of bool, shape (z, y, x), keyword-only, optional
        Only these voxels are averaged (e.g. those that may be tumour).

    Returns
    -------
    numpy.ndarray of float64, shape (z, y, x)
    """
    kernel = ball_kernel(radius_mm, spacing_zyx_mm).astype(np.float64)
    values = np.asarray(values_zyx, dtype=np.float64)
    if within is None:
        weights = np.ones_like(values)
    else:
        weights = np.asarray(within, dtype=bool).astype(np.float64)
        values = np.where(within, values, 0.0)
    total = ndimage.correlate(values, kernel, mode="constant", cval=0.0)
    count = ndimage.correlate(weights, kernel, mode="constant", cval=0.0)
    return total / np.maximum(count, 1.0)


def robust_statistics(values: np.ndarray) -> tuple[float, float]:
    """Median and robust SD of ``values``: ``(m, 1.4826 x median(|x - m|))``; unit of x.

    The factor 1.4826 = 1 / z(0.75) (:data:`MAD_TO_SD`) makes the robust SD equal the SD
    for Gaussian data (Rousseeuw & Croux, J Am Stat Assoc 1993;88:1273); lesions filling
    less than half of an organ barely move either statistic.
    """
    values = np.asarray(values, dtype=np.float64)
    median = float(np.median(values))
    return median, MAD_TO_SD * float(np.median(np.abs(values - median)))
