"""Paper figures: Kaplan-Meier curves, forest plot, waterfall plots, cut-point curves.

Every figure function returns the :class:`matplotlib.figure.Figure` (and, where useful, a
``caption_facts`` dict of the settings and numbers behind it) and writes it atomically when
given a ``path``.  The style (fonts, sizes, Okabe-Ito colours, 300 dpi) lives in
:mod:`netpet.figures.style`.
"""

from netpet.figures.cutpoint import cutpoint_figure, plot_cutpoint_curve
from netpet.figures.forest import forest_plot
from netpet.figures.style import save_figure
from netpet.figures.survival import km_figure, plot_km
from netpet.figures.waterfall import plot_waterfall, waterfall_figure

__all__ = [
    "cutpoint_figure",
    "forest_plot",
    "km_figure",
    "plot_cutpoint_curve",
    "plot_km",
    "plot_waterfall",
    "save_figure",
    "waterfall_figure",
]
