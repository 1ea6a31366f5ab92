"""Waterfall plots of per-patient changes (dWTV, dTRE), coloured by progression."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from netpet.errors import InputError
from netpet.figures import style as st
from netpet.report.format import format_cutpoint, format_number
from netpet.report.labels import event_labels as default_event_labels
from netpet.report.labels import parameter_label


def waterfall_order(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """Positions that sort patients by descending value (ties: ascending patient id).

    NaN values are left out.
    """
    frame = pd.DataFrame({"value": values.to_numpy(float), "id": ids.astype(str).to_numpy()})
    frame = frame[np.isfinite(frame["value"])]
    frame = frame.sort_values(["value", "id"], ascending=[False, True], kind="mergesort")
    return frame.index.to_numpy()


def plot_waterfall(
    ax,
    patients: pd.DataFrame,
    column: str,
    *,
    event_col: str = "progression",
    cutpoint: float | None = None,
    clip_pct: float = 100.0,
    show_ids: bool = False,
    event_labels: Mapping[int, str] | None = None,
) -> dict:
    """Draw a waterfall plot of one change column on ``ax``.

    Bars are patients sorted by descending change, coloured by ``event_col`` (event, e.g.
    progression, vermillion; no event blue).  Bars above ``clip_pct`` are cut at it and carry their
    true value as a label and an upward triangle.  The cut-point is a dashed line (none when
    NaN).  Without any patient with a value the panel says so.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    patients : pandas.DataFrame
        ``patients.tsv``: ``patient_id``, ``column`` (%), ``event_col`` (0/1).
    column : str
        Change column, e.g. ``"wtv_ml_change_interim_pct"``.
    event_col : str, optional
        Event indicator colouring the bars.
    cutpoint : float, optional
        Drawn as a dashed horizontal line (low group: change ≤ cut-point).
    clip_pct : float, optional
        Upper end of the y axis in %; larger changes are clipped.
    show_ids : bool, optional
        Print patient ids under the bars.
    event_labels : mapping, optional
        Legend text for event 1 and 0; default from the name of ``event_col``
        (:func:`netpet.report.labels.event_labels`: "Progression", "No progression").

    Returns
    -------
    dict
        caption facts: ``column``, ``n`` (bars), ``excluded`` (patients without a value),
        ``clipped`` (patient ids of clipped bars), ``clip_pct``, ``cutpoint``, ``order``
        (patient ids left to right), ``events`` (bars with event).
    """
    for name in ("patient_id", column, event_col):
        if name not in patients.columns:
            raise InputError(f"waterfall plot: patients table has no column {name!r}")
    values = pd.to_numeric(patients[column], errors="coerce")
    events = pd.to_numeric(patients[event_col], errors="coerce")
    order = waterfall_order(values, patients["patient_id"])
    v = values.loc[order].to_numpy(float)
    e = events.loc[order].to_numpy()
    ids = patients["patient_id"].loc[order].astype(str).to_numpy()
    labels = {**default_event_labels(event_col), **(event_labels or {})}
    colours = np.where(e == 1, st.PROGRESSION_COLOUR, st.NO_PROGRESSION_COLOUR)

    shown = np.minimum(v, clip_pct)
    x = np.arange(len(v))
    bars = ax.bar(x, shown, width=0.8, color=colours, edgecolor="none", gid="waterfall")
    for bar, pid in zip(bars, ids, strict=True):
        bar.set_gid(f"bar:{pid}")
    clipped = v > clip_pct
    lower = min(-100.0, float(np.min(v, initial=0.0)) * 1.05)
    span = clip_pct - lower
    for xi, value in zip(x[clipped], v[clipped], strict=True):
        ax.plot(
            [xi],
            [clip_pct + 0.025 * span],
            marker="^",
            markersize=3.5,
            color="black",
            linestyle="none",
            clip_on=False,
        )
        ax.text(
            xi,
            clip_pct + 0.06 * span,
            f"+{format_number(value, decimals=0)}",
            ha="center",
            va="bottom",
            fontsize=6,
            rotation=90,
            clip_on=False,
        )
    ax.axhline(0.0, color="black", lw=0.6)
    handles = [
        Patch(color=st.PROGRESSION_COLOUR, label=labels[1]),
        Patch(color=st.NO_PROGRESSION_COLOUR, label=labels[0]),
    ]
    if cutpoint is not None and np.isfinite(cutpoint):
        line = ax.axhline(cutpoint, color="black", lw=0.8, ls=(0, (4, 2)), gid="cutpoint")
        line.set_label(f"Cut-point {format_cutpoint(cutpoint)} %")
        handles.append(line)
    ax.set_xlim(-0.7, max(len(v), 1) - 0.3)
    ax.set_ylim(lower, clip_pct)
    if v.size == 0:
        st.draw_message(ax, f"no patient with a value of {parameter_label(column)}")
    ax.set_ylabel(f"{parameter_label(column)} (%)")
    ax.spines["bottom"].set_visible(False)
    if show_ids:
        ax.set_xticks(x)
        ax.set_xticklabels(ids, rotation=90, fontsize=5.5)
        ax.tick_params(axis="x", length=0)
    else:
        ax.set_xticks([])
        ax.set_xlabel("Patients")
    # Bars fall from left to right, so the empty corner is upper right when most changes are
    # negative and lower left otherwise; an opaque box keeps the cut-point line off the text.
    mostly_negative = v.size > 0 and float(np.median(v)) < 0
    ax.legend(
        handles=handles,
        loc="upper right" if mostly_negative else "lower left",
        frameon=True,
        facecolor="white",
        edgecolor="none",
        framealpha=1.0,
        borderaxespad=0.3,
        handlelength=1.5,
    )
    return {
        "column": column,
        "n": len(v),
        "excluded": int(values.isna().sum()),
        "clipped": [str(i) for i in ids[clipped]],
        "clip_pct": clip_pct,
        "cutpoint": None if cutpoint is None else float(cutpoint),
        "order": [str(i) for i in ids],
        "events": int(np.sum(e == 1)),
    }


def waterfall_figure(
    patients: pd.DataFrame,
    columns: Sequence[str],
    *,
    cutpoints: pd.DataFrame | None = None,
    event_col: str = "progression",
    clip_pct: float = 100.0,
    show_ids: bool = False,
    width_mm: float = st.SINGLE_COLUMN_MM,
    panel_height_mm: float = 55.0,
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """Waterfall plots of several change columns, one panel each (A, B, ...).

    Parameters
    ----------
    patients : pandas.DataFrame
        ``patients.tsv``.
    columns : sequence of str
        Change columns, e.g. ``["wtv_ml_change_interim_pct", "tre_change_interim_pct"]``.
    cutpoints : pandas.DataFrame, optional
        ``cutpoints.tsv``; the cut-point of each column is drawn when present.
    event_col, clip_pct, show_ids
        See :func:`plot_waterfall`.
    path : path-like, optional
        Write the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
    caption_facts : dict
        Per column the facts of :func:`plot_waterfall`.
    """
    if not columns:
        raise InputError("waterfall_figure: no column given")
    cuts = {}
    if cutpoints is not None:
        cuts = dict(zip(cutpoints["parameter"], cutpoints["cutpoint"], strict=True))
    facts = {}
    with st.style():
        fig = st.new_figure(width_mm, panel_height_mm * len(columns), layout="constrained")
        axes = fig.subplots(len(columns), 1, squeeze=False)[:, 0]
        for k, (ax, column) in enumerate(zip(axes, columns, strict=True)):
            facts[column] = plot_waterfall(
                ax,
                patients,
                column,
                event_col=event_col,
                cutpoint=cuts.get(column),
                clip_pct=clip_pct,
                show_ids=show_ids,
            )
            if len(columns) > 1:
                ax.set_title(chr(ord("A") + k), loc="left", x=-0.16)
    if path is not None:
        st.save_figure(fig, path)
    return fig, facts
