"""Tumour segmentation on SUV images (STUDY.md section 3.4).

Three methods, chosen by :class:`SegmentationSettings` (config ``segmentation``; every default
and bound in the config schema) and recorded in every output:

``percent_max`` (default; :mod:`~netpet.imaging.segment.percent_max`)
    Per-lesion threshold at a percentage of the lesion's own uptake, grown from local maxima,
    so that neighbouring lesions of different intensity each get their own threshold:
    ``T = b + p (m - b)`` with ``m`` the lesion's reference uptake (SUVpeak-like by default),
    ``b`` the background of the tissue its seed lies in, ``p`` = ``percent`` / 100; growth
    floors per tissue stop lesions from leaking into warm organs through noise.

    Defaults (41 %, peak reference, organ background, liver seeds at 3.5 robust SD, floors at
    3 SD in the liver and 4 upper robust SD elsewhere on a 6 mm-smoothed image) meet the
    acceptance criteria on the default synthetic cohort and on the cohorts of seeds 7 and 11
    (``benchmarks/accuracy.py``, tests/integration/test_imaging_accuracy.py); 3 upper SD
    let tiny lesions beside hot bowel loops grow into them. On blurred
    spheres (4 mm voxels, 7 mm FWHM, Poisson-like noise, CV 15 % at SUV 8) the volume error
    is within +/-12 % for 5-100 mL in soft tissue (SUV 1) and liver (SUV 8); 1-2 mL lesions
    are overestimated (+30 to +150 %) by partial volume (tests/unit/test_segment.py).

``fixed`` (:mod:`~netpet.imaging.segment.thresholds`)
    Voxels with SUV >= ``threshold_suv``.

``liver`` (:mod:`~netpet.imaging.segment.thresholds`)
    Voxels with SUV >= the liver threshold
    (:func:`~netpet.imaging.segment.thresholds.liver_threshold`).

Common to all: voxels of the ``exclude_labels`` organs (physiological SST uptake) dilated by
``exclude_dilation_mm`` are never tumour; lesions are connected components (``connectivity``
6, 18 or 26) of at least ``min_volume_ml``, numbered 1..N by descending SUVmax (ties: the
first hottest voxel in (z, y, x) raster order; :mod:`~netpet.imaging.segment.regions`).

The config's fourth method, ``import``, takes masks from other tools instead
(:mod:`~netpet.imaging.segment.imported`).

Arrays are numpy (z, y, x); SimpleITK spacing and points are (x, y, z) mm, LPS.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from netpet.errors import InputError
from netpet.imaging.grid import check_same_grid, dilate_mm, spacing_zyx, voxel_volume_ml
from netpet.imaging.organs import LiverReference, physiological_mask
from netpet.imaging.segment.percent_max import segment_percent_max
from netpet.imaging.segment.settings import SegmentationSettings
from netpet.imaging.segment.thresholds import global_threshold_suv, segment_global_threshold

__all__ = ["SegmentationSettings", "segment_tumours"]


def segment_tumours(
    suv: sitk.Image,
    settings: SegmentationSettings,
    *,
    organ_labels: sitk.Image | None = None,
    liver_reference: LiverReference | None = None,
) -> tuple[sitk.Image, dict]:
    """Segment tumour lesions on an SUV image.

    Parameters
    ----------
    suv : SimpleITK.Image
        Body-weight SUV image (float).
    settings : SegmentationSettings
        Method and parameters (see module docstring), from the validated config
        (:meth:`SegmentationSettings.from_config`).
    organ_labels : SimpleITK.Image, optional
        Organ label map on the SUV grid (TotalSegmentator numbers). Needed to exclude
        physiological uptake and to treat liver seeds apart; without it nothing is excluded.
    liver_reference : LiverReference, optional
        Needed by the ``liver`` method; used by ``percent_max`` inside the liver.

    Returns
    -------
    labels : SimpleITK.Image
        uint16 lesion label map on the SUV grid, 0 = background, lesions 1..N by descending
        SUVmax.
    info : dict
        ``settings`` (all of them), ``thresholds`` (effective values), ``lesions`` (per
        lesion: ``lesion_id``, ``suvmax``, ``threshold_suv``, ``n_voxels``), ``lesion_count``,
        ``organ_labels_used``, ``liver_reference``.

    Raises
    ------
    InputError
        Organ labels off the SUV grid or negative; method ``liver`` without liver reference.
    """
    if not isinstance(settings, SegmentationSettings):
        raise TypeError(
            "settings must be a SegmentationSettings: SegmentationSettings.from_config of the "
            "validated config's segmentation section"
        )
    suv_zyx = sitk.GetArrayFromImage(suv).astype(np.float64)
    spacing = spacing_zyx(suv)
    voxel_ml = voxel_volume_ml(suv)

    organ_zyx = None
    excluded = np.zeros(suv_zyx.shape, dtype=bool)
    if organ_labels is not None:
        check_same_grid(organ_labels, suv, what="organ label map")
        organ_zyx = sitk.GetArrayFromImage(organ_labels).astype(np.int64)
        if organ_zyx.size and organ_zyx.min() < 0:
            raise InputError("organ label map has negative labels; use TotalSegmentator numbers")
        excluded = dilate_mm(
            physiological_mask(organ_zyx, settings.exclude_labels),
            spacing,
            settings.exclude_dilation_mm,
        )
    allowed = ~excluded & np.isfinite(suv_zyx)

    if settings.method == "percent_max":
        lesion_zyx, per_lesion, thresholds = segment_percent_max(
            suv_zyx,
            allowed=allowed,
            organ_zyx=organ_zyx,
            liver_reference=liver_reference,
            settings=settings,
            spacing_zyx_mm=spacing,
            voxel_ml=voxel_ml,
        )
    else:
        threshold = global_threshold_suv(settings, liver_reference)
        thresholds = {"threshold_suv": threshold}
        lesion_zyx, per_lesion = segment_global_threshold(
            suv_zyx, allowed=allowed, threshold_suv=threshold, settings=settings, voxel_ml=voxel_ml
        )

    image = sitk.GetImageFromArray(lesion_zyx.astype(np.uint16))
    image.CopyInformation(suv)
    info = {
        "settings": settings.to_dict(),
        "thresholds": thresholds,
        "lesion_count": len(per_lesion),
        "lesions": per_lesion,
        "organ_labels_used": organ_labels is not None,
        "liver_reference": None if liver_reference is None else liver_reference.to_dict(),
    }
    return image, info
