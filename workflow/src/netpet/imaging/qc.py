"""Quality-control pictures: maximum-intensity projections with the segmentation outlined.

:func:`mip` and :func:`mip_extent` are reusable building blocks (e.g. for the basal/interim
MIP figure); :func:`qc_figure` draws one scan's coronal and sagittal MIPs.

Display conventions: head up; coronal view seen from the front, so the patient's right is on
the viewer's left (LPS x grows to the right of the picture); sagittal view with anterior on
the left (LPS y grows to the right).  Pixel aspect follows the voxel spacing.
Arrays are numpy (z, y, x); SimpleITK spacing and points are (x, y, z) mm, LPS.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence

import numpy as np
import SimpleITK as sitk
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from netpet.imaging.organs import LiverReference
from netpet.io import atomic_path

VIEWS = ("coronal", "sagittal")
# numpy axis projected away in each view, and the (x, y, z) index of the horizontal axis.
_PROJECTED_AXIS = {"coronal": 1, "sagittal": 2}
_HORIZONTAL_XYZ = {"coronal": 0, "sagittal": 1}
OUTLINE_COLOUR = "#ff0000"
LIVER_COLOUR = "#0072b2"
WARNING_COLOUR = "#d55e00"
WARNING_FONT_SIZE = 8


def _check_axis_aligned(image: sitk.Image) -> None:
    if not np.allclose(np.asarray(image.GetDirection()).reshape(3, 3), np.eye(3), atol=1e-4):
        raise ValueError("MIPs need an axis-aligned image (identity direction); resample first")


def mip(image: sitk.Image, view: str) -> np.ndarray:
    """Maximum-intensity projection of an image.

    Parameters
    ----------
    image : SimpleITK.Image
        Axis-aligned (identity direction) 3-D image; SUV or labels.
    view : {"coronal", "sagittal"}
        Coronal projects along y (anterior-posterior), sagittal along x (right-left).

    Returns
    -------
    numpy.ndarray, shape (z, x) for coronal or (z, y) for sagittal
        Row 0 is the lowest slice (feet); draw with ``origin="lower"`` and
        :func:`mip_extent` for head-up display in mm.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    _check_axis_aligned(image)
    return sitk.GetArrayViewFromImage(image).max(axis=_PROJECTED_AXIS[view])


def mip_extent(image: sitk.Image, view: str) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) in mm (LPS) of :func:`mip`'s output.

    Pixel edges, i.e. voxel centres +/- half a voxel, so that data coordinates in mm map onto
    the picture and the aspect ratio is right with ``aspect="equal"``.
    """
    axis = _HORIZONTAL_XYZ[view]
    spacing, origin, size = image.GetSpacing(), image.GetOrigin(), image.GetSize()
    left = origin[axis] - spacing[axis] / 2
    right = left + size[axis] * spacing[axis]
    bottom = origin[2] - spacing[2] / 2
    top = bottom + size[2] * spacing[2]
    return (left, right, bottom, top)


def draw_mip(
    ax,
    suv: sitk.Image,
    view: str,
    *,
    labels: sitk.Image | None = None,
    suv_max: float = 15.0,
    outline_colour: str = OUTLINE_COLOUR,
) -> None:
    """Draw the SUV MIP (inverted grey, SUV 0..``suv_max``) and the outline of the label MIP.

    The outline is the contour at 0.5 of the projected tumour mask (any lesion voxel along
    the ray), drawn in ``outline_colour``.
    """
    extent = mip_extent(suv, view)
    ax.imshow(
        mip(suv, view),
        cmap="gray_r",
        vmin=0.0,
        vmax=suv_max,
        origin="lower",
        extent=extent,
        aspect="equal",
        interpolation="nearest",
    )
    if labels is not None:
        projected = (mip(labels, view) > 0).astype(float)
        if projected.any():
            axis = _HORIZONTAL_XYZ[view]
            spacing, origin = suv.GetSpacing(), suv.GetOrigin()
            h = origin[axis] + spacing[axis] * np.arange(projected.shape[1])
            v = origin[2] + spacing[2] * np.arange(projected.shape[0])
            # Pad so that lesions at the border still get a closed outline.
            h = np.concatenate([[h[0] - spacing[axis]], h, [h[-1] + spacing[axis]]])
            v = np.concatenate([[v[0] - spacing[2]], v, [v[-1] + spacing[2]]])
            ax.contour(h, v, np.pad(projected, 1), levels=[0.5], colors=[outline_colour])
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])


def qc_figure(
    suv: sitk.Image,
    labels: sitk.Image | None,
    liver_reference: LiverReference | None,
    *,
    title: str,
    path: str | os.PathLike,
    suv_max: float = 15.0,
    height_in: float = 6.0,
    dpi: int = 100,
    warnings: Sequence[str] = (),
) -> Figure:
    """Write a PNG with coronal and sagittal SUV MIPs, lesion outlines and the liver sphere.

    Parameters
    ----------
    suv : SimpleITK.Image
        SUV image (axis-aligned).
    labels : SimpleITK.Image or None
        Lesion label map on the SUV grid; outlined in red.
    liver_reference : LiverReference or None
        Drawn as a blue circle of its radius at its centre.
    title : str
        Figure title: patient ID, time point and method only (no identity).
    path : path-like
        Output PNG, written atomically.
    suv_max : float
        Upper end of the SUV window (inverted grey, 0 = white).
    height_in, dpi : float, int
        Figure height in inches and resolution; the width follows the two views' aspect.
    warnings : sequence of str
        Shown below the views in orange, e.g. the geometry warning of a PET resampled along
        z (:func:`netpet.imaging.dicom.geometry_warnings` of the scan's provenance).

    Returns
    -------
    matplotlib.figure.Figure
        The figure written (its axes map mm to pixels, e.g. for checks).
    """
    widths = []
    for view in VIEWS:
        left, right, bottom, top = mip_extent(suv, view)
        widths.append((right - left) / (top - bottom))
    figure = Figure(figsize=(height_in * sum(widths) * 0.92 + 0.4, height_in), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": widths})
    for ax, view in zip(axes, VIEWS, strict=True):
        draw_mip(ax, suv, view, labels=labels, suv_max=suv_max)
        ax.set_title(view, fontsize=9)
        if liver_reference is not None:
            horizontal = liver_reference.centre_mm[_HORIZONTAL_XYZ[view]]
            ax.add_patch(
                Circle(
                    (horizontal, liver_reference.centre_mm[2]),
                    liver_reference.radius_mm,
                    fill=False,
                    edgecolor=LIVER_COLOUR,
                    linewidth=1.2,
                )
            )
    figure.suptitle(title, fontsize=10)
    bottom = 0.02
    if warnings:
        # Characters per line from the figure width (a character is ~0.6 x the font size).
        width_chars = max(40, int(figure.get_figwidth() * 72 / (0.6 * WARNING_FONT_SIZE)))
        lines = [
            line
            for text in warnings
            for line in textwrap.wrap(f"Warning: {text}", width_chars) or [""]
        ]
        line_height = 1.3 * WARNING_FONT_SIZE / 72 / figure.get_figheight()
        figure.text(
            0.01,
            0.01,
            "\n".join(lines),
            color=WARNING_COLOUR,
            fontsize=WARNING_FONT_SIZE,
            ha="left",
            va="bottom",
        )
        bottom = min(0.5, 0.03 + line_height * len(lines))
    figure.subplots_adjust(left=0.02, right=0.98, bottom=bottom, top=0.9, wspace=0.05)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    return figure
