"""Kaplan-Meier curves with a numbers-at-risk table under the plot.

:func:`plot_km` draws estimates it is given (so it does not depend on how they were
computed); :func:`km_figure` computes them for the high and low groups of a dichotomised
parameter with :mod:`netpet.stats.survival` and draws them.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator

from netpet.errors import InputError
from netpet.figures import style as st
from netpet.report.format import format_cutpoint, format_hr, format_p
from netpet.report.labels import endpoint, parameter_label
from netpet.stats import survival
from netpet.stats.columns import is_change_column

#: Columns of the Kaplan-Meier estimates :func:`plot_km` draws (one row per group and distinct
#: time, as R's ``summary(survfit(...), censored = TRUE)``).
KM_COLUMNS = ("group", "time", "survival", "n_risk", "n_event", "n_censor")


def default_risk_times(max_time: float, *, max_intervals: int = 8) -> np.ndarray:
    """Times of the numbers-at-risk table (and x ticks): 0 to past ``max_time``.

    Steps of 3 months when ``max_time`` ≤ 12, else the smallest of 6, 12, 24, 48 months that
    gives at most ``max_intervals`` intervals.
    """
    steps = (3.0,) if max_time <= 12 else (6.0, 12.0, 24.0, 48.0)
    step = next((s for s in steps if max_time / s <= max_intervals), steps[-1])
    return np.arange(0.0, np.ceil(max_time / step - 1e-9) * step + 1e-9, step)


def plot_km(
    curves: pd.DataFrame,
    *,
    at_risk: pd.DataFrame | None = None,
    groups: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    risk_labels: Mapping[str, str] | None = None,
    colours: Mapping[str, str] | None = None,
    annotation: str = "",
    title: str = "",
    time_label: str = "Time (months)",
    survival_label: str = "Progression-free survival",
    risk_times: Sequence[float] | None = None,
    ci: bool = False,
    width_mm: float = st.SINGLE_COLUMN_MM,
    height_mm: float = 90.0,
) -> Figure:
    """Draw Kaplan-Meier curves with censor ticks and a numbers-at-risk table.

    Parameters
    ----------
    curves : pandas.DataFrame
        Estimates, columns :data:`KM_COLUMNS` (``time`` in months, ``survival`` in [0, 1],
        counts as R's survfit), optional ``ci_low``/``ci_high`` (drawn when ``ci``).  Each
        group's curve starts at (0, 1) and steps down at each time (right-continuous).
    at_risk : pandas.DataFrame, optional
        Numbers at risk: columns ``group``, ``time``, ``n_risk``.  Default: derived from
        ``curves`` at ``risk_times`` (patients with time ≥ t).
    groups : sequence of str, optional
        Group order (legend and table rows); default: order of first appearance.
    labels, colours : mapping, optional
        Legend text and line colour per group (default: group name, Okabe-Ito colours).
    risk_labels : mapping, optional
        Short group names for the rows of the at-risk table (default: ``labels``).
    annotation : str, optional
        Legend title (log-rank p, HR).
    title : str, optional
        Panel title.
    time_label, survival_label : str, optional
        Axis labels.
    risk_times : sequence of float, optional
        x ticks and times of the at-risk table (default :func:`default_risk_times`).
    ci : bool, optional
        Shade the pointwise 95 % confidence band.
    width_mm, height_mm : float, optional
        Figure size.

    Returns
    -------
    matplotlib.figure.Figure
        Axes 0: the curves (one step Line2D per group, gid ``"km:<group>"``, and censor ticks,
        gid ``"censor:<group>"``); axes 1: the at-risk table (one Text per group and time,
        gid ``"at_risk:<group>"``, x = time).
    """
    missing = [c for c in KM_COLUMNS if c not in curves.columns]
    if missing:
        raise InputError(f"plot_km: Kaplan-Meier table lacks column(s) {missing}")
    if groups is None:
        groups = list(dict.fromkeys(curves["group"].astype(str)))
    labels = dict(labels or {})
    default_colours = [
        st.LOW_COLOUR,
        st.HIGH_COLOUR,
        st.OKABE_ITO["bluish_green"],
        st.OKABE_ITO["orange"],
        st.OKABE_ITO["reddish_purple"],
    ]
    colours = dict(colours or {}) or dict(zip(groups, default_colours, strict=False))
    max_time = float(curves["time"].max())
    if risk_times is None:
        risk_times = default_risk_times(max_time)
    risk_times = np.asarray(risk_times, dtype=float)

    with st.style():
        fig = st.new_figure(width_mm, height_mm, layout="constrained")
        n_groups = len(groups)
        grid = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.45 + 0.28 * n_groups])
        ax = fig.add_subplot(grid[0])
        ax_risk = fig.add_subplot(grid[1], sharex=ax)

        for group in groups:
            g = curves[curves["group"].astype(str) == group].sort_values("time")
            colour = colours.get(group, st.GREY)
            x = np.concatenate([[0.0], g["time"].to_numpy(float)])
            y = np.concatenate([[1.0], g["survival"].to_numpy(float)])
            ax.plot(
                x,
                y,
                drawstyle="steps-post",
                color=colour,
                gid=f"km:{group}",
                label=labels.get(group, group),
                solid_joinstyle="miter",
            )
            if ci and {"ci_low", "ci_high"} <= set(g.columns):
                lo = np.concatenate([[1.0], g["ci_low"].to_numpy(float)])
                hi = np.concatenate([[1.0], g["ci_high"].to_numpy(float)])
                ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.15, lw=0)
            censored = g[g["n_censor"] > 0]
            ax.plot(
                censored["time"],
                censored["survival"],
                linestyle="none",
                marker="|",
                markersize=5,
                markeredgewidth=0.9,
                color=colour,
                gid=f"censor:{group}",
            )

        ax.set_ylim(-0.02, 1.04)
        ax.set_xlim(0, risk_times[-1] if risk_times[-1] >= max_time else max_time * 1.02)
        ax.yaxis.set_major_locator(MultipleLocator(0.25))
        ax.set_xticks(risk_times)
        ax.set_ylabel(survival_label)
        ax.tick_params(labelbottom=True)
        ax.set_xlabel(time_label)
        # Above the plot: never hides a curve.
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.01),
            handlelength=1.6,
            borderaxespad=0.0,
            title=annotation or None,
            alignment="left",
            title_fontsize=7,
        )
        if title:
            fig.suptitle(title, x=0.02, ha="left", fontweight="bold", fontsize=8)

        if at_risk is None:
            at_risk = numbers_at_risk_from_curves(curves, risk_times)
        risk_labels = {g: (risk_labels or labels).get(g, g) for g in groups}
        _draw_risk_table(ax_risk, at_risk, groups, risk_labels, colours, risk_times)
    return fig


def numbers_at_risk_from_curves(curves: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
    """Numbers at risk at ``times`` read off a Kaplan-Meier table.

    At time t the patients at risk are those whose time is ≥ t: the ``n_risk`` of the first
    estimate time ≥ t, or 0 beyond the last time.  (R's ``summary(survfit, times = t)``
    convention.)
    """
    rows = []
    for group, g in curves.groupby("group", sort=False):
        g = g.sort_values("time")
        t = g["time"].to_numpy(float)
        n = g["n_risk"].to_numpy(int)
        for time in times:
            idx = np.searchsorted(t, time, side="left")
            rows.append(
                {
                    "group": str(group),
                    "time": float(time),
                    "n_risk": int(n[idx]) if idx < len(t) else 0,
                }
            )
    return pd.DataFrame(rows, columns=["group", "time", "n_risk"])


def _draw_risk_table(ax, at_risk, groups, labels, colours, risk_times) -> None:
    ax.set_ylim(len(groups) - 0.5, -0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    ax.tick_params(axis="y", left=False, pad=4)
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels([labels[g] for g in groups])
    for tick, group in zip(ax.get_yticklabels(), groups, strict=True):
        tick.set_color(colours.get(group, st.GREY))
    ax.set_title("Number at risk", loc="left", fontsize=7, fontweight="normal", pad=2)
    shown = set(np.round(risk_times, 9))
    for row_index, group in enumerate(groups):
        g = at_risk[at_risk["group"].astype(str) == group]
        for time, n in zip(g["time"], g["n_risk"], strict=True):
            if round(float(time), 9) not in shown:
                continue
            ax.text(
                time,
                row_index,
                str(int(n)),
                ha="center",
                va="center",
                color=colours.get(group, st.GREY),
                gid=f"at_risk:{group}",
            )


def km_figure(
    patients: pd.DataFrame,
    column: str,
    cutpoint: float,
    *,
    time_col: str = "pfs_months",
    event_col: str = "progression",
    cox_row: Mapping | None = None,
    note: str = "",
    risk_times: Sequence[float] | None = None,
    ci: bool = False,
    time_label: str = "Time since start of PRRT (months)",
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """Kaplan-Meier curves of the low (≤ cut-point) and high (> cut-point) group of a parameter.

    Estimates, numbers at risk and the log-rank test come from :mod:`netpet.stats.survival`
    (Kaplan-Meier as R's ``survfit``; log-rank as ``survdiff``).  The hazard ratio printed is
    the one of ``cox_row`` (a dichotomised row of ``cox_univariate.tsv``), when given.

    Small or degenerate cohorts still give a figure: without a cut-point (NaN, e.g. no
    events) the curve of all patients with a value is drawn with the legend title
    ``"<note>: no Kaplan-Meier comparison"``; without any patient with a value the panel says
    so; without events no log-rank p is printed; an inestimable HR prints as such with the
    Cox row's note.

    Parameters
    ----------
    patients : pandas.DataFrame
        ``patients.tsv``.
    column : str
        Parameter column, e.g. ``"wtv_ml_change_interim_pct"``.
    cutpoint : float
        Low group: value ≤ cutpoint (R's maxstat grouping); NaN: no cut-point.
    time_col, event_col : str, optional
        Survival time (months) and event (0/1) columns; they name the y axis
        (:func:`netpet.report.labels.endpoint`: "Progression-free survival" for
        ``pfs_months``, "Overall survival" for ``os_months``).
    cox_row : mapping, optional
        Keys ``hr``, ``ci_low``, ``ci_high``, ``method`` (and ``note``) of the Cox fit of the
        same grouping.
    note : str, optional
        Why there is no cut-point (the ``note`` of ``cutpoints.tsv``), printed when
        ``cutpoint`` is NaN.
    path : path-like, optional
        Write the figure there (PNG/PDF/SVG by suffix).

    Returns
    -------
    fig : matplotlib.figure.Figure
    caption_facts : dict
        ``column``, ``cutpoint``, ``n_low``, ``n_high``, ``events_low``, ``events_high``,
        ``logrank_chisq``, ``logrank_p``, ``hr``, ``hr_ci``, ``excluded`` (patients without a
        value), ``ci_transform``, ``message`` (why a comparison is missing, or "").  Group
        counts are None and the log-rank values NaN when there is no comparison.
    """
    for name in (column, time_col, event_col):
        if name not in patients.columns:
            raise InputError(f"km_figure: patients table has no column {name!r}")
    values = pd.to_numeric(patients[column], errors="coerce")
    keep = values.notna().to_numpy()
    data = patients.loc[keep]
    time, event = survival.check_survival_data(
        pd.to_numeric(data[time_col], errors="coerce"),
        pd.to_numeric(data[event_col], errors="coerce"),
        source=f"patients table, columns {time_col!r} and {event_col!r}",
    )
    name = parameter_label(column)
    facts = {
        "column": column,
        "cutpoint": float(cutpoint),
        "n_low": None,
        "n_high": None,
        "events_low": None,
        "events_high": None,
        "logrank_chisq": float("nan"),
        "logrank_p": float("nan"),
        "hr": None,
        "hr_ci": None,
        "excluded": int((~keep).sum()),
        "ci_transform": "log" if ci else None,
        "message": "",
    }
    if len(time) == 0:
        facts["message"] = f"no patient with a value of {name}: no Kaplan-Meier comparison"
        with st.style():
            fig = st.new_figure(st.SINGLE_COLUMN_MM, 90.0, layout="constrained")
            ax = fig.add_subplot()
            ax.set_axis_off()
            st.draw_message(ax, facts["message"])
        if path is not None:
            st.save_figure(fig, path)
        return fig, facts
    times = risk_times if risk_times is not None else default_risk_times(float(time.max()))
    if not np.isfinite(cutpoint):
        facts["message"] = f"{note or 'no cut-point'}: no Kaplan-Meier comparison"
        groups = ["all"]
        group = np.full(len(time), "all")
        labels = {"all": f"All patients with a {name} value (n = {len(time)})"}
        risk_labels = {"all": "All"}
        colours = {"all": st.GREY}
        annotation = facts["message"]
    else:
        high = values[keep].to_numpy(float) > cutpoint
        groups = ["low", "high"]
        group = np.where(high, "high", "low")
        cut = format_cutpoint(cutpoint)
        unit = " %" if is_change_column(column) else ""
        n_low, n_high = int((~high).sum()), int(high.sum())
        labels = {
            "low": f"{name} ≤ {cut}{unit} (n = {n_low})",
            "high": f"{name} > {cut}{unit} (n = {n_high})",
        }
        risk_labels = {"low": f"≤ {cut}{unit}", "high": f"> {cut}{unit}"}
        colours = {"low": st.LOW_COLOUR, "high": st.HIGH_COLOUR}
        facts.update(
            n_low=n_low,
            n_high=n_high,
            events_low=int(event[~high].sum()),
            events_high=int(event[high].sum()),
        )
        if event.sum() and n_low and n_high:
            test = survival.logrank_test(time, event, group)
            facts.update(logrank_chisq=float(test.chisq), logrank_p=float(test.p))
            p_text = format_p(test.p)
            annotation = (
                f"Log-rank p {p_text}" if p_text.startswith("<") else f"Log-rank p = {p_text}"
            )
        else:
            facts["message"] = (
                "no events: no log-rank test"
                if not event.sum()
                else ("one group is empty: no log-rank test")
            )
            annotation = facts["message"]
        if cox_row is not None:
            facts["hr"] = float(cox_row["hr"])
            if np.isfinite(facts["hr"]):
                facts["hr_ci"] = format_hr(
                    cox_row["hr"], cox_row["ci_low"], cox_row["ci_high"], decimals=2
                )
                firth = " (Firth)" if cox_row.get("method") == "firth_profile" else ""
                annotation += f"\nHR{firth} {facts['hr_ci']}"
            else:
                why = cox_row.get("note")
                why = f": {why}" if isinstance(why, str) and why else ""
                annotation += "\n" + textwrap.fill(f"HR not estimable{why}", 60)
    curves = pd.concat(
        [_km_frame(time[group == g], event[group == g], g) for g in groups if (group == g).any()],
        ignore_index=True,
    )
    at_risk_rows = []
    for g in groups:
        counts = survival.numbers_at_risk(time[group == g], np.asarray(times, float))
        at_risk_rows += [
            {"group": g, "time": float(t), "n_risk": int(n)}
            for t, n in zip(times, counts, strict=True)
        ]
    fig = plot_km(
        curves,
        at_risk=pd.DataFrame(at_risk_rows),
        groups=groups,
        labels=labels,
        risk_labels=risk_labels,
        colours=colours,
        annotation=annotation,
        risk_times=times,
        ci=ci,
        time_label=time_label,
        survival_label=endpoint(time_col, event_col).survival_label,
    )
    if path is not None:
        st.save_figure(fig, path)
    return fig, facts


def _km_frame(time, event, group) -> pd.DataFrame:
    """Kaplan-Meier estimate of one group in the :data:`KM_COLUMNS` layout ("log" CI)."""
    frame = survival.kaplan_meier(time, event, conf_type="log")
    frame.insert(0, "group", group)
    return frame
