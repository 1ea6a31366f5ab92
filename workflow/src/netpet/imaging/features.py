"""Lesion and scan features from an SUV image and a lesion label map (STUDY.md sections 1-2).

Per lesion (:func:`lesion_features`): volume, SUVmax, SUVmean, SUVpeak, SUVtotal, total
lesion activity, heterogeneity, location and organ.  Per scan (:func:`scan_features`): the
study's SUVmax, TLR, WTV and TRE, plus SUVmean, SUVpeak, lesion count and tumour-to-spleen
ratio.  Per lesion from the CT on the PET grid (:func:`lesion_ct_hu_mean`): mean CT density.

Arrays are numpy (z, y, x); SimpleITK spacing and points are (x, y, z) mm, LPS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

from netpet import labels as organ_numbers
from netpet.imaging.grid import (
    PEAK_RADIUS_MM,
    ball_kernel,
    check_same_grid,
    spacing_zyx,
    sphere_mean,
    voxel_volume_ml,
)
from netpet.imaging.organs import LiverReference

LESION_COLUMNS = (
    "lesion_id",
    "centre_x_mm",
    "centre_y_mm",
    "centre_z_mm",
    "n_voxels",
    "volume_ml",
    "suvmax",
    "suvmean",
    "suvsd",
    "suv_cov",
    "suvpeak",
    "suvtotal",
    "tla",
    "organ_label",
    "organ",
)

SCAN_COLUMNS = (
    "lesion_count",
    "wtv_ml",
    "tre",
    "suvmax",
    "suvmean",
    "suvpeak",
    "suvtotal",
    "liver_suvmean",
    "liver_suvsd",
    "tlr",
    "spleen_suvmean",
    "tsr",
)


def lesion_features(
    suv: sitk.Image, labels: sitk.Image, *, organ_labels: sitk.Image | None = None
) -> pd.DataFrame:
    """Features of every lesion of a label map.

    Definitions (``V`` = the lesion's voxels, ``v`` = voxel volume in mL):

    - ``centre_{x,y,z}_mm``: geometric centroid of the voxel centres, LPS mm (not
      SUV-weighted, so it does not move with uptake changes between scans);
    - ``volume_ml`` = ``n_voxels x v``;
    - ``suvmax`` = max SUV over V; ``suvmean`` = mean SUV over V; ``suvsd`` = sample SD
      (ddof=1; NaN for one voxel); ``suv_cov`` = ``suvsd / suvmean`` (heterogeneity);
    - ``suvpeak``: PERCIST 1.0 SUVpeak (Wahl et al., J Nucl Med 2009;50:122S): highest mean
      SUV in a 1 cm^3 sphere (radius 6.2 mm, whole voxels,
      :func:`netpet.imaging.grid.sphere_mean`) whose centre
      is a voxel of the lesion; the sphere itself may reach beyond the lesion mask;
    - ``suvtotal`` = sum of SUV over V (unit: SUV x voxels), STUDY.md section 2, used for
      lesion-level response on one PET grid;
    - ``tla`` = total lesion activity = ``volume_ml x suvmean`` (mL x SUV), the lesion's
      share of TRE (STUDY.md section 1);
    - ``organ_label``/``organ``: the organ label (:mod:`netpet.labels`) under most of the
      lesion's voxels (ties: the smaller number), 0 / ``"other"`` when most of it lies
      outside every labelled organ or when no organ map is given.

    Parameters
    ----------
    suv : SimpleITK.Image
        SUV image.
    labels : SimpleITK.Image
        Lesion label map on the SUV grid, 0 = background, lesions 1..N.
    organ_labels : SimpleITK.Image, optional
        Organ label map on the SUV grid.

    Returns
    -------
    pandas.DataFrame
        One row per lesion, columns :data:`LESION_COLUMNS`, ordered by ``lesion_id``.
    """
    check_same_grid(labels, suv, what="lesion label map")
    suv_zyx = sitk.GetArrayViewFromImage(suv).astype(np.float64)
    lesion_zyx = sitk.GetArrayViewFromImage(labels).astype(np.int64)
    organ_zyx = None
    if organ_labels is not None:
        check_same_grid(organ_labels, suv, what="organ label map")
        organ_zyx = sitk.GetArrayViewFromImage(organ_labels)
    spacing = spacing_zyx(suv)
    voxel_ml = voxel_volume_ml(suv)
    kernel = ball_kernel(PEAK_RADIUS_MM, spacing)
    pad = [k // 2 for k in kernel.shape]

    rows = []
    boxes = ndimage.find_objects(lesion_zyx)
    for lesion_id, box in enumerate(boxes, start=1):
        if box is None:
            continue
        region = lesion_zyx[box] == lesion_id
        values = suv_zyx[box][region]
        local = np.argwhere(region)
        index_zyx = local.mean(axis=0) + [s.start for s in box]
        centre = suv.TransformContinuousIndexToPhysicalPoint([float(i) for i in index_zyx[::-1]])
        # SUVpeak on a padded box: the sphere may leave the lesion but not the image.
        outer = tuple(
            slice(max(s.start - p, 0), min(s.stop + p, n))
            for s, p, n in zip(box, pad, suv_zyx.shape, strict=True)
        )
        peak = sphere_mean(suv_zyx[outer], spacing)
        inner = tuple(
            slice(s.start - o.start, s.stop - o.start) for s, o in zip(box, outer, strict=True)
        )
        suvpeak = float(peak[inner][region].max())
        organ_label = 0
        if organ_zyx is not None:
            under = organ_zyx[box][region].astype(np.int64)
            counts = np.bincount(under)
            organ_label = int(np.argmax(counts))
        n = int(values.size)
        suvmean = float(values.mean())
        suvsd = float(values.std(ddof=1)) if n > 1 else float("nan")
        rows.append(
            {
                "lesion_id": lesion_id,
                "centre_x_mm": centre[0],
                "centre_y_mm": centre[1],
                "centre_z_mm": centre[2],
                "n_voxels": n,
                "volume_ml": n * voxel_ml,
                "suvmax": float(values.max()),
                "suvmean": suvmean,
                "suvsd": suvsd,
                "suv_cov": suvsd / suvmean if suvmean != 0 else float("nan"),
                "suvpeak": suvpeak,
                "suvtotal": float(values.sum()),
                "tla": n * voxel_ml * suvmean,
                "organ_label": organ_label,
                "organ": organ_numbers.NAMES.get(organ_label, "other") if organ_label else "other",
            }
        )
    table = pd.DataFrame(rows, columns=list(LESION_COLUMNS))
    return table.astype({"lesion_id": "int64", "n_voxels": "int64", "organ_label": "int64"})


def scan_features(
    lesions: pd.DataFrame,
    liver_reference: LiverReference | None,
    *,
    spleen_suvmean: float | None = None,
) -> dict:
    """Per-scan parameters of the study from the lesion table of one scan.

    Definitions (STUDY.md section 1 table; sums over the lesions of the scan):

    - ``lesion_count`` = number of lesions;
    - ``wtv_ml`` (WTV) = sum of ``volume_ml``, mL;
    - ``tre`` (TRE, total receptor expression = total lesion activity) =
      sum of ``volume_ml x suvmean``, mL x SUV; this equals WTV x SUVmean of all tumour
      voxels on one grid;
    - ``suvmax`` = highest lesion SUVmax; ``suvmean`` = mean SUV of all tumour voxels
      (= sum of ``suvtotal`` / sum of ``n_voxels``); ``suvpeak`` = highest lesion SUVpeak;
      ``suvtotal`` = sum of lesion ``suvtotal``;
    - ``tlr`` (tumour-to-liver ratio) = ``suvmax / liver_suvmean``; ``tsr`` (tumour-to-spleen
      ratio) = ``suvmax / spleen_suvmean``.

    A scan without lesions has ``lesion_count`` 0, ``wtv_ml`` 0 and ``tre`` 0 (nothing
    measured is zero volume), while ``suvmax``, ``suvmean``, ``suvpeak``, ``tlr`` and ``tsr``
    are NaN (there is no tumour voxel to take them from; deltas from them are undefined).

    Parameters
    ----------
    lesions : pandas.DataFrame
        Output of :func:`lesion_features` for one scan.
    liver_reference : LiverReference or None
        Normal-liver reference; ``None`` gives NaN liver columns and TLR.
    spleen_suvmean : float, optional
        Mean spleen SUV (e.g. :func:`netpet.imaging.organs.organ_uptake`), for TSR.

    Returns
    -------
    dict
        Keys :data:`SCAN_COLUMNS`.
    """
    nan = float("nan")
    count = len(lesions)
    if count:
        n_voxels = float(lesions["n_voxels"].sum())
        suvmax = float(lesions["suvmax"].max())
        suvmean = float(lesions["suvtotal"].sum()) / n_voxels
        suvpeak = float(lesions["suvpeak"].max())
    else:
        suvmax = suvmean = suvpeak = nan
    liver_mean = liver_reference.suvmean if liver_reference is not None else nan
    liver_sd = liver_reference.suvsd if liver_reference is not None else nan
    spleen = float(spleen_suvmean) if spleen_suvmean is not None else nan
    return {
        "lesion_count": int(count),
        "wtv_ml": float(lesions["volume_ml"].sum()) if count else 0.0,
        "tre": float((lesions["volume_ml"] * lesions["suvmean"]).sum()) if count else 0.0,
        "suvmax": suvmax,
        "suvmean": suvmean,
        "suvpeak": suvpeak,
        "suvtotal": float(lesions["suvtotal"].sum()) if count else 0.0,
        "liver_suvmean": liver_mean,
        "liver_suvsd": liver_sd,
        "tlr": suvmax / liver_mean if liver_mean > 0 else nan,
        "spleen_suvmean": spleen,
        "tsr": suvmax / spleen if spleen > 0 else nan,
    }


#: Column of the lesion table with the lesion's mean CT density (HU), for Choi's criterion.
CT_HU_MEAN_COLUMN = "ct_hu_mean"


def lesion_ct_hu_mean(
    labels: sitk.Image, ct_on_pet: sitk.Image | None, *, lesion_ids=None
) -> np.ndarray:
    """Mean CT density (HU) inside each lesion, from the CT resampled on the PET grid.

    ``ct_hu_mean`` = mean HU over the lesion's voxels of ``ct_on_pet``
    (``results/images/{p}/{t}/anatomy/ct_on_pet.nii.gz``: the CT linearly resampled onto the
    PET grid), the PET-defined lesion's CT density used by Choi's criterion (STUDY.md
    section 2).  Voxels outside the CT's field of view hold the fill value of that image
    (-1000 HU, air) and are averaged like any other: a lesion cut by the CT's edge gets a
    density biased towards air.

    Parameters
    ----------
    labels : SimpleITK.Image
        Lesion label map on the PET grid, 0 = background, lesions 1..N; array (z, y, x).
    ct_on_pet : SimpleITK.Image or None
        CT on the same grid (HU); None for a scan without CT, which gives NaN for every
        lesion.
    lesion_ids : array-like of int, optional
        Lesions to report, in this order; default the labels present in ``labels``, ascending
        (the row order of :func:`lesion_features`).  An id absent from ``labels`` gives NaN.

    Returns
    -------
    numpy.ndarray of float, shape (n_lesions,)
        Mean HU per lesion.
    """
    lesion_zyx = sitk.GetArrayViewFromImage(labels).astype(np.int64).ravel()
    if lesion_ids is None:
        lesion_ids = np.unique(lesion_zyx[lesion_zyx > 0])
    ids = np.asarray(lesion_ids, dtype=np.int64).reshape(-1)
    if ct_on_pet is None:
        return np.full(ids.shape, np.nan)
    check_same_grid(ct_on_pet, labels, what="CT on the PET grid")
    hu = sitk.GetArrayViewFromImage(ct_on_pet).astype(np.float64).ravel()
    length = max(int(lesion_zyx.max(initial=0)), int(ids.max(initial=0))) + 1
    sums = np.bincount(lesion_zyx, weights=hu, minlength=length)
    counts = np.bincount(lesion_zyx, minlength=length)
    out = np.full(ids.shape, np.nan)
    present = (ids > 0) & (counts[ids] > 0)
    out[present] = sums[ids[present]] / counts[ids[present]]
    return out
