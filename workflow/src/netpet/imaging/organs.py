"""Organ masks on the PET grid and the normal-liver reference region (STUDY.md section 3.3).

Organ label maps follow TotalSegmentator's numbering (:mod:`netpet.labels`) and usually live
on the CT grid; :func:`netpet.imaging.grid.resample_labels_to` brings them onto the PET grid.
The normal-liver reference region is a sphere (default 3 cm diameter) placed by
:func:`place_liver_reference`.

Conventions: numpy arrays from SimpleITK are indexed (z, y, x); SimpleITK spacing, origin and
points are (x, y, z) in mm, LPS patient coordinates (x grows to the patient's left, y to the
posterior, z to the head).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from netpet import labels as organ_numbers
from netpet.errors import InputError
from netpet.imaging.grid import (
    ball_offsets,
    check_same_grid,
    robust_statistics,
    spacing_zyx,
)


def physiological_mask(labels: sitk.Image | np.ndarray, label_numbers) -> np.ndarray:
    """Boolean mask of the voxels carrying any of ``label_numbers``.

    Parameters
    ----------
    labels : SimpleITK.Image or numpy.ndarray
        Organ label map (TotalSegmentator numbers, :mod:`netpet.labels`).
    label_numbers : iterable of int
        Organ labels to include, e.g. ``netpet.labels.PHYSIOLOGICAL_UPTAKE``.

    Returns
    -------
    numpy.ndarray of bool, shape (z, y, x)
    """
    array = sitk.GetArrayViewFromImage(labels) if isinstance(labels, sitk.Image) else labels
    return np.isin(array, np.asarray(list(label_numbers), dtype=np.int64))


def organ_uptake(
    suv: sitk.Image, organ_labels: sitk.Image, label_number: int, *, erode_mm: float = 0.0
) -> dict:
    """SUV statistics inside one organ (e.g. spleen for the tumour-to-spleen ratio).

    Parameters
    ----------
    suv : SimpleITK.Image
        SUV image.
    organ_labels : SimpleITK.Image
        Organ label map on the SUV grid.
    label_number : int
        Organ label (:mod:`netpet.labels`).
    erode_mm : float, keyword-only
        Shrink the organ by this distance first, to keep partial-volume edges out.

    Returns
    -------
    dict
        ``suvmean``, ``suvsd`` (sample SD, ddof=1) and ``n_voxels``; NaN statistics when the
        organ is absent.
    """
    check_same_grid(organ_labels, suv, what="organ label map")
    mask = sitk.GetArrayViewFromImage(organ_labels) == label_number
    if erode_mm > 0 and mask.any():
        depth = ndimage.distance_transform_edt(mask, sampling=spacing_zyx(suv))
        mask = depth > erode_mm
    values = sitk.GetArrayViewFromImage(suv)[mask].astype(np.float64)
    if values.size == 0:
        return {"suvmean": float("nan"), "suvsd": float("nan"), "n_voxels": 0}
    sd = float(values.std(ddof=1)) if values.size > 1 else float("nan")
    return {"suvmean": float(values.mean()), "suvsd": sd, "n_voxels": int(values.size)}


@dataclass(frozen=True)
class LiverReference:
    """Normal-liver reference sphere.

    Attributes
    ----------
    centre_mm : tuple of 3 floats
        Sphere centre in LPS patient coordinates, (x, y, z) mm; always a voxel centre.
    radius_mm : float
        Sphere radius in mm.
    mask : numpy.ndarray of bool, shape (z, y, x)
        Voxels whose centres lie within ``radius_mm`` of the centre (whole voxels).
    suvmean, suvsd : float
        Mean and sample standard deviation (ddof=1) of SUV in the sphere.
    n_voxels : int
        Number of voxels in the sphere.
    rule : str
        How the centre was chosen, for the record.
    """

    centre_mm: tuple[float, float, float]
    radius_mm: float
    mask: np.ndarray = field(repr=False, compare=False)
    suvmean: float
    suvsd: float
    n_voxels: int
    rule: str = ""

    def to_dict(self) -> dict:
        """JSON-ready summary (everything except the voxel mask)."""
        return {
            "centre_x_mm": self.centre_mm[0],
            "centre_y_mm": self.centre_mm[1],
            "centre_z_mm": self.centre_mm[2],
            "radius_mm": self.radius_mm,
            "suvmean": self.suvmean,
            "suvsd": self.suvsd,
            "n_voxels": self.n_voxels,
            "rule": self.rule,
        }


def liver_hot_spots(
    suv_zyx: np.ndarray, liver: np.ndarray, *, robust_sd_count: float = 3.0
) -> np.ndarray:
    """Liver voxels suspicious of lesion: SUV above median + ``robust_sd_count`` robust SD.

    The robust SD is 1.4826 x the median absolute deviation of liver SUV
    (:func:`netpet.imaging.grid.robust_statistics`), so that liver metastases do not inflate
    it.  Returns a boolean (z, y, x) mask.
    """
    median, robust_sd = robust_statistics(suv_zyx[liver])
    return liver & (suv_zyx > median + robust_sd_count * robust_sd)


def place_liver_reference(
    suv: sitk.Image,
    organ_labels_on_pet: sitk.Image,
    *,
    radius_mm: float = 15.0,
    margin_mm: float = 10.0,
    exclude_mask: np.ndarray | None = None,
    lesion_margin_mm: float = 10.0,
    robust_sd_count: float = 3.0,
) -> LiverReference:
    """Place the normal-liver reference sphere (default 3 cm diameter) and measure it.

    Rule (deterministic, no random step):

    1. liver = voxels labelled ``netpet.labels.LIVER``;
    2. lesion voxels to keep away from = ``exclude_mask`` (e.g. a tumour segmentation) plus
       liver hot spots (:func:`liver_hot_spots`: SUV above the liver median + 3 robust SD);
    3. for every liver voxel, the clearance is
       ``min(d_edge - margin_mm, d_lesion - lesion_margin_mm) - radius_mm`` where ``d_edge``
       is the distance (mm, anisotropic spacing) to the nearest non-liver voxel and
       ``d_lesion`` to the nearest lesion voxel; candidates have clearance >= 0, i.e. the
       whole sphere lies inside the liver at least ``margin_mm`` from its edge and
       ``lesion_margin_mm`` from any lesion voxel;
    4. the right lobe is preferred: candidates on the patient's right half of the liver
       (LPS x <= the median x of liver voxels; x grows to the patient's left) are used when
       there are any, else all candidates;
    5. the centre is the candidate with the largest clearance (deepest inside normal liver;
       ties: first voxel in (z, y, x) raster order).

    Parameters
    ----------
    suv : SimpleITK.Image
        SUV image.
    organ_labels_on_pet : SimpleITK.Image
        Organ label map on the SUV grid (TotalSegmentator numbers).
    radius_mm : float
        Sphere radius in mm (15 mm: 3 cm diameter, about 14 mL).
    margin_mm : float
        Minimum distance between the sphere surface and the liver edge, mm.
    exclude_mask : numpy.ndarray of bool, shape (z, y, x), optional
        Known lesion voxels.
    lesion_margin_mm : float
        Minimum distance between the sphere surface and any lesion voxel, mm.
    robust_sd_count : float
        Hot-spot threshold in robust SDs above the liver median.

    Returns
    -------
    LiverReference

    Raises
    ------
    InputError
        No liver label, or no place where the sphere fits.
    """
    check_same_grid(organ_labels_on_pet, suv, what="organ label map")
    suv_zyx = sitk.GetArrayViewFromImage(suv)
    liver = sitk.GetArrayViewFromImage(organ_labels_on_pet) == organ_numbers.LIVER
    if not liver.any():
        raise InputError(
            f"organ label map has no liver (label {organ_numbers.LIVER}, TotalSegmentator "
            "numbering) on the PET grid: supply organ labels of this scan that include the "
            "liver (a map of another scan or frame of reference misses the PET), or leave "
            "organ_labels empty and use segmentation.method import (no TLR then)"
        )
    spacing = spacing_zyx(suv)
    lesions = liver_hot_spots(suv_zyx, liver, robust_sd_count=robust_sd_count)
    if exclude_mask is not None:
        lesions = lesions | np.asarray(exclude_mask, dtype=bool)

    # Crop to the liver bounding box plus a margin: distances only matter near the liver.
    pad = [int(np.ceil((radius_mm + max(margin_mm, lesion_margin_mm)) / s)) + 2 for s in spacing]
    nz = np.nonzero(liver)
    lo = [max(int(i.min()) - p, 0) for i, p in zip(nz, pad, strict=True)]
    hi = [min(int(i.max()) + p + 1, n) for i, p, n in zip(nz, pad, liver.shape, strict=True)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    liver_box = np.pad(liver[box], 1)  # padding: the image border counts as liver edge
    d_edge = ndimage.distance_transform_edt(liver_box, sampling=spacing)[1:-1, 1:-1, 1:-1]
    liver_box = liver_box[1:-1, 1:-1, 1:-1]
    lesion_box = lesions[box]
    if lesion_box.any():
        d_lesion = ndimage.distance_transform_edt(~lesion_box, sampling=spacing)
    else:
        d_lesion = np.full(liver_box.shape, np.inf)
    clearance = np.minimum(d_edge - margin_mm, d_lesion - lesion_margin_mm) - radius_mm
    candidates = liver_box & (clearance >= 0)
    if not candidates.any():
        raise InputError(
            f"no place for a {radius_mm:g} mm-radius liver reference sphere at least "
            f"{margin_mm:g} mm from the liver edge and {lesion_margin_mm:g} mm from lesions "
            "(liver label too small or full of lesions): use a smaller radius_mm / margin_mm, "
            "or supply corrected organ labels"
        )
    # Right lobe: x index of voxel centres; LPS x (patient's left) grows with the x index
    # when the direction matrix is the identity, so compare physical x.
    zz, yy, xx = np.nonzero(liver)
    x_mm_liver = _physical_x(suv, zz, yy, xx)
    right_half_limit = float(np.median(x_mm_liver))
    cz, cy, cx = np.nonzero(candidates)
    x_mm_cand = _physical_x(suv, cz + lo[0], cy + lo[1], cx + lo[2])
    right = x_mm_cand <= right_half_limit
    if right.any():
        cz, cy, cx = cz[right], cy[right], cx[right]
        where = "right half of the liver"
    else:
        where = "whole liver (no candidate in the right half)"
    best = int(np.argmax(clearance[cz, cy, cx]))  # first maximum in raster order
    centre_idx = (int(cz[best]) + lo[0], int(cy[best]) + lo[1], int(cx[best]) + lo[2])

    mask = np.zeros(liver.shape, dtype=bool)
    offsets = ball_offsets(radius_mm, spacing) + np.asarray(centre_idx)
    mask[tuple(offsets.T)] = True
    values = suv_zyx[mask].astype(np.float64)
    centre_mm = suv.TransformIndexToPhysicalPoint(centre_idx[::-1])
    return LiverReference(
        centre_mm=tuple(float(c) for c in centre_mm),
        radius_mm=float(radius_mm),
        mask=mask,
        suvmean=float(values.mean()),
        suvsd=float(values.std(ddof=1)),
        n_voxels=int(values.size),
        rule=(
            f"deepest point of normal liver in the {where}: sphere >= {margin_mm:g} mm from the "
            f"liver edge and >= {lesion_margin_mm:g} mm from lesions / hot spots "
            f"(> median + {robust_sd_count:g} robust SD)"
        ),
    )


def _physical_x(image: sitk.Image, z, y, x) -> np.ndarray:
    """LPS x (mm) of voxel centres given numpy (z, y, x) index arrays."""
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    index_xyz = np.stack([np.asarray(x), np.asarray(y), np.asarray(z)], axis=0).astype(float)
    scaled = index_xyz * np.asarray(image.GetSpacing())[:, None]
    return image.GetOrigin()[0] + direction[0] @ scaled
