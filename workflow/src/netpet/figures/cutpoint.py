"""Cut-point search curves: the standardised log-rank statistic over candidate cut-points."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from netpet.errors import InputError
from netpet.figures import style as st
from netpet.report.format import format_cutpoint, format_p
from netpet.report.labels import CUTPOINT_P_LABELS, parameter_label
from netpet.stats.columns import is_change_column


def plot_cutpoint_curve(
    ax,
    curve: pd.DataFrame,
    cutpoint: pd.Series,
    *,
    values: pd.Series | None = None,
    events: pd.Series | None = None,
    corrected_p: str = "p_exact",
) -> dict:
    """Draw the standardised log-rank statistic against the candidate cut-points on ``ax``.

    The statistic is drawn at every candidate (line and dots, gid ``"statistic"``); the
    chosen cut-point (its maximum) as a dashed vertical line (gid ``"chosen"``) with its
    statistic, naive p and search-corrected p.  When the observed ``values`` are given, the
    ranges outside the candidates (cut-points that would leave fewer than ``minprop`` of the
    patients on one side, so were not searched) are shaded grey and the observed values drawn
    as a rug (vermillion: event).  Without a cut-point (NaN, no finite statistic, no
    candidate) the panel shows the rug and ``"<note>: no cut-point search"`` (the ``note`` of
    ``cutpoint``).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    curve : pandas.DataFrame
        Rows of ``cutpoint_curves.tsv`` of one parameter: ``candidate``, ``statistic``.
    cutpoint : pandas.Series
        The row of ``cutpoints.tsv`` of the parameter.
    values, events : pandas.Series, optional
        Observed parameter values and event indicators (0/1) of the patients.
    corrected_p : str, optional
        Column of ``cutpoint`` printed as the search-corrected p.

    Returns
    -------
    dict
        caption facts: ``parameter``, ``cutpoint``, ``statistic``, ``n_candidates``,
        ``candidate_range``, ``p_naive``, ``p_corrected``, ``p_corrected_method``,
        ``message`` (why there is no search, or "").
    """
    curve = curve.sort_values("candidate")
    x = curve["candidate"].to_numpy(float)
    y = curve["statistic"].to_numpy(float)
    cut = float(cutpoint["cutpoint"])
    stat = float(cutpoint["statistic"])
    unit = " (%)" if is_change_column(str(cutpoint["parameter"])) else ""
    xlabel = f"Candidate cut-point: {parameter_label(str(cutpoint['parameter']))}{unit}"
    finite = np.isfinite(y)
    if not finite.any() or not np.isfinite(cut):
        return _no_search(ax, cutpoint, x, values=values, events=events, xlabel=xlabel)
    signed = bool(np.any(y < 0))
    ax.plot(x, y, color=st.LOW_COLOUR, lw=1.0, marker="o", markersize=2.2, gid="statistic")
    ax.axvline(cut, color="black", lw=0.8, ls=(0, (4, 2)), gid="chosen")
    ax.plot(
        [cut],
        [stat],
        marker="o",
        markersize=4.5,
        color=st.HIGH_COLOUR,
        linestyle="none",
        zorder=3,
        gid="maximum",
    )

    lo, hi = float(x.min()), float(x.max())
    if values is not None:
        _rug(ax, values, events, shade=(lo, hi))
    top = max(float(np.nanmax(np.abs(y))), abs(stat))
    ax.set_ylim((-top * 1.15) if signed else 0.0, top * 1.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(
        "Standardised log-rank statistic" if signed else "|Standardised log-rank statistic|"
    )
    p_label = CUTPOINT_P_LABELS.get(corrected_p, corrected_p)
    p_naive = float(cutpoint.get("p_naive", np.nan))
    p_corr = float(cutpoint.get(corrected_p, np.nan))
    text = (
        f"max statistic {stat:.3f}\n"
        f"naive p {_p_text(p_naive)}\n"
        f"corrected p {_p_text(p_corr)} ({p_label.replace('(', '').replace(')', '')})"
    )
    handles = [
        Line2D(
            [],
            [],
            color="black",
            lw=0.8,
            ls=(0, (4, 2)),
            label=f"Cut-point {format_cutpoint(cut)}{' %' if unit else ''}",
        ),
    ]
    if ax.patches:
        handles.append(Patch(color=st.LIGHT_GREY, label="Not searched (minprop)"))
    ax.legend(
        handles=handles,
        title=text,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=len(handles),
        alignment="left",
        title_fontsize=6.5,
        fontsize=6.5,
        borderaxespad=0.2,
        handlelength=1.8,
    )
    return {
        "parameter": str(cutpoint["parameter"]),
        "cutpoint": cut,
        "statistic": stat,
        "n_candidates": int(x.size),
        "candidate_range": [lo, hi],
        "p_naive": p_naive,
        "p_corrected": p_corr,
        "p_corrected_method": p_label,
        "message": "",
    }


def _rug(ax, values, events, *, shade: tuple[float, float] | None) -> None:
    """Observed values as a rug (vermillion: event); outside ``shade`` (not searched) grey."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    keep = np.isfinite(v)
    v = v[keep]
    if v.size == 0:
        return
    pad = 0.03 * (v.max() - v.min() or 1.0)
    ax.set_xlim(v.min() - pad, v.max() + pad)
    left, right = ax.get_xlim()
    if shade is not None:
        lo, hi = shade
        if v.min() < lo:
            ax.axvspan(left, lo, color=st.LIGHT_GREY, lw=0, zorder=0, gid="excluded")
        if v.max() > hi:
            ax.axvspan(hi, right, color=st.LIGHT_GREY, lw=0, zorder=0, gid="excluded")
    e = (
        np.zeros(v.size)
        if events is None
        else pd.to_numeric(events, errors="coerce").to_numpy()[keep]
    )
    colours = np.where(e == 1, st.PROGRESSION_COLOUR, st.GREY)
    ax.scatter(
        v,
        np.zeros_like(v),
        marker="|",
        s=30,
        c=colours,
        linewidths=0.8,
        transform=ax.get_xaxis_transform(),
        clip_on=False,
        zorder=3,
        gid="rug",
    )


