"""Maximum-intensity projections of one patient's PET at every time point, side by side."""

from __future__ import annotations

import os
from collections.abc import Sequence

import SimpleITK as sitk

from netpet.figures.style import DOUBLE_COLUMN_MM, new_figure, save_figure, style
from netpet.imaging.qc import draw_mip, mip_extent


def mip_timepoints_figure(
    suv_images: Sequence[sitk.Image],
    timepoints: Sequence[str],
    *,
    patient_id: str,
    labels: Sequence[sitk.Image | None] | None = None,
    suv_max: float = 15.0,
    path: str | os.PathLike | None = None,
):
    """Coronal and sagittal SUV MIPs of each time point in one row, with one SUV window.

    Parameters
    ----------
    suv_images
        SUV images (axis-aligned, LPS), one per time point, in time order.
    timepoints
        Their labels (titles of the panels).
    patient_id
        The study ID shown in the title (nothing else identifies the patient).
    labels
        Optional tumour label maps on the same grids; their MIP outline is drawn in red.
    suv_max
        Upper end of the inverted grey SUV window, identical for every panel so that uptake
        changes between time points are visible as such.
    path
        If given, the figure is written there (PNG, atomically).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if len(suv_images) != len(timepoints):
        raise ValueError("one SUV image per time point is needed")
    labels = list(labels) if labels is not None else [None] * len(suv_images)
    widths = []
    for image in suv_images:
        for view in ("coronal", "sagittal"):
            left, right, bottom, top = mip_extent(image, view)
            widths.append((right - left) / (top - bottom))
    wspace = 0.04
    title_mm, margin_mm = 14.0, 2.0
    usable_mm = DOUBLE_COLUMN_MM - 2 * margin_mm
    panel_height_mm = usable_mm / (sum(widths) * (1 + wspace * (len(widths) - 1) / len(widths)))
    height_mm = panel_height_mm + title_mm + margin_mm
    with style():
        fig = new_figure(DOUBLE_COLUMN_MM, height_mm)
        grid = fig.add_gridspec(
            1,
            len(widths),
            width_ratios=widths,
            wspace=wspace,
            left=margin_mm / DOUBLE_COLUMN_MM,
            right=1 - margin_mm / DOUBLE_COLUMN_MM,
            bottom=margin_mm / height_mm,
            top=1 - title_mm / height_mm,
        )
        for index, (image, label, timepoint) in enumerate(
            zip(suv_images, labels, timepoints, strict=True)
        ):
            for offset, view in enumerate(("coronal", "sagittal")):
                ax = fig.add_subplot(grid[0, 2 * index + offset])
                draw_mip(ax, image, view, labels=label, suv_max=suv_max)
                ax.set_title(f"{timepoint}, {view}", loc="center", fontsize=7)
                for spine in ax.spines.values():
                    spine.set_visible(False)
        fig.suptitle(
            f"{patient_id}: SUV maximum-intensity projections (window 0-{suv_max:g})",
            fontsize=8,
            fontweight="bold",
        )
    if path is not None:
        save_figure(fig, path)
    return fig
