"""Tests of netpet.imaging.qc: MIPs and the QC picture's geometry."""

import matplotlib.image
import numpy as np
import pytest
import SimpleITK as sitk

from netpet.imaging.organs import LiverReference
from netpet.imaging.qc import mip, mip_extent, qc_figure


def phantom():
    suv = np.ones((60, 40, 50), dtype=np.float32)  # (z, y, x), 4 mm voxels
    labels = np.zeros(suv.shape, dtype=np.uint16)
    labels[40:46, 10:16, 5:11] = 1
    suv[labels > 0] = 20.0
    suv[10, 30, 40] = 7.0
    image = sitk.GetImageFromArray(suv)
    image.SetSpacing((4.0, 4.0, 4.0))
    image.SetOrigin((-100.0, -80.0, -500.0))
    label_image = sitk.GetImageFromArray(labels)
    label_image.CopyInformation(image)
    return image, label_image


def test_mip_and_extent():
    image, _ = phantom()
    coronal = mip(image, "coronal")
    assert coronal.shape == (60, 50) and coronal[10, 40] == 7.0 and coronal[42, 7] == 20.0
    assert mip(image, "sagittal").shape == (60, 40)
    assert mip_extent(image, "coronal") == (-102.0, 98.0, -502.0, -262.0)
    with pytest.raises(ValueError, match="view"):
        mip(image, "axial")


def red_pixels(png):
    return (png[..., 0] > 0.8) & (png[..., 1] < 0.3) & (png[..., 2] < 0.3)


def test_qc_figure_outline_at_the_lesion(tmp_path):
    image, labels = phantom()
    liver = LiverReference((0.0, -40.0, -400.0), 15.0, np.zeros(1, bool), 8.0, 1.0, 220)
    path = tmp_path / "qc.png"
    figure = qc_figure(image, labels, liver, title="NET01 basal percent_max", path=path)
    png = matplotlib.image.imread(path)
    width, height = figure.get_size_inches() * figure.dpi
    assert png.shape[:2] == (round(height), round(width))
    red = red_pixels(png)
    assert red.sum() > 50
    # The lesion occupies x 5..10, z 40..45 voxels: edges at x -82/-58 mm, z -342/-318 mm.
    coronal = figure.axes[0]
    corners = coronal.transData.transform([(-82.0, -342.0), (-58.0, -318.0)])
    cols = np.sort(corners[:, 0])
    rows = np.sort(png.shape[0] - corners[:, 1])  # display y is up, PNG rows go down
    ys, xs = np.nonzero(red[:, : png.shape[1] // 2])
    assert cols[0] - 4 <= xs.min() and xs.max() <= cols[1] + 4
    assert rows[0] - 4 <= ys.min() and ys.max() <= rows[1] + 4
    # The middle of the lesion is dark (SUV 20 > window), not red.
    centre = coronal.transData.transform([(-70.0, -330.0)])[0]
    pixel = png[int(png.shape[0] - centre[1]), int(centre[0])]
    assert pixel[:3].max() < 0.1
    # The liver sphere is drawn in blue.
    blue = (png[..., 2] > 0.6) & (png[..., 0] < 0.2)
    assert blue.any()


def test_qc_figure_without_lesions_has_no_outline(tmp_path):
    image, labels = phantom()
    empty = sitk.Image(labels.GetSize(), sitk.sitkUInt16)
    empty.CopyInformation(labels)
    qc_figure(image, empty, None, title="NET01 interim", path=tmp_path / "qc.png")
    assert not red_pixels(matplotlib.image.imread(tmp_path / "qc.png")).any()


def test_qc_figure_shows_geometry_warnings(tmp_path):
    image, labels = phantom()
    warning = (
        "PET slice positions deviate up to 1.143 mm from an even grid (tolerance 0.343 mm = 10% "
        "of the 3.429 mm spacing; steps 2.500-4.000 mm): resampled along z by linear "
        "interpolation onto 7 slices at 4.000 mm"
    )
    plain = qc_figure(image, labels, None, title="NET01 basal", path=tmp_path / "plain.png")
    figure = qc_figure(
        image, labels, None, title="NET01 basal", path=tmp_path / "warn.png", warnings=[warning]
    )
    shown = [" ".join(t.get_text().split()) for t in figure.texts]
    assert f"Warning: {warning}" in shown
    assert [t.get_text() for t in plain.texts] == ["NET01 basal"]  # the title only

    def orange(png):
        red, green, blue = png[..., 0], png[..., 1], png[..., 2]
        return (red > 0.7) & (green > 0.25) & (green < 0.5) & (blue < 0.2)

    # Orange text below the views, which moved up to make room for it.
    png = matplotlib.image.imread(tmp_path / "warn.png")
    rows = np.nonzero(orange(png))[0]
    view_bottom_row = png.shape[0] - figure.axes[0].get_window_extent().y0
    assert rows.size > 20 and rows.min() > view_bottom_row
    assert figure.axes[0].get_position().y0 > plain.axes[0].get_position().y0
    assert not orange(matplotlib.image.imread(tmp_path / "plain.png")).any()
