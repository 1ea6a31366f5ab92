"""Checks of an organ label map against the scan it is meant for.

A label map from another tool can be wrong in ways that still give plausible numbers: the map
of another time point (the body lies elsewhere), a map shifted or mirrored left-right, a map in
another frame of reference.  Wrong organ masks move the liver reference and let the spleen or
kidneys be segmented as tumour, so each scan's map is checked against its own PET (and CT or
MR when there is one) before it is used; a mismatch stops that scan with a message naming the
file and what looks wrong.

The checks, each with its threshold in the config (``organs.checks``):

``field of view``
    The liver must lie in the PET's field of view: the liver volume found on the PET grid is at
    least ``min_liver_in_pet_fraction`` of the map's own liver volume.  A map in another frame
    of reference (another scan's coordinates, RAS written as LPS) fails here.
``inside body``
    At least ``min_inside_body_fraction`` of the labelled voxels lie inside the body: CT above
    -500 HU or a lung label (CT), else smoothed PET uptake above ``body_suv`` (PET only).
``alignment``
    The shift of the map that best explains the image is searched within +-``shift_search_mm``
    along each axis (PET voxels), by the correlation ratio (the share of the image's variance
    explained by the organ labels, a standard multimodal similarity).  A best shift longer than
    ``max_shift_mm_ct`` (on the CT: maps made from that CT agree to a voxel) or
    ``max_shift_mm_pet`` (on the PET, which may be misregistered with the CT by breathing)
    means the map belongs elsewhere.
``left-right``
    The liver's centre lies on the patient's right of the spleen's (``left_right``; situs
    inversus is the rare exception: set it to false for such a patient).
``organ values``
    On the CT: median lung HU below ``lung_max_hu``; median liver HU within
    ``liver_hu_range``.  On the PET: median spleen SUV at least ``spleen_liver_ratio_min`` x
    median liver SUV (somatostatin-receptor tracers); the median SUV of the liver label and
    the liver reference SUVmean (checked by the organs step after the reference is placed)
    within ``liver_suvmean_range``.

Arrays from SimpleITK are (z, y, x); spacing and points are (x, y, z) mm, LPS.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from netpet import labels
from netpet.errors import InputError
from netpet.imaging.grid import spacing_zyx, voxel_volume_ml

# CT numbers above this are body (soft tissue, fat, bone); below, air.
BODY_MIN_HU = -500.0


def label_volume_ml(image: sitk.Image, label_number: int) -> float:
    """Volume (mL) of the voxels of ``image`` carrying ``label_number``."""
    count = int(np.count_nonzero(sitk.GetArrayViewFromImage(image) == label_number))
    return count * voxel_volume_ml(image)


def _centroid_mm(image: sitk.Image, mask_zyx: np.ndarray) -> np.ndarray:
    """Centre (x, y, z) mm LPS of a boolean (z, y, x) mask on the grid of ``image``."""
    index_zyx = np.mean(np.nonzero(mask_zyx), axis=1)
    return np.asarray(image.TransformContinuousIndexToPhysicalPoint(index_zyx[::-1].tolist()))


def correlation_ratio(values: np.ndarray, classes: np.ndarray) -> float:
    """Share of the variance of ``values`` explained by the class of each voxel (eta squared).

    ``values`` and ``classes`` are 1-D arrays of the same length (classes as small
    non-negative integers).  1 = every class is uniform, 0 = classes tell nothing.
    """
    counts = np.bincount(classes)
    sums = np.bincount(classes, weights=values)
    total = values.size
    mean = values.mean()
    between = np.sum(sums[counts > 0] ** 2 / counts[counts > 0]) - total * mean**2
    variance = np.sum((values - mean) ** 2)
    return float(between / variance) if variance > 0 else 0.0


def best_shift_mm(
    image: sitk.Image,
    organs_zyx: np.ndarray,
    *,
    search_mm: float,
    transform=None,
    body: np.ndarray | None = None,
    min_gain: float = 0.0,
) -> tuple[np.ndarray, float, float]:
    """The whole-voxel shift of the labels that best explains ``image``, searched per axis.

    Parameters
    ----------
    image : SimpleITK.Image
        CT (HU) or PET (SUV) on the grid of the labels.
    organs_zyx : numpy.ndarray of int, shape (z, y, x)
        Organ label map on that grid.
    search_mm : float
        Shifts up to this distance (mm) along each axis are tried.
    transform : callable, optional
        Applied to the image values first (e.g. ``np.log1p`` for SUV, whose organs differ by
        factors rather than by steps).
    body : numpy.ndarray of bool, shape (z, y, x), optional
        Only these voxels are compared (the body: air outside it says nothing of the organs).
    min_gain : float, optional
        A shift counts only when its correlation ratio exceeds the ratio as given by this
        fraction of it; else the labels stay as given (shift 0).  The search's best is always
        at least as good as no shift, and on a coarse image a correct map's best shift gains
        about 1 % by chance.

    Returns
    -------
    shift_xyz_mm : numpy.ndarray, shape (3,)
        Best shift of the labels, (x, y, z) mm along the image axes (0 = as given).
    ratio_at_zero, ratio_at_best : float
        Correlation ratios of the labels as given and shifted.
    """
    values = sitk.GetArrayViewFromImage(image).astype(np.float64)
    if transform is not None:
        values = transform(values)
    spacing = np.asarray(spacing_zyx(image))
    reach = np.floor(search_mm / spacing).astype(int)
    # Compact class numbers.  The labels move, the image stays: compare the image inside the
    # labels' bounding box (less the search reach at the array's border, so that no shift
    # reads outside the map) with the labels read ``shift`` voxels away.
    _, classes = np.unique(organs_zyx, return_inverse=True)
    classes = classes.reshape(organs_zyx.shape).astype(np.int64)
    inner = _box(organs_zyx > 0, reach, organs_zyx.shape)
    within = np.ones(values[inner].shape, dtype=bool) if body is None else body[inner]
    image_values = values[inner][within]

    def ratio(shift_zyx) -> float:
        source = tuple(
            slice(b.start - int(s), b.stop - int(s)) for b, s in zip(inner, shift_zyx, strict=True)
        )
        return correlation_ratio(image_values, classes[source][within])

    zero = ratio((0, 0, 0))
    # One axis after the other, each from the best shift so far: the fit never gets worse
    # than as given (bests found per axis alone can combine into a worse fit).
    best = np.zeros(3, dtype=int)
    at_best = zero
    for axis in range(3):
        scores = []
        for step in range(-reach[axis], reach[axis] + 1):
            shift = best.copy()
            shift[axis] = step
            scores.append((ratio(shift), -abs(step), step))
        at_best, _, best[axis] = max(scores)
    if at_best < (1.0 + min_gain) * zero:
        return np.zeros(3), zero, zero
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    shift_xyz = direction @ (best[::-1] * spacing[::-1])
    return shift_xyz, zero, at_best


def _box(mask: np.ndarray, reach, shape) -> tuple[slice, ...]:
    """Bounding box of ``mask`` grown by ``reach`` voxels, at least ``reach`` from the border."""
    nz = np.nonzero(mask) if mask.any() else [np.array([0, n - 1]) for n in shape]
    out = []
    for idx, r, n in zip(nz, reach, shape, strict=True):
        lo = max(int(idx.min()) - int(r), int(r))
        hi = min(int(idx.max()) + int(r) + 1, n - int(r))
        if hi <= lo:
            raise InputError(f"image of {n} voxels along an axis is too small for the search")
        out.append(slice(lo, hi))
    return tuple(out)


def check_organ_map(
    organs_on_pet: sitk.Image,
    suv: sitk.Image,
    *,
    settings: Mapping,
    source_labels: sitk.Image | None = None,
    anatomy_on_pet: sitk.Image | None = None,
    anatomy_modality: str | None = None,
    what: str = "organ label map",
) -> dict:
    """Check an organ label map against its scan; return the measured values.

    Parameters
    ----------
    organs_on_pet : SimpleITK.Image
        The map resampled onto the PET grid (nearest neighbour).
    suv : SimpleITK.Image
        The scan's SUV image.
    settings : mapping
        The config's ``organs.checks`` section (see the module docstring).
    source_labels : SimpleITK.Image, optional
        The map on its own grid, for the field-of-view check.
    anatomy_on_pet : SimpleITK.Image, optional
        The CT (HU) or MR on the PET grid; ``anatomy_modality`` says which (``"ct"``/``"mr"``).
    what : str
        Names the map in messages (file and scan).

    Returns
    -------
    dict
        Every measured value (JSON-ready), for the record.

    Raises
    ------
    InputError
        Naming the map, what looks wrong, the measured and the expected values, and the fix.
    """
    organs = sitk.GetArrayFromImage(organs_on_pet).astype(np.int64)
    suv_zyx = sitk.GetArrayViewFromImage(suv)
    ct = anatomy_on_pet if anatomy_modality == "ct" else None
    fix = (
        "check that the map belongs to this scan (same patient, same time point, same "
        "frame of reference), or set check_organ_labels to no for this scan in the samples "
        "sheet to use it anyway"
    )
    record: dict = {}
    liver = organs == labels.LIVER
    spleen = organs == labels.SPLEEN

    # Field of view.
    if source_labels is not None:
        source_ml = label_volume_ml(source_labels, labels.LIVER)
        on_pet_ml = label_volume_ml(organs_on_pet, labels.LIVER)
        record["liver_ml_in_map"] = round(source_ml, 3)
        record["liver_ml_in_pet"] = round(on_pet_ml, 3)
        if source_ml == 0:
            raise InputError(
                f"{what}: the map has no liver (label {labels.LIVER}, TotalSegmentator "
                "numbering); the liver reference needs it: give a map that includes the liver"
            )
        fraction = on_pet_ml / source_ml
        record["liver_in_pet_fraction"] = round(fraction, 4)
        if fraction < settings["min_liver_in_pet_fraction"]:
            raise InputError(
                f"{what}: only {100 * fraction:.0f} % of the map's liver ({source_ml:.0f} mL) "
                f"lies in the PET's field of view (expected >= "
                f"{100 * settings['min_liver_in_pet_fraction']:.0f} %): the map is in another "
                f"frame of reference or of another scan (map extent {_extent(source_labels)}, "
                f"PET extent {_extent(suv)}); {fix}"
            )
    if not liver.any():
        raise InputError(
            f"{what}: no liver (label {labels.LIVER}) on the PET grid; the liver reference "
            f"needs it; {fix}"
        )

    # Inside the body.
    labelled = organs > 0
    if ct is not None:
        body = _fill_slices(sitk.GetArrayViewFromImage(ct) > BODY_MIN_HU)
    else:
        smooth = ndimage.uniform_filter(suv_zyx.astype(np.float32), size=3)
        body = _fill_slices(smooth > settings["body_suv"])
    body |= np.isin(organs, labels.LUNGS)
    inside = float(np.count_nonzero(labelled & body)) / max(int(labelled.sum()), 1)
    record["inside_body_fraction"] = round(inside, 4)
    record["body_from"] = "ct" if ct is not None else "pet"
    if inside < settings["min_inside_body_fraction"]:
        raise InputError(
            f"{what}: only {100 * inside:.0f} % of the labelled voxels lie inside the body "
            f"(from the {'CT' if ct is not None else 'PET'}; expected >= "
            f"{100 * settings['min_inside_body_fraction']:.0f} %); {fix}"
        )

    # Left-right.
    if settings["left_right"] and liver.any() and spleen.any():
        liver_x = _centroid_mm(suv, liver)[0]
        spleen_x = _centroid_mm(suv, spleen)[0]
        record["liver_x_mm"], record["spleen_x_mm"] = round(liver_x, 1), round(spleen_x, 1)
        if liver_x >= spleen_x:  # LPS: x grows towards the patient's left
            raise InputError(
                f"{what}: the liver (centre x {liver_x:.0f} mm) lies on the patient's left of "
                f"the spleen (x {spleen_x:.0f} mm, LPS): the map is mirrored left-right "
                "(check its orientation: RAS and LPS differ in the sign of x); "
                f"{fix}, or set organs.checks.left_right to false for situs inversus"
            )

    # Alignment.
    search = settings["shift_search_mm"]
    min_gain = settings.get("min_shift_gain", 0.02)
    if ct is not None:
        shift, zero, best = best_shift_mm(
            ct, organs, search_mm=search, transform=_soft_hu, body=body, min_gain=min_gain
        )
        limit, on = settings["max_shift_mm_ct"], "CT"
    else:
        shift, zero, best = best_shift_mm(
            suv, organs, search_mm=search, transform=_log_suv, body=body, min_gain=min_gain
        )
        limit, on = settings["max_shift_mm_pet"], "PET"
    length = float(np.linalg.norm(shift))
    record.update(
        {
            "alignment_on": on,
            "best_shift_xyz_mm": [round(float(v), 2) for v in shift],
            "best_shift_mm": round(length, 2),
            "correlation_ratio_as_given": round(zero, 4),
            "correlation_ratio_at_best_shift": round(best, 4),
        }
    )
    if length > limit:
        raise InputError(
            f"{what}: the organs fit the {on} best when the map is moved by "
            f"({shift[0]:+.0f}, {shift[1]:+.0f}, {shift[2]:+.0f}) mm (x, y, z LPS; "
            f"{length:.0f} mm, more than the {limit:g} mm allowed; correlation ratio "
            f"{zero:.3f} as given, {best:.3f} moved): the map is of another time point or "
            f"scan, or shifted; {fix}"
        )

    # Organ values.
    if ct is not None:
        hu = sitk.GetArrayViewFromImage(ct)
        lungs = np.isin(organs, labels.LUNGS)
        if lungs.any():
            lung_hu = float(np.median(hu[lungs]))
            record["lung_median_hu"] = round(lung_hu, 1)
            if lung_hu > settings["lung_max_hu"]:
                raise InputError(
                    f"{what}: the lungs' median CT number is {lung_hu:.0f} HU (air-filled lung "
                    f"is below {settings['lung_max_hu']:g} HU): the lung labels are not on the "
                    f"lungs; {fix}"
                )
        liver_hu = float(np.median(hu[liver]))
        record["liver_median_hu"] = round(liver_hu, 1)
        low, high = settings["liver_hu_range"]
        if not low <= liver_hu <= high:
            raise InputError(
                f"{what}: the liver's median CT number is {liver_hu:.0f} HU, outside "
                f"{low:g}-{high:g} HU (liver tissue, fatty or contrast-enhanced); {fix}"
            )
    liver_suv = float(np.median(suv_zyx[liver]))
    record["liver_median_suv"] = round(liver_suv, 3)
    low, high = settings["liver_suvmean_range"]
    if not low <= liver_suv <= high:
        raise InputError(
            f"{what}: median SUV {liver_suv:.2f} in the liver label, outside the {low:g}-{high:g} "
            "expected for normal liver with this tracer (organs.checks.liver_suvmean_range): "
            f"the liver label is misplaced, or the SUV is wrong (see suv.json); {fix}"
        )
    ratio_min = settings["spleen_liver_ratio_min"]
    if ratio_min is not None and spleen.any():
        spleen_suv = float(np.median(suv_zyx[spleen]))
        record["spleen_median_suv"] = round(spleen_suv, 3)
        if liver_suv > 0 and spleen_suv < ratio_min * liver_suv:
            raise InputError(
                f"{what}: median SUV {spleen_suv:.2f} in the spleen label and {liver_suv:.2f} in "
                f"the liver label; with somatostatin-receptor tracers the spleen takes up at "
                f"least {ratio_min:g} x the liver: the spleen or liver label is misplaced; "
                f"{fix}, or set organs.checks.spleen_liver_ratio_min to null for another tracer"
            )
    return record


def check_liver_reference(suvmean: float, *, settings: Mapping, what: str) -> None:
    """The liver reference SUVmean must lie in ``settings['liver_suvmean_range']``."""
    low, high = settings["liver_suvmean_range"]
    if not low <= suvmean <= high:
        raise InputError(
            f"{what}: the liver reference SUVmean is {suvmean:.2f}, outside the {low:g}-{high:g} "
            "expected for normal liver with this tracer (organs.checks.liver_suvmean_range): "
            "the liver label is misplaced, or the SUV is wrong (check weight, dose and "
            "injection time in suv.json)"
        )


def _fill_slices(mask_zyx: np.ndarray) -> np.ndarray:
    """The body: each axial slice's mask with its holes (lungs, bowel gas) filled."""
    return np.stack([ndimage.binary_fill_holes(plane) for plane in mask_zyx])


def _soft_hu(values: np.ndarray) -> np.ndarray:
    """CT numbers clipped to air..soft tissue: bone and contrast say little of organ borders."""
    return np.clip(values, -1000.0, 200.0)


def _log_suv(values: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(values, 0.0, None))


def _extent(image: sitk.Image) -> str:
    """Physical bounding box (x, y, z) mm of an image, for messages."""
    size = np.asarray(image.GetSize()) - 1
    corners = [
        image.TransformContinuousIndexToPhysicalPoint([float(c) for c in corner])
        for corner in np.array(np.meshgrid(*[[0, s] for s in size])).T.reshape(-1, 3)
    ]
    low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    return ", ".join(f"{a} {lo:.0f}..{hi:.0f}" for a, lo, hi in zip("xyz", low, high, strict=True))
