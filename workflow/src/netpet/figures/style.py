"""One look for every figure: fonts, sizes, colours (colour-blind safe) and saving.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state, no
backend switch): PNG output goes through the Agg renderer.  Sizes follow journal columns
(single column 85 mm, double column 174 mm); text is 7-8 pt DejaVu Sans, the font shipped with
matplotlib, so that the same input gives the same pixels on every machine.
"""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import Figure

from netpet import io
from netpet.errors import InputError

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colour of the high group of a dichotomised parameter (value > cut-point) and of patients
#: who progressed; LOW_COLOUR: the low group / no progression.
HIGH_COLOUR = OKABE_ITO["vermillion"]
LOW_COLOUR = OKABE_ITO["blue"]
PROGRESSION_COLOUR = HIGH_COLOUR
NO_PROGRESSION_COLOUR = LOW_COLOUR
GREY = "#7F7F7F"
LIGHT_GREY = "#E5E5E5"

MM_PER_INCH = 25.4
SINGLE_COLUMN_MM = 85.0
DOUBLE_COLUMN_MM = 174.0

#: Resolution of raster output.
DPI = 300

RC_PARAMS = {
    "font.family": "DejaVu Sans",
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "lines.linewidth": 1.2,
    "patch.linewidth": 0.5,
    "axes.prop_cycle": cycler(color=[*list(OKABE_ITO.values())[1:], "#000000"]),
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "path",
    "svg.hashsalt": "netpet",
    "mathtext.default": "regular",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which figures are built and saved with the netpet style."""
    with mpl.rc_context(RC_PARAMS):
        yield


def draw_message(ax, text: str, *, width_chars: int = 48) -> None:
    """Write ``text`` in the middle of ``ax`` (gid ``"message"``): why a panel shows no result.

    Used where small or degenerate cohorts leave nothing to draw (no events, no cut-point,
    no patient with a value), so that the figure is still produced and says why.
    """
    ax.text(
        0.5,
        0.5,
        textwrap.fill(text, width_chars),
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=GREY,
        gid="message",
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 2.0},
    )


def new_figure(width_mm: float, height_mm: float, **kwargs) -> Figure:
    """Create a Figure of the given size in millimetres (call inside :func:`style`)."""
    return Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), **kwargs)


_METADATA = {
    ".png": {"Software": None},
    ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    ".svg": {"Creator": None, "Date": None},
}


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = DPI) -> Path:
    """Write ``fig`` atomically to ``path`` (PNG, PDF or SVG by suffix), byte-reproducibly.

    Creation dates and software versions are left out of the file metadata so that the same
    figure gives the same bytes.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _METADATA:
        raise InputError(f"figure path {path}: unsupported suffix {suffix!r}; use .png, .pdf, .svg")
    with style(), io.atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix[1:], dpi=dpi, metadata=_METADATA[suffix])
    return path
