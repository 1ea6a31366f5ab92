"""From candidate regions to a lesion label map: minimum volume, numbering by SUVmax.

Every method of :func:`netpet.imaging.segment.segment_tumours` ends here: regions smaller than
``min_volume_ml`` are dropped and the others are numbered 1..N by descending SUVmax (ties: the
first hottest voxel in (z, y, x) raster order).

A region is a tuple ``(box, region, threshold_suv)``: the bounding box (a tuple of 3 slices
of the (z, y, x) image), the boolean region within the box, and the SUV threshold that made it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from netpet.errors import InputError

# Regions within this many voxels of the minimum count as large enough (rounding of mL).
_MIN_VOXELS_SLACK = 1e-9


def connected_regions(
    mask: np.ndarray, *, threshold_suv: float, structure: np.ndarray
) -> list[tuple[tuple[slice, ...], np.ndarray, float]]:
    """The connected components of ``mask`` as regions, all made by ``threshold_suv``.

    Parameters
    ----------
    mask : numpy.ndarray of bool, shape (z, y, x)
        Voxels above the threshold that may be tumour.
    threshold_suv : float, keyword-only
        The threshold, recorded with each region.
    structure : numpy.ndarray of bool, shape (3, 3, 3), keyword-only
        Neighbourhood joining voxels (:meth:`SegmentationSettings.structure`).
    """
    components, _ = ndimage.label(mask, structure=structure)
    return [
        (box, components[box] == index, float(threshold_suv))
        for index, box in enumerate(ndimage.find_objects(components), start=1)
        if box is not None
    ]


def number_by_suvmax(
    suv_zyx: np.ndarray, regions, *, min_volume_ml: float, voxel_ml: float
) -> tuple[np.ndarray, list[dict]]:
    """Drop small regions, order the others by SUVmax and paint them 1..N.

    A region is kept when its voxel count ``n >= min_volume_ml / voxel_ml`` (within 1e-9);
    lesions are numbered by descending SUVmax, ties by the raster index of the first hottest
    voxel.

    Parameters
    ----------
    suv_zyx : numpy.ndarray, shape (z, y, x)
        SUV image.
    regions : iterable of (tuple of slice, numpy.ndarray of bool, float)
        Bounding box, region within the box and threshold used (SUV).
    min_volume_ml, voxel_ml : float, keyword-only
        Smallest lesion kept and the volume of one voxel, mL.

    Returns
    -------
    labels_zyx : numpy.ndarray of uint16, shape (z, y, x)
        0 = background, lesions 1..N.
    per_lesion : list of dict
        ``lesion_id``, ``suvmax``, ``threshold_suv``, ``n_voxels`` of each lesion.

    Raises
    ------
    InputError
        More lesions than uint16 labels.
    """
    min_voxels = min_volume_ml / voxel_ml
    kept = []
    for box, region, threshold in regions:
        n_voxels = int(region.sum())
        if n_voxels < min_voxels - _MIN_VOXELS_SLACK:
            continue
        values = np.where(region, suv_zyx[box], -np.inf)
        local = np.unravel_index(int(np.argmax(values)), region.shape)
        flat = np.ravel_multi_index(
            tuple(int(s.start) + i for s, i in zip(box, local, strict=True)), suv_zyx.shape
        )
        kept.append((-float(values.max()), int(flat), box, region, threshold, n_voxels))
    kept.sort(key=lambda item: (item[0], item[1]))
    out = np.zeros(suv_zyx.shape, dtype=np.uint16)
    per_lesion = []
    for lesion_id, (neg_max, _, box, region, threshold, n_voxels) in enumerate(kept, start=1):
        out[box][region] = lesion_id
        per_lesion.append(
            {
                "lesion_id": lesion_id,
                "suvmax": -neg_max,
                "threshold_suv": threshold,
                "n_voxels": n_voxels,
            }
        )
    if len(kept) > np.iinfo(np.uint16).max:
        raise InputError(f"more than {np.iinfo(np.uint16).max} lesions: raise min_volume_ml")
    return out, per_lesion
