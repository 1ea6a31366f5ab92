"""Paper figures: Kaplan-Meier curves, forest plot, waterfall plots, cut-point curves.

Every figure function returns the :class:`matplotlib.figure.Figure` (and, where useful, a
``caption_facts`` dict of the settings and numbers behind it) and writes it atomically when
given a ``path``.  The style (fonts, sizes, Okabe-Ito colours, 300 dpi) lives in
:mod:`netpet.figures.style`.
"""

from netpet.lazy import lazy_exports

# Where each public name lives.  Loaded on first use (PEP 562), so a patient's job drawing
# its lesion figures does not import the statistics (scipy.stats, lifelines: about 1 s).
_SOURCES = {
    "cutpoint": ("cutpoint_figure", "plot_cutpoint_curve"),
    "forest": ("forest_plot",),
    "style": ("save_figure",),
    "survival": ("km_figure", "plot_km"),
    "waterfall": ("plot_waterfall", "waterfall_figure"),
}
__all__, __getattr__ = lazy_exports(__name__, _SOURCES)