def _no_search(ax, cutpoint: pd.Series, candidates, *, values, events, xlabel) -> dict:
    """Panel of a parameter without a cut-point: the observed values and why."""
    note = cutpoint.get("note", "")
    reason = note if isinstance(note, str) and note else "no admissible cut-point"
    message = f"{reason}: no cut-point search"
    if values is not None:
        _rug(ax, values, events, shade=None)
    ax.set_yticks([])
    ax.set_xlabel(xlabel)
    st.draw_message(ax, message)
    return {
        "parameter": str(cutpoint["parameter"]),
        "cutpoint": float("nan"),
        "statistic": float("nan"),
        "n_candidates": int(np.size(candidates)),
        "candidate_range": None,
        "p_naive": float("nan"),
        "p_corrected": float("nan"),
        "p_corrected_method": None,
        "message": message,
    }


def _p_text(p: float) -> str:
    text = format_p(p)
    return text if text.startswith("<") else f"= {text}"


def cutpoint_figure(
    curves: pd.DataFrame,
    cutpoints: pd.DataFrame,
    parameters: Sequence[str] | None = None,
    *,
    patients: pd.DataFrame | None = None,
    event_col: str = "progression",
    corrected_p: str = "p_exact",
    minprop: float | None = None,
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """Cut-point search curves, one panel per parameter (A, B, ...; two per row).

    Parameters
    ----------
    curves : pandas.DataFrame
        ``cutpoint_curves.tsv``: parameter, candidate, statistic.
    cutpoints : pandas.DataFrame
        ``cutpoints.tsv``.
    parameters : sequence of str, optional
        Parameters to draw (default: all of ``cutpoints``).
    patients : pandas.DataFrame, optional
        ``patients.tsv``: adds the rug of observed values and the shaded ranges that the
        ``minprop`` rule kept out of the search.
    event_col : str, optional
        Event column colouring the rug.
    corrected_p : str, optional
        ``cutpoints`` column printed as the search-corrected p.
    minprop : float, optional
        Recorded in the caption facts (the candidates already obey it).
    path : path-like, optional
        Write the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
    caption_facts : dict
        ``minprop``, and per parameter the facts of :func:`plot_cutpoint_curve`.
    """
    for name in ("parameter", "candidate", "statistic"):
        if name not in curves.columns:
            raise InputError(f"cut-point curves table lacks column {name!r}")
    if parameters is None:
        parameters = list(cutpoints["parameter"])
    if not parameters:
        raise InputError("cutpoint_figure: no parameter to draw")
    n = len(parameters)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    width = st.SINGLE_COLUMN_MM if ncols == 1 else st.DOUBLE_COLUMN_MM
    facts: dict = {"minprop": minprop, "corrected_p": corrected_p}
    with st.style():
        fig = st.new_figure(width, 62.0 * nrows, layout="constrained")
        panels = fig.subfigures(nrows, ncols, squeeze=False).ravel()
        for k, parameter in enumerate(parameters):
            ax = panels[k].add_subplot()
            row = cutpoints[cutpoints["parameter"] == parameter]
            if row.empty:
                raise InputError(f"cutpoints table has no row for parameter {parameter!r}")
            values = events = None
            if patients is not None:
                if parameter not in patients.columns:
                    raise InputError(f"patients table has no column {parameter!r}")
                values = patients[parameter]
                events = patients[event_col] if event_col in patients.columns else None
            facts[parameter] = plot_cutpoint_curve(
                ax,
                curves[curves["parameter"] == parameter],
                row.iloc[0],
                values=values,
                events=events,
                corrected_p=corrected_p,
            )
            if n > 1:
                panels[k].text(
                    0.0, 1.0, chr(ord("A") + k), fontweight="bold", fontsize=8, ha="left", va="top"
                )
    if path is not None:
        st.save_figure(fig, path)
    return fig, facts
