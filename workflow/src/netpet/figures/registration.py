"""Alignment QC picture of a follow-up scan registered to the baseline.

Two rows, before (the scanners' coordinates as they are) and after registration; three
columns: a coronal and an axial slice of the images that drove the registration (CT, MR or
PET) through the baseline body centre, and a coronal SUV maximum-intensity projection.  Each
panel fuses the two scans: baseline in green, follow-up in magenta, so that where they agree
the picture is grey and a misalignment shows as green and magenta fringes (a colour pair
that colour-blind readers tell apart).  Below, the driver, transform and quality numbers of
:func:`netpet.longitudinal.registration.register_to_baseline`, and any problem it found in
orange.

Display conventions as in :mod:`netpet.imaging.qc`: head up, coronal seen from the front
(patient's right on the viewer's left), axial seen from the feet (anterior up).  Arrays are
numpy (z, y, x); SimpleITK spacing and points are (x, y, z) mm, LPS.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from netpet.figures.style import DOUBLE_COLUMN_MM, OKABE_ITO, new_figure, save_figure, style
from netpet.imaging.qc import mip, mip_extent
from netpet.longitudinal.registration import ScanImages, image_to_baseline

# Grey window of each kind of image (values mapped to 0..1 before fusion).
CT_WINDOW_HU = (-800.0, 400.0)
# Smallest display pixel (mm): a 0.98 mm CT is shown at 1 mm.
MIN_DISPLAY_PIXEL_MM = 1.0
# Panel views: the plane's fixed axis (x, y, z index) and its horizontal / vertical axes.
_PLANES = {"coronal": (1, 0, 2), "axial": (2, 0, 1)}
WARNING_COLOUR = OKABE_ITO["vermillion"]
# Resolution of the picture (a QC picture, not a paper figure).
QC_DPI = 150
# Characters per caption line at 6.5 pt across a double column.
CAPTION_CHARS = 140


def _plane_reference(image: sitk.Image, view: str, centre_mm) -> sitk.Image:
    """A one-voxel-thick grid through ``centre_mm`` covering ``image``'s field of view.

    Axis-aligned (identity direction), pixel size the image's finest spacing (at least
    :data:`MIN_DISPLAY_PIXEL_MM`).
    """
    fixed_axis, _, _ = _PLANES[view]
    spacing = np.asarray(image.GetSpacing(), float)
    pixel = max(float(spacing.min()), MIN_DISPLAY_PIXEL_MM)
    size = np.asarray(image.GetSize())
    corners = np.array(
        [
            image.TransformContinuousIndexToPhysicalPoint([float(v) for v in corner])
            for corner in np.array(np.meshgrid(*[[-0.5, n - 0.5] for n in size])).T.reshape(-1, 3)
        ]
    )
    low, high = corners.min(axis=0), corners.max(axis=0)
    n = np.maximum(1, np.round((high - low) / pixel).astype(int))
    origin = low + pixel / 2.0
    n[fixed_axis] = 1
    origin[fixed_axis] = float(centre_mm[fixed_axis])
    reference = sitk.Image([int(v) for v in n], sitk.sitkFloat32)
    reference.SetSpacing([pixel] * 3)
    reference.SetOrigin([float(v) for v in origin])
    return reference


def _plane(image: sitk.Image, transform, reference: sitk.Image, view: str, outside: float):
    """``image`` resampled (linear) onto a plane ``reference``: 2-D (vertical, horizontal)."""
    resampled = image_to_baseline(image, transform, reference, default_value=outside)
    array = sitk.GetArrayFromImage(resampled)
    if view == "coronal":
        return array[:, 0, :]  # (z, x)
    return array[0, :, :]  # (y, x)


def _plane_extent(reference: sitk.Image, view: str) -> tuple[float, float, float, float]:
    _, horizontal, vertical = _PLANES[view]
    spacing, origin, size = reference.GetSpacing(), reference.GetOrigin(), reference.GetSize()
    left = origin[horizontal] - spacing[horizontal] / 2
    bottom = origin[vertical] - spacing[vertical] / 2
    return (
        left,
        left + size[horizontal] * spacing[horizontal],
        bottom,
        bottom + size[vertical] * spacing[vertical],
    )


def _normalise(values: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    low, high = window
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def fuse(baseline: np.ndarray, followup: np.ndarray) -> np.ndarray:
    """Green-magenta fusion of two images scaled to 0..1: RGB = (followup, baseline, followup).

    Equal values give grey; baseline-only signal is green, follow-up-only magenta.

    Returns
    -------
    numpy.ndarray, shape (*baseline.shape, 3), float in [0, 1]
    """
    return np.stack([followup, baseline, followup], axis=-1)


def _window(driver: str, baseline_values: np.ndarray, suv_max: float) -> tuple[float, float]:
    if driver == "ct":
        return CT_WINDOW_HU
    if driver == "pet":
        return (0.0, suv_max)
    finite = baseline_values[np.isfinite(baseline_values)]
    high = float(np.percentile(finite, 99)) if finite.size else 1.0
    return (0.0, high if high > 0 else 1.0)


def registration_figure(
    baseline: ScanImages,
    followup: ScanImages,
    transform: sitk.Transform,
    metrics: Mapping,
    *,
    patient_id: str,
    baseline_timepoint: str,
    followup_timepoint: str,
    suv_max: float = 15.0,
    path: str | os.PathLike | None = None,
):
    """Draw the alignment QC picture of one registration (see the module docstring).

    Parameters
    ----------
    baseline, followup : ScanImages
        The two scans (:func:`netpet.longitudinal.registration.read_scan_images`).
    transform : SimpleITK.Transform
        Baseline points to follow-up points (the registration's result or its ``.tfm``).
    metrics : mapping
        The registration's ``metrics`` (``registration.json``): ``driver``, ``transform``,
        ``metric``, ``translation_mm``, ``rotation_deg``, ``scale_factors``, ``ncc_before``,
        ``ncc_after``, ``body_centre_mm``, ``problems``.
    patient_id, baseline_timepoint, followup_timepoint : str
        The study ID and time points shown (nothing else identifies the patient).
    suv_max : float
        Upper end of the SUV window of the MIPs and PET slices (SUV).
    path : path-like, optional
        Output PNG, written atomically.

    Returns
    -------
    matplotlib.figure.Figure
    """
    driver = metrics["driver"]
    if driver == "pet":
        fixed_image, moving_image, outside = baseline.pet_suv, followup.pet_suv, 0.0
    else:
        fixed_image, moving_image = baseline.anatomy, followup.anatomy
        outside = -1000.0 if driver == "ct" else 0.0
    centre = np.asarray(metrics["body_centre_mm"], float)
    identity = sitk.Transform()
    rows = {"before": identity, "after": transform}

    panels = {}  # (row, column) -> (rgb, extent)
    for view in ("coronal", "axial"):
        reference = _plane_reference(fixed_image, view, centre)
        base = _plane(fixed_image, identity, reference, view, outside)
        window = _window(driver, base, suv_max)
        for row, row_transform in rows.items():
            moved = _plane(moving_image, row_transform, reference, view, outside)
            panels[(row, view)] = (
                fuse(_normalise(base, window), _normalise(moved, window)),
                _plane_extent(reference, view),
            )
    base_mip = _normalise(mip(baseline.pet_suv, "coronal"), (0.0, suv_max))
    for row, row_transform in rows.items():
        moved = image_to_baseline(followup.pet_suv, row_transform, baseline.pet_suv)
        panels[(row, "mip")] = (
            fuse(base_mip, _normalise(mip(moved, "coronal"), (0.0, suv_max))),
            mip_extent(baseline.pet_suv, "coronal"),
        )

    columns = ("coronal", "axial", "mip")
    widths = []
    for column in columns:
        left, right, bottom, top = panels[("before", column)][1]
        widths.append((right - left) / (top - bottom))
    text = "\n".join(
        textwrap.fill(line, CAPTION_CHARS)
        for line in _caption(metrics, baseline_timepoint, followup_timepoint)
    )
    problems = list(metrics.get("problems") or [])
    warning = "\n".join(textwrap.fill(f"Problem: {p}", CAPTION_CHARS) for p in problems)
    text_lines = text.count("\n") + 1 + (warning.count("\n") + 1 if warning else 0)
    margin_mm, title_mm, label_mm = 2.0, 12.0, 4.0
    text_mm = 3.6 * text_lines + 2.0
    usable_mm = DOUBLE_COLUMN_MM - 2 * margin_mm - label_mm
    panel_height_mm = usable_mm / (sum(widths) * 1.06)
    height_mm = 2 * panel_height_mm * 1.08 + title_mm + text_mm + margin_mm
    with style():
        fig = new_figure(DOUBLE_COLUMN_MM, height_mm)
        grid = fig.add_gridspec(
            2,
            3,
            width_ratios=widths,
            wspace=0.06,
            hspace=0.08,
            left=(margin_mm + label_mm) / DOUBLE_COLUMN_MM,
            right=1 - margin_mm / DOUBLE_COLUMN_MM,
            bottom=(text_mm + margin_mm) / height_mm,
            top=1 - title_mm / height_mm,
        )
        titles = {
            "coronal": f"{driver.upper()} coronal",
            "axial": f"{driver.upper()} axial",
            "mip": "SUV MIP coronal",
        }
        for r, row in enumerate(rows):
            for c, column in enumerate(columns):
                rgb, extent = panels[(row, column)]
                ax = fig.add_subplot(grid[r, c])
                # Axial: anterior (small LPS y) up, so the vertical axis runs downwards.
                origin = "upper" if column == "axial" else "lower"
                shown_extent = (
                    (extent[0], extent[1], extent[3], extent[2]) if column == "axial" else extent
                )
                ax.imshow(
                    rgb,
                    origin=origin,
                    extent=shown_extent,
                    aspect="equal",
                    interpolation="nearest",
                    gid=f"{row}:{column}",
                )
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if r == 0:
                    ax.set_title(titles[column], loc="center", fontsize=7)
                if c == 0:
                    ax.set_ylabel(f"{row} registration", fontsize=7)
        fig.suptitle(
            f"{patient_id}: {followup_timepoint} registered to {baseline_timepoint}",
            fontsize=8,
            fontweight="bold",
        )
        fig.text(
            margin_mm / DOUBLE_COLUMN_MM,
            (text_mm + margin_mm - 1.0) / height_mm,
            text,
            ha="left",
            va="top",
            fontsize=6.5,
            gid="caption",
        )
        if warning:
            fig.text(
                margin_mm / DOUBLE_COLUMN_MM,
                margin_mm / height_mm,
                warning,
                ha="left",
                va="bottom",
                fontsize=6.5,
                color=WARNING_COLOUR,
                gid="problems",
            )
    if path is not None:
        save_figure(fig, path, dpi=QC_DPI)
    return fig


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _caption(metrics: Mapping, baseline_timepoint: str, followup_timepoint: str) -> list[str]:
    """The quality numbers in words, one paragraph per item."""
    translation = ", ".join(f"{v:.1f}" for v in metrics["translation_mm"])
    rotation = ", ".join(f"{v:.2f}" for v in metrics["rotation_deg"])
    scales = ", ".join(f"{v:.3f}" for v in metrics["scale_factors"])
    lines = [
        f"Driver {metrics['driver'].upper()} ({metrics.get('driver_reason', '')}); "
        f"transform {metrics['transform']}, metric {metrics.get('metric', '')}. "
        f"Green: {baseline_timepoint}; magenta: {followup_timepoint}; grey where they agree.",
        f"Translation at the body centre (x, y, z) = ({translation}) mm; rotation "
        f"({rotation}) deg; scale factors ({scales}); NCC {_number(metrics['ncc_before'])} "
        f"before, {_number(metrics['ncc_after'])} after.",
    ]
    if metrics.get("bspline_max_displacement_mm") is not None:
        lines.append(
            f"B-spline: largest displacement {metrics['bspline_max_displacement_mm']:.1f} mm."
        )
    return lines
