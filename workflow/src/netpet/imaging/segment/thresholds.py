"""Global-threshold methods: a fixed SUV (``fixed``) and the liver-adaptive one (``liver``).

Lesions are the connected components of the allowed voxels with SUV >= one threshold for the
whole scan: ``threshold_suv`` (``fixed``) or :func:`liver_threshold` (``liver``).  The liver
threshold also bounds the seeds in the liver of ``percent_max`` when
``liver_seed_sd_count`` is None (:mod:`netpet.imaging.segment.percent_max`).

Arrays are numpy (z, y, x).
"""

from __future__ import annotations

import numpy as np

from netpet.errors import InputError
from netpet.imaging.organs import LiverReference
from netpet.imaging.segment.regions import connected_regions, number_by_suvmax
from netpet.imaging.segment.settings import SegmentationSettings


def liver_threshold(liver_reference: LiverReference, settings: SegmentationSettings) -> float:
    """Liver-based SUV threshold: ``liver_factor x SUVmean_liver + liver_sd_count x SD_liver``.

    Unit: SUV. With (1.5, 2) this is PERCIST 1.0's threshold of measurable disease (Wahl et
    al., J Nucl Med 2009;50:122S, with SUV in place of SUL); other pairs give the usual
    liver-adaptive variants (STUDY.md section 3.4).
    """
    return (
        settings.liver_factor * liver_reference.suvmean
        + settings.liver_sd_count * liver_reference.suvsd
    )


def global_threshold_suv(
    settings: SegmentationSettings, liver_reference: LiverReference | None
) -> float:
    """The one SUV threshold of the ``fixed`` or ``liver`` method.

    ``fixed``: ``threshold_suv``; ``liver``: :func:`liver_threshold`.

    Raises
    ------
    InputError
        Method ``liver`` without a liver reference.
    """
    if settings.method == "fixed":
        return settings.threshold_suv
    if liver_reference is None:
        raise InputError(
            "segmentation method 'liver' needs a liver reference: supply organ labels with "
            "a liver, or choose method 'fixed' / 'percent_max'"
        )
    return liver_threshold(liver_reference, settings)


def segment_global_threshold(
    suv_zyx: np.ndarray,
    *,
    allowed: np.ndarray,
    threshold_suv: float,
    settings: SegmentationSettings,
    voxel_ml: float,
) -> tuple[np.ndarray, list[dict]]:
    """Lesions = connected components of ``allowed & (SUV >= threshold_suv)``.

    Parameters
    ----------
    suv_zyx : numpy.ndarray, shape (z, y, x)
        SUV image.
    allowed : numpy.ndarray of bool, shape (z, y, x), keyword-only
        Voxels that may be tumour (excluded organs removed).
    threshold_suv : float, keyword-only
        From :func:`global_threshold_suv`.
    settings : SegmentationSettings, keyword-only
        ``connectivity`` and ``min_volume_ml``.
    voxel_ml : float, keyword-only
        Volume of one voxel, mL.

    Returns
    -------
    labels_zyx, per_lesion
        As :func:`netpet.imaging.segment.regions.number_by_suvmax`.
    """
    regions = connected_regions(
        allowed & (suv_zyx >= threshold_suv),
        threshold_suv=threshold_suv,
        structure=settings.structure(),
    )
    return number_by_suvmax(
        suv_zyx, regions, min_volume_ml=settings.min_volume_ml, voxel_ml=voxel_ml
    )
