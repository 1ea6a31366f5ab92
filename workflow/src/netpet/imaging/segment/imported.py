"""Tumour masks from other tools (config ``segmentation.method: import``).

The samples sheet's ``tumour_mask`` column names, per scan, a NIfTI/NRRD/MetaImage label map,
a DICOM RTSTRUCT or a DICOM SEG; :func:`read_tumour_mask` brings it onto the PET grid
(:mod:`netpet.imaging.seg_io`) and :func:`relabel_by_suvmax` numbers its lesions 1..N by
descending SUVmax, as :func:`netpet.imaging.segment.segment_tumours` does.

Arrays are numpy (z, y, x).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from netpet.errors import InputError

LABEL_MAP_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def read_tumour_mask(path: str, suv: sitk.Image, *, scan: str) -> sitk.Image:
    """A tumour mask from another tool on the PET grid: label map, RTSTRUCT or SEG.

    Parameters
    ----------
    path : str
        The scan's ``tumour_mask`` (empty: none given).
    suv : SimpleITK.Image
        The scan's SUV image, whose grid the mask takes.
    scan : str
        Names the scan in messages (``patient/timepoint``).

    Returns
    -------
    SimpleITK.Image
        Label map on the PET grid (0 = background).

    Raises
    ------
    InputError
        No path, no such file, or a file of another kind.
    """
    # seg_io and pydicom load slowly: only scans with imported masks need them.
    from netpet.imaging import seg_io

    if not path:
        raise InputError(
            f"scan {scan}: segmentation.method is 'import' but the samples sheet has no "
            "tumour_mask for this scan; add the path of its label map, RTSTRUCT or SEG"
        )
    if not Path(path).is_file():
        raise InputError(f"scan {scan}: tumour_mask file {path} does not exist")
    if path.lower().endswith(LABEL_MAP_SUFFIXES):
        return seg_io.read_label_map(path, suv)
    import pydicom

    modality = pydicom.dcmread(path, stop_before_pixels=True).get("Modality", "")
    if modality == "RTSTRUCT":
        return seg_io.read_rtstruct(path, suv)[0]
    if modality == "SEG":
        return seg_io.read_dicom_seg(path, suv)[0]
    raise InputError(
        f"scan {scan}: tumour_mask {path} is neither a NIfTI/NRRD label map nor a DICOM "
        f"RTSTRUCT or SEG (Modality {modality!r})"
    )


def relabel_by_suvmax(suv: sitk.Image, mask_labels: sitk.Image) -> sitk.Image:
    """Lesions 1..N by descending SUVmax from an imported mask.

    A binary mask (one label) is split into 26-connected components; a multi-label map keeps
    its regions and is renumbered.  Ties of SUVmax: the smaller source label first.

    Parameters
    ----------
    suv : SimpleITK.Image
        SUV image.
    mask_labels : SimpleITK.Image
        The mask on the SUV grid (:func:`read_tumour_mask`).

    Returns
    -------
    SimpleITK.Image
        uint16 lesion label map on the SUV grid.
    """
    values = sitk.GetArrayFromImage(mask_labels)
    present = np.unique(values[values > 0])
    if present.size == 1:
        values, _ = ndimage.label(values > 0, structure=np.ones((3, 3, 3)))
        present = np.unique(values[values > 0])
    suv_zyx = sitk.GetArrayViewFromImage(suv)
    maxima = ndimage.maximum(suv_zyx, values, present) if present.size else []
    order = sorted(zip(present, maxima, strict=True), key=lambda item: (-item[1], item[0]))
    lookup = np.zeros(int(values.max()) + 1, dtype=np.uint16)
    for new, (old, _) in enumerate(order, start=1):
        lookup[old] = new
    out = sitk.GetImageFromArray(lookup[values])
    out.CopyInformation(suv)
    return out
