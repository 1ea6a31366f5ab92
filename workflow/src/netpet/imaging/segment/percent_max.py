"""``percent_max``: per-lesion thresholds at a percentage of each lesion's uptake.

Region growing from local maxima, so that neighbouring lesions of different intensity each get
their own threshold (STUDY.md section 3.4).  The steps, each a function below:

1. **floor image** (:func:`floor_image`): the SUV smoothed with ``growth_floor_smoothing_mm``
   FWHM within the allowed voxels; floors (below) are tested on it, thresholds ``T`` on the
   unsmoothed SUV;
2. **tissue levels** (:func:`tissue_levels`, :func:`tissue_statistics`): the background
   ``b`` of each tissue (its organ label; unlabelled body tissue is a tissue of its own) is
   its median SUV, the liver's its reference SUVmean; the same statistics on the floor image
   give the growth floors;
3. **floors** (:func:`tissue_floors`, :func:`liver_seed_rule`, :func:`growth_floor_map`): a
   voxel joins a lesion only if the floor image reaches its tissue's floor: the tissue median
   + ``organ_growth_sd_count`` x upper robust SD (capped at ``seed_threshold_suv``), in the
   liver SUVmean + ``liver_growth_sd_count`` x SD of the reference sphere; floors hold within
   ``growth_floor_dilation_mm`` around each tissue (highest wins); within
   ``exclude_dilation_mm + growth_floor_dilation_mm`` of an excluded organ the floor is
   ``percent`` % of that organ's median SUV (spill-over of bladder, kidneys, spleen).  These
   floors stop a lesion from leaking into warm tissue (bowel loops, pancreatic uncinate
   process, liver) through noise;
4. **seeds** (:func:`find_seeds`): local SUV maxima (26-neighbourhood) of the allowed voxels
   with SUV >= ``seed_threshold_suv`` that pass their floor; inside the liver the floor image
   must also reach the liver median + ``liver_seed_sd_count`` x robust SD (1.4826 x MAD;
   :func:`netpet.imaging.grid.robust_statistics`), both of the smoothed liver label: lesions
   barely move these statistics, whereas a liver crowded with metastases inflates the SD of
   the reference sphere and with it PERCIST's 1.5 x SUVmean + 2 SD
   (:func:`netpet.imaging.segment.thresholds.liver_threshold`; used on the unsmoothed SUV
   when ``liver_seed_sd_count`` is None), which missed follow-up liver lesions of SUV 10-13
   in livers of SUV 7-10.  Seeds are taken from the hottest down;
5. **reference uptake** (:func:`reference_uptake`): ``m`` = with ``reference == "peak"`` the
   highest 1 mL-sphere mean SUV (SUVpeak-like, whole voxels within 6.2 mm,
   :func:`netpet.imaging.grid.sphere_mean`) centred in the seed's 26-neighbourhood, which is
   robust to noise (a single-voxel maximum is biased upward by noise and makes volumes too
   small); with ``reference == "max"`` the seed's SUV (classic "p % of SUVmax");
6. **growth** (:func:`grow_lesions`): a seed not yet claimed by an earlier lesion grows, with
   ``connectivity``, over the unclaimed allowed voxels with SUV >= ``T = b + p (m - b)``
   (``p`` = ``percent`` / 100, :func:`seed_backgrounds` gives ``b``) that pass their floor; a
   seed with ``m <= b`` is no lesion;
7. regions smaller than ``min_volume_ml`` are dropped (their voxels stay claimed;
   :func:`netpet.imaging.segment.regions.number_by_suvmax`).

Arrays are numpy (z, y, x); spacing is given in (z, y, x) order here, mm.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from netpet import labels as organ_numbers
from netpet.imaging.grid import (
    FWHM_PER_SIGMA,
    ball_kernel,
    dilate_mm,
    robust_statistics,
    sphere_mean,
)
from netpet.imaging.organs import LiverReference
from netpet.imaging.segment.regions import number_by_suvmax
from netpet.imaging.segment.settings import SegmentationSettings
from netpet.imaging.segment.thresholds import liver_threshold

# Voxels without organ label count as body tissue above this SUV (air is ~0).
BODY_MIN_SUV = 0.1
# Organs with fewer usable voxels get no background statistics (too few for a median).
MIN_TISSUE_VOXELS = 20
# Upper robust SD of a tissue = (90th percentile - median) / z(0.90): equals the SD for
# Gaussian noise, follows the hot part of uneven organs (bowel loops, pancreatic uncinate
# process) and ignores lesions filling less than ~5 % of the organ.
UPPER_PERCENTILE = 90.0
UPPER_Z = 1.2815515655446004
# Floor of voxels without one: every value passes.
NO_FLOOR = -1e30
# Denominator floor of the normalised convolution (voxels far from any allowed voxel).
_MIN_WEIGHT = 1e-6

# label -> (centre, spread) in SUV: (median, upper robust SD), or (mean, SD) for the liver.
Levels = dict[int, tuple[float, float]]


def segment_percent_max(
    suv_zyx: np.ndarray,
    *,
    allowed: np.ndarray,
    organ_zyx: np.ndarray | None,
    liver_reference: LiverReference | None,
    settings: SegmentationSettings,
    spacing_zyx_mm,
    voxel_ml: float,
) -> tuple[np.ndarray, list[dict], dict]:
    """Per-lesion percent-of-uptake region growing from local maxima (module docstring).

    Parameters
    ----------
    suv_zyx : numpy.ndarray of float64, shape (z, y, x)
        SUV image.
    allowed : numpy.ndarray of bool, shape (z, y, x), keyword-only
        Voxels that may be tumour (finite SUV, excluded organs removed).
    organ_zyx : numpy.ndarray of int, shape (z, y, x), or None, keyword-only
        Organ labels (TotalSegmentator numbers); None: no tissues, no liver.
    liver_reference : LiverReference or None, keyword-only
        Used for seeds, background and floor in the liver label.
    settings : SegmentationSettings, keyword-only
    spacing_zyx_mm : sequence of 3 floats, keyword-only
        Voxel spacing, (z, y, x) mm.
    voxel_ml : float, keyword-only
        Volume of one voxel, mL.

    Returns
    -------
    labels_zyx : numpy.ndarray of uint16, shape (z, y, x)
        Lesions 1..N by descending SUVmax.
    per_lesion : list of dict
        ``lesion_id``, ``suvmax``, ``threshold_suv`` (its ``T``), ``n_voxels``.
    thresholds : dict
        The effective values: seed thresholds, liver statistics and floors, per-tissue
        background and floor (``tissues``), ``n_seeds``, ``n_low_contrast_seeds``.
    """
    liver = (
        organ_zyx == organ_numbers.LIVER
        if organ_zyx is not None
        else np.zeros(suv_zyx.shape, dtype=bool)
    )
    if not liver.any():
        liver_reference = None  # no liver label: the reference has no voxels to act on
    thresholds: dict = {"seed_threshold_suv": settings.seed_threshold_suv}
    floor_zyx = floor_image(
        suv_zyx,
        allowed=allowed,
        fwhm_mm=settings.growth_floor_smoothing_mm,
        spacing_zyx_mm=spacing_zyx_mm,
    )
    levels, floor_levels = tissue_levels(
        suv_zyx,
        floor_zyx,
        organ_zyx=organ_zyx,
        allowed=allowed,
        liver_reference=liver_reference,
        smoothed=settings.growth_floor_smoothing_mm > 0,
    )
    n_labels = int(organ_zyx.max()) + 1 if organ_zyx is not None else 1
    floor_of = tissue_floors(floor_levels, n_labels=n_labels, settings=settings)
    seed_floor = np.full(suv_zyx.shape, settings.seed_threshold_suv)
    liver_seed_smoothed = None
    if liver_reference is not None:
        liver_seed, liver_seed_smoothed, record = liver_seed_rule(
            floor_zyx,
            liver=liver,
            allowed=allowed,
            liver_reference=liver_reference,
            liver_floor_level=floor_levels[organ_numbers.LIVER],
            settings=settings,
        )
        seed_floor[liver] = liver_seed
        thresholds.update(record)
        floor_of[organ_numbers.LIVER] = record["liver_growth_floor_suv"]
    growth_floor = growth_floor_map(
        floor_of,
        organ_zyx=organ_zyx,
        suv_zyx=suv_zyx,
        settings=settings,
        spacing_zyx_mm=spacing_zyx_mm,
    )
    thresholds["tissues"] = _tissue_record(levels, floor_levels, floor_of)
    seeds = find_seeds(
        suv_zyx,
        floor_zyx,
        allowed=allowed,
        seed_floor=seed_floor,
        growth_floor=growth_floor,
        liver=liver,
        liver_seed_smoothed=liver_seed_smoothed,
    )
    reference_zyx = reference_uptake(
        suv_zyx, allowed=allowed, reference=settings.reference, spacing_zyx_mm=spacing_zyx_mm
    )
    backgrounds = seed_backgrounds(
        seeds,
        background=settings.background,
        organ_zyx=organ_zyx,
        levels=levels,
        liver=liver,
        liver_reference=liver_reference,
    )
    regions, n_low_contrast = grow_lesions(
        suv_zyx,
        floor_zyx,
        seeds=seeds,
        backgrounds=backgrounds,
        reference_zyx=reference_zyx,
        allowed=allowed,
        growth_floor=growth_floor,
        settings=settings,
    )
    thresholds["n_seeds"] = len(seeds)
    thresholds["n_low_contrast_seeds"] = n_low_contrast
    lesion_zyx, per_lesion = number_by_suvmax(
        suv_zyx, regions, min_volume_ml=settings.min_volume_ml, voxel_ml=voxel_ml
    )
    return lesion_zyx, per_lesion, thresholds


def floor_image(
    suv_zyx: np.ndarray, *, allowed: np.ndarray, fwhm_mm: float, spacing_zyx_mm
) -> np.ndarray:
    """The image on which growth floors are tested: SUV smoothed within the allowed voxels.

    Normalised convolution ``F = G * (A x SUV) / max(G * A, 1e-6)`` inside ``A`` (the
    allowed voxels) and 0 outside, with ``G`` a Gaussian of FWHM ``fwhm_mm`` (sigma = FWHM /
    (2 sqrt(2 ln 2)) per axis, in voxels; zero beyond the image): excluded organs do not
    bleed into it.  Smoothing keeps noise from percolating above a floor and a large lesion
    of low contrast connected.

    Parameters
    ----------
    suv_zyx : numpy.ndarray of float64, shape (z, y, x)
    allowed : numpy.ndarray of bool, shape (z, y, x), keyword-only
    fwhm_mm : float, keyword-only
        ``growth_floor_smoothing_mm``; 0 returns ``suv_zyx`` itself (no copy).
    spacing_zyx_mm : sequence of 3 floats, keyword-only
        Voxel spacing, (z, y, x) mm.

    Returns
    -------
    numpy.ndarray of float64, shape (z, y, x)
    """
    if fwhm_mm <= 0:
        return suv_zyx
    sigma = [fwhm_mm / FWHM_PER_SIGMA / s for s in spacing_zyx_mm]
    weight = ndimage.gaussian_filter(allowed.astype(np.float64), sigma, mode="constant")
    smoothed = ndimage.gaussian_filter(np.where(allowed, suv_zyx, 0.0), sigma, mode="constant")
    return np.where(allowed, smoothed / np.maximum(weight, _MIN_WEIGHT), 0.0)


def tissue_statistics(suv_zyx: np.ndarray, organ_zyx: np.ndarray, allowed: np.ndarray) -> Levels:
    """Robust uptake level and upper spread of every tissue: label -> (median, upper SD).

    For each organ label present in ``organ_zyx`` (TotalSegmentator numbers) the median SUV
    of its ``allowed`` voxels and its upper robust SD, ``(P90 - median) / z(0.90)`` with
    ``z(0.90) = 1.2816`` the standard normal 90th percentile (:data:`UPPER_PERCENTILE`):
    it equals the SD for Gaussian noise, follows the hot part of uneven organs (bowel loops,
    pancreatic uncinate process) and is not inflated by lesions filling less than ~5 % of
    the organ.  Label 0 (no organ: fat, muscle, vessels, lymph nodes) uses only its voxels
    with SUV > :data:`BODY_MIN_SUV` (the body, not the air around it).  Unit: SUV.

    Parameters
    ----------
    suv_zyx, organ_zyx, allowed : numpy.ndarray, shape (z, y, x)
        SUV (or the smoothed SUV), organ labels and the voxels that may be tumour (excluded
        organs removed).

    Returns
    -------
    dict
        ``{label: (median_suv, upper_sd_suv)}`` for every label with at least
        :data:`MIN_TISSUE_VOXELS` usable voxels.
    """
    usable = allowed & ((organ_zyx != 0) | (suv_zyx > BODY_MIN_SUV))
    labels_flat = organ_zyx[usable].astype(np.int64)
    values = suv_zyx[usable]
    order = np.argsort(labels_flat, kind="stable")
    labels_flat, values = labels_flat[order], values[order]
    present, starts, counts = np.unique(labels_flat, return_index=True, return_counts=True)
    stats = {}
    for label, begin, count in zip(present.tolist(), starts, counts, strict=True):
        if count < MIN_TISSUE_VOXELS:
            continue
        median, upper = np.percentile(values[begin : begin + count], [50.0, UPPER_PERCENTILE])
        stats[label] = (float(median), float(upper - median) / UPPER_Z)
    return stats


def tissue_levels(
    suv_zyx: np.ndarray,
    floor_zyx: np.ndarray,
    *,
    organ_zyx: np.ndarray | None,
    allowed: np.ndarray,
    liver_reference: LiverReference | None,
    smoothed: bool,
) -> tuple[Levels, Levels]:
    """Background and floor statistics of every tissue.

    Parameters
    ----------
    suv_zyx, floor_zyx : numpy.ndarray, shape (z, y, x)
        SUV and the floor image (:func:`floor_image`).
    organ_zyx : numpy.ndarray of int or None, keyword-only
        Organ labels; None: no tissues (both results empty).
    allowed : numpy.ndarray of bool, keyword-only
    liver_reference : LiverReference or None, keyword-only
        Present only when the map has a liver label.
    smoothed : bool, keyword-only
        Whether ``floor_zyx`` differs from ``suv_zyx``.

    Returns
    -------
    levels : dict
        :func:`tissue_statistics` of the SUV: each tissue's median is its background ``b``;
        the liver takes (SUVmean, SD) of its reference sphere.
    floor_levels : dict
        The same on the floor image, for the growth floors; the liver takes the mean and SD
        (ddof=1) of the floor image in the reference sphere, or the unsmoothed values when
        the image is not smoothed or the sphere's mask is not on this grid (a higher floor).
    """
    if organ_zyx is None:
        return {}, {}
    levels = tissue_statistics(suv_zyx, organ_zyx, allowed)
    floor_levels = tissue_statistics(floor_zyx, organ_zyx, allowed) if smoothed else dict(levels)
    if liver_reference is not None:
        levels[organ_numbers.LIVER] = (liver_reference.suvmean, liver_reference.suvsd)
        mask = liver_reference.mask
        if smoothed and mask.shape == suv_zyx.shape and mask.sum() > 1:
            values = floor_zyx[mask]
            floor_levels[organ_numbers.LIVER] = (float(values.mean()), float(values.std(ddof=1)))
        else:
            floor_levels[organ_numbers.LIVER] = levels[organ_numbers.LIVER]
    return levels, floor_levels


def tissue_floors(
    floor_levels: Levels, *, n_labels: int, settings: SegmentationSettings
) -> np.ndarray:
    """Growth floor of every organ label: ``min(median + k x upper SD, seed_threshold_suv)``.

    ``k`` = ``organ_growth_sd_count``; None gives no floor anywhere (:data:`NO_FLOOR`), as
    does a label without statistics.  The cap at the seed threshold lets any seed grow:
    tissue hotter than that must be excluded instead.  The liver's floor is set by
    :func:`liver_seed_rule`.  Unit: SUV.

    Returns
    -------
    numpy.ndarray of float64, shape (n_labels,)
        Indexed by organ label.
    """
    floor_of = np.full(n_labels, NO_FLOOR)
    if settings.organ_growth_sd_count is not None:
        for label, (median, robust_sd) in floor_levels.items():
            floor_of[label] = min(
                median + settings.organ_growth_sd_count * robust_sd, settings.seed_threshold_suv
            )
    return floor_of


def liver_seed_rule(
    floor_zyx: np.ndarray,
    *,
    liver: np.ndarray,
    allowed: np.ndarray,
    liver_reference: LiverReference,
    liver_floor_level: tuple[float, float],
    settings: SegmentationSettings,
) -> tuple[float, float | None, dict]:
    """Seed thresholds and growth floor inside the liver.

    - growth floor ``F_liver = mean_F + liver_growth_sd_count x SD_F``, with ``(mean_F,
      SD_F)`` = ``liver_floor_level``, the liver's floor level (:func:`tissue_levels`);
    - with ``liver_seed_sd_count`` k: seeds need SUV >= ``seed_threshold_suv`` and the floor
      image >= ``median + k x 1.4826 MAD`` of the floor image over the allowed liver voxels;
    - with k None: seeds need SUV >= ``max(seed_threshold_suv, liver threshold)``
      (:func:`~netpet.imaging.segment.thresholds.liver_threshold`).

    Returns
    -------
    liver_seed_suv : float
        Minimum SUV of a seed in the liver.
    liver_seed_smoothed_suv : float or None
        Minimum floor-image value of a seed in the liver (None: no such rule).
    record : dict
        The values for the segmentation record (``liver_seed_threshold_suv``,
        ``liver_growth_floor_suv``, ``liver_background_suv``, and with k the robust
        statistics).
    """
    record: dict = {}
    smoothed_seed = None
    if settings.liver_seed_sd_count is None:
        liver_seed = max(settings.seed_threshold_suv, liver_threshold(liver_reference, settings))
    else:
        liver_seed = settings.seed_threshold_suv
        median, robust_sd = robust_statistics(floor_zyx[liver & allowed])
        smoothed_seed = median + settings.liver_seed_sd_count * robust_sd
        record.update(
            liver_robust_median_suv=median,
            liver_robust_sd_suv=robust_sd,
            liver_seed_smoothed_suv=smoothed_seed,
        )
    floor_mean, floor_sd = liver_floor_level
    record.update(
        liver_seed_threshold_suv=liver_seed,
        liver_growth_floor_suv=floor_mean + settings.liver_growth_sd_count * floor_sd,
        liver_background_suv=liver_reference.suvmean if settings.background != "none" else 0.0,
    )
    return liver_seed, smoothed_seed, record


def growth_floor_map(
    floor_of: np.ndarray,
    *,
    organ_zyx: np.ndarray | None,
    suv_zyx: np.ndarray,
    settings: SegmentationSettings,
    spacing_zyx_mm,
) -> np.ndarray:
    """Growth floor of every voxel (SUV; compared with the floor image).

    ``floor_of[organ label]``, grey-dilated by a ball of ``growth_floor_dilation_mm``
    (a tissue's activity spills into unlabelled neighbours: PSF, CT/PET misregistration,
    label maps a voxel too small), then raised around excluded organs
    (:func:`_add_excluded_organ_floors`).  Without organ labels: no floor anywhere.

    Returns
    -------
    numpy.ndarray of float64, shape (z, y, x)
    """
    if organ_zyx is None:
        return np.full(suv_zyx.shape, NO_FLOOR)
    growth_floor = floor_of[organ_zyx]
    if settings.growth_floor_dilation_mm > 0:
        footprint = ball_kernel(settings.growth_floor_dilation_mm, spacing_zyx_mm)
        growth_floor = ndimage.grey_dilation(growth_floor, footprint=footprint, mode="nearest")
    _add_excluded_organ_floors(growth_floor, suv_zyx, organ_zyx, settings, spacing_zyx_mm)
    return growth_floor


def _add_excluded_organ_floors(growth_floor, suv_zyx, organ_zyx, settings, spacing_zyx_mm):
    """Raise ``growth_floor`` in place around excluded organs (spill-over of their uptake).

    Within ``exclude_dilation_mm + growth_floor_dilation_mm`` of an excluded organ (e.g.
    the urinary bladder, SUV up to ~60) no voxel below ``percent`` % of the organ's median
    SUV joins a lesion: the blurred edge of a hot organ beyond its exclusion margin is not
    tumour.  Unit: SUV.
    """
    reach_mm = settings.exclude_dilation_mm + settings.growth_floor_dilation_mm
    for label in settings.exclude_labels:
        organ = organ_zyx == label
        if organ.sum() < MIN_TISSUE_VOXELS:
            continue
        floor = settings.percent / 100.0 * float(np.median(suv_zyx[organ]))
        near = dilate_mm(organ, spacing_zyx_mm, reach_mm)
        np.maximum(growth_floor, np.where(near, floor, NO_FLOOR), out=growth_floor)


def _tissue_record(levels: Levels, floor_levels: Levels, floor_of: np.ndarray) -> dict:
    """Per tissue (organ name): background median (SUV), floor SD and floor (floor image)."""
    return {
        organ_numbers.NAMES.get(label, str(label)) if label else "no organ": {
            "median_suv": round(median, 4),
            "floor_sd_suv": round(floor_levels[label][1], 4) if label in floor_levels else None,
            "growth_floor_suv": round(float(floor_of[label]), 4)
            if floor_of[label] > NO_FLOOR
            else None,
        }
        for label, (median, _) in sorted(levels.items())
    }


def find_seeds(
    suv_zyx: np.ndarray,
    floor_zyx: np.ndarray,
    *,
    allowed: np.ndarray,
    seed_floor: np.ndarray,
    growth_floor: np.ndarray,
    liver: np.ndarray,
    liver_seed_smoothed: float | None,
) -> np.ndarray:
    """Seeds: local maxima that may start a lesion, hottest first.

    A voxel ``v`` is a seed when it is allowed, ``SUV(v)`` equals the maximum of the allowed
    SUV over its 26-neighbourhood, ``SUV(v) >= seed_floor(v)``, ``F(v) >= growth_floor(v)``
    (``F`` the floor image) and, in the liver with ``liver_seed_smoothed`` given,
    ``F(v) >= liver_seed_smoothed``.

    Returns
    -------
    numpy.ndarray of int
        Flat (raster) indices, by descending SUV, ties in raster order.
    """
    masked = np.where(allowed, suv_zyx, -np.inf)
    local_max = masked == ndimage.maximum_filter(masked, size=3, mode="constant", cval=-np.inf)
    seed_mask = local_max & allowed & (suv_zyx >= seed_floor) & (floor_zyx >= growth_floor)
    if liver_seed_smoothed is not None:
        seed_mask &= ~liver | (floor_zyx >= liver_seed_smoothed)
    seeds = np.flatnonzero(seed_mask)
    seed_values = suv_zyx.ravel()[seeds]
    return seeds[np.lexsort((seeds, -seed_values))]


def reference_uptake(
    suv_zyx: np.ndarray, *, allowed: np.ndarray, reference: str, spacing_zyx_mm
) -> np.ndarray:
    """The reference uptake ``m`` a lesion grown from each voxel would take (SUV).

    ``"peak"``: ``m(v) = max over u in N26(v) of P(u)`` with ``P`` the mean SUV of the allowed
    voxels in the 1 mL sphere around ``u`` (:func:`netpet.imaging.grid.sphere_mean`), -inf
    for voxels not allowed; ``"max"``: ``m(v) = SUV(v)``.

    Returns
    -------
    numpy.ndarray of float64, shape (z, y, x)
    """
    if reference != "peak":
        return suv_zyx
    peak = np.where(allowed, sphere_mean(suv_zyx, spacing_zyx_mm, within=allowed), -np.inf)
    return ndimage.maximum_filter(peak, size=3, mode="constant", cval=-np.inf)


def seed_backgrounds(
    seeds: np.ndarray,
    *,
    background: str,
    organ_zyx: np.ndarray | None,
    levels: Levels,
    liver: np.ndarray,
    liver_reference: LiverReference | None,
) -> np.ndarray:
    """Background ``b`` of each seed (SUV).

    ``"organ"``: the median of the seed's tissue (``levels``; the liver: its reference
    SUVmean; 0 for a tissue without statistics); ``"liver"``: the liver reference SUVmean for
    seeds in the liver, 0 elsewhere; ``"none"``: 0.

    Returns
    -------
    numpy.ndarray of float64, shape (len(seeds),)
    """
    if background == "organ" and organ_zyx is not None:
        median_of = np.zeros(int(organ_zyx.max()) + 1)
        for label, (median, _) in levels.items():
            median_of[label] = median
        return median_of[organ_zyx.ravel()[seeds]]
    if background == "liver" and liver_reference is not None:
        return np.where(liver.ravel()[seeds], liver_reference.suvmean, 0.0)
    return np.zeros(len(seeds))


def grow_lesions(
    suv_zyx: np.ndarray,
    floor_zyx: np.ndarray,
    *,
    seeds: np.ndarray,
    backgrounds: np.ndarray,
    reference_zyx: np.ndarray,
    allowed: np.ndarray,
    growth_floor: np.ndarray,
    settings: SegmentationSettings,
) -> tuple[list, int]:
    """Grow each unclaimed seed over its voxels above ``T = b + p (m - b)``.

    For each seed in order (``p`` = ``percent`` / 100, ``m`` = ``reference_zyx`` at the seed,
    ``b`` its background): skipped when already claimed or when ``m <= b`` (no uptake above
    its tissue); else the connected component (``connectivity``) containing the seed of the
    unclaimed allowed voxels with ``SUV >= T`` and floor image >= growth floor is a region,
    and its voxels are claimed.

    Every lesion lies inside one component of the lowest threshold any seed can get,
    ``p x min(seed_threshold_suv, min m)`` (``T >= p m`` for ``b >= 0``): growth works in
    that component's bounding box.

    Returns
    -------
    regions : list of (tuple of slice, numpy.ndarray of bool, float)
        Bounding box, region and ``T`` of each grown lesion.
    n_low_contrast : int
        Seeds with ``m <= b``.
    """
    fraction = settings.percent / 100.0
    structure = settings.structure()
    seed_reference_min = float(reference_zyx.ravel()[seeds].min(initial=np.inf))
    lowest = fraction * min(settings.seed_threshold_suv, seed_reference_min)
    low_components, _ = ndimage.label(
        allowed & (suv_zyx >= lowest) & (floor_zyx >= growth_floor), structure=structure
    )
    boxes = ndimage.find_objects(low_components)
    claimed = np.zeros(suv_zyx.shape, dtype=bool)
    regions = []
    n_low_contrast = 0
    for flat, background in zip(seeds, backgrounds, strict=True):
        seed = np.unravel_index(int(flat), suv_zyx.shape)
        if claimed[seed]:
            continue
        m = reference_zyx[seed]
        if m <= background:
            n_low_contrast += 1
            continue
        threshold = background + fraction * (m - background)
        component = low_components[seed]
        box = boxes[component - 1]
        candidate = (
            (low_components[box] == component)
            & (suv_zyx[box] >= threshold)
            & (floor_zyx[box] >= growth_floor[box])
            & ~claimed[box]
        )
        grown, _ = ndimage.label(candidate, structure=structure)
        local_seed = tuple(int(s) - int(b.start) for s, b in zip(seed, box, strict=True))
        if not grown[local_seed]:
            continue
        region = grown == grown[local_seed]
        claimed[box] |= region
        regions.append((box, region, float(threshold)))
    return regions, n_low_contrast
