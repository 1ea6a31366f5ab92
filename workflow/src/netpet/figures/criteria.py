"""Swimmer plot of the response criteria (PERCIST, EORTC, SST-TV, ...) at every follow-up.

Input is the criteria table (``results/stats/criteria.tsv``): ``patient_id``, ``timepoint``
(a follow-up) and one column per criterion (:data:`netpet.stats.columns.RESPONSE_CRITERIA`)
holding CR, PR, SD or PD (empty: not assessed), STUDY.md section 2; and the patients table
with the survival time and event of each patient.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from netpet.errors import InputError
from netpet.figures import style as st
from netpet.figures.longitudinal import (
    check_columns,
    check_timepoints,
    maybe_save,
    message_figure,
    scan_months,
)
from netpet.report.labels import endpoint
from netpet.stats.columns import RESPONSE_CLASSES, RESPONSE_CRITERIA

#: Printed names of the criteria (columns :data:`netpet.stats.columns.RESPONSE_CRITERIA`).
CRITERION_LABELS = {
    "percist": "PERCIST",
    "eortc": "EORTC",
    "sst_tv": "SST-TV",
    "sstr_density": "SSTR density",
    "recist": "RECIST 1.1",
    "choi": "Choi",
}

#: Cells of a criterion column that mean "not assessed" (after upper-casing): empty, NE
#: (not evaluable).
NOT_ASSESSED = ("", "NE", "NAN", "<NA>", "NONE")

#: Colour and marker of each class (colour and shape both say it: colour-blind and greyscale
#: safe): blue / sky-blue circles and down-triangles for response, grey squares for stable,
#: vermillion up-triangles for progression.
RESPONSE_COLOURS = {
    "CR": st.OKABE_ITO["blue"],
    "PR": st.OKABE_ITO["sky_blue"],
    "SD": st.GREY,
    "PD": st.OKABE_ITO["vermillion"],
}
RESPONSE_MARKERS = {"CR": "o", "PR": "v", "SD": "s", "PD": "^"}
RESPONSE_NAMES = {
    "CR": "complete response",
    "PR": "partial response",
    "SD": "stable disease",
    "PD": "progressive disease",
}


def response_classes(values: pd.Series, what: str) -> pd.Series:
    """Normalise a criterion column to CR/PR/SD/PD or None (not assessed).

    Raises :class:`InputError` naming the column for any other value.
    """
    text = values.astype(str).str.strip().str.upper()
    text = text.where(~text.isin(NOT_ASSESSED) & values.notna(), None)
    bad = sorted(set(text.dropna()) - set(RESPONSE_CLASSES))
    if bad:
        raise InputError(
            f"{what}: unknown response class(es) {bad}; allowed {list(RESPONSE_CLASSES)} "
            "or empty (not assessed)"
        )
    return text


def swimmer_figure(
    criteria: pd.DataFrame,
    patients: pd.DataFrame,
    timepoints: Sequence[str],
    *,
    scan_times: Mapping[str, float] | pd.DataFrame | None = None,
    criteria_columns: Sequence[str] | None = None,
    time_col: str = "pfs_months",
    event_col: str = "progression",
    ncols: int = 3,
    width_mm: float = st.DOUBLE_COLUMN_MM,
    row_height_mm: float = 3.2,
    time_label: str = "Months since baseline",
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """Swimmer plot: one bar per patient, the response per criterion at each follow-up.

    One panel per criterion (up to ``ncols`` per row), patients in the same rows in every
    panel, sorted by bar length (longest on top; ties by patient id).  The bar runs from 0 to
    the patient's survival time (``time_col``), or, without one, to the last follow-up scan
    (hatched).  A black bar end marks an event (``event_col`` = 1), a grey arrow head a
    censored time.  The response class of each follow-up sits at the scan's time (colour and
    shape: :data:`RESPONSE_COLOURS`, :data:`RESPONSE_MARKERS`).

    Parameters
    ----------
    criteria : pandas.DataFrame
        ``criteria.tsv``: ``patient_id``, ``timepoint`` (follow-ups), criterion columns.
    patients : pandas.DataFrame
        ``patients.tsv``: ``patient_id``, ``time_col`` (months), ``event_col`` (0/1).
    timepoints : sequence of str
        The study's time points, baseline first.
    scan_times : mapping or pandas.DataFrame, optional
        Months since baseline of each follow-up: a mapping (same schedule for every patient)
        or a table per patient (:func:`netpet.figures.longitudinal.scan_months`).  Default:
        the criteria table's own ``months_from_baseline`` or ``days_from_basal`` column.
    criteria_columns : sequence of str, optional
        Criteria to show (panels); default: those of
        :data:`netpet.stats.columns.RESPONSE_CRITERIA` in the table.
    time_col, event_col : str, optional
        Survival time and event columns of ``patients``.
    ncols : int, optional
        Panels per row.
    width_mm, row_height_mm : float, optional
        Figure width and height per patient row.
    time_label : str, optional
        x-axis label.
    path : path-like, optional
        Write the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per criterion; in each, bars (Rectangle gid ``"bar:<patient_id>"``, width =
        months), event ends (Line2D gid ``"event"``), censored ends (``"censored"``) and per
        class a Line2D gid ``"response:<criterion>:<class>"`` (x months, y patient row, row 0
        at the top).
    caption_facts : dict
        ``order`` (patient ids top to bottom), ``bar_months``, ``bar_source`` (patient ->
        ``time_col`` or "last follow-up" or "none"), ``n_events``, ``criteria``,
        ``counts`` (criterion -> class -> assessments), ``not_assessed`` (criterion ->
        follow-ups without a class), ``size_mm``, ``message``.
    """
    check_columns(criteria, ("patient_id", "timepoint"), "criteria table")
    check_columns(patients, ("patient_id", time_col, event_col), "patients table")
    followups = list(timepoints[1:])
    check_timepoints(criteria["timepoint"], followups, "criteria table")
    keys = criteria[["patient_id", "timepoint"]].astype(str)
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].iloc[0].tolist()
        raise InputError(f"criteria table: more than one row for patient/time point {dup}")
    if criteria_columns is None:
        criteria_columns = [c for c in RESPONSE_CRITERIA if c in criteria.columns]
    check_columns(criteria, criteria_columns, "criteria table")
    classes = {
        c: response_classes(criteria[c], f"criteria table, column {c!r}") for c in criteria_columns
    }
    if scan_times is None and {"months_from_baseline", "days_from_basal"} & set(criteria):
        scan_times = criteria
    if scan_times is None and not criteria.empty:
        raise InputError(
            "swimmer plot: the time of each follow-up scan is needed; pass scan_times (a "
            "mapping time point -> months, or a table with patient_id, timepoint and "
            "months_from_baseline or days_from_basal)"
        )

    ids = sorted(set(patients["patient_id"].astype(str)) | set(keys["patient_id"]))
    patient_ids = patients["patient_id"].astype(str)
    if patient_ids.duplicated().any():
        raise InputError(
            f"patients table: patient(s) {sorted(set(patient_ids[patient_ids.duplicated()]))} "
            "have more than one row"
        )
    survival_time = pd.to_numeric(patients[time_col], errors="coerce").set_axis(patient_ids)
    survival_event = pd.to_numeric(patients[event_col], errors="coerce").set_axis(patient_ids)
    months = {}
    for pid in ids:
        own = set(keys["timepoint"][keys["patient_id"] == pid])
        scans = [t for t in followups if t in own]
        months[pid] = scan_months(scan_times, scans, patient_id=pid) if scans else {}
    bar, source, event = {}, {}, {}
    for pid in ids:
        t = float(survival_time.get(pid, math.nan))
        e = survival_event.get(pid, math.nan)
        if np.isfinite(t):
            bar[pid], source[pid], event[pid] = t, time_col, e == 1
        elif months[pid]:
            bar[pid], source[pid], event[pid] = max(months[pid].values()), "last follow-up", False
        else:
            bar[pid], source[pid], event[pid] = 0.0, "none", False
    order = sorted(ids, key=lambda p: (-bar[p], p))
    row = {p: i for i, p in enumerate(order)}

    counts, not_assessed = {}, {}
    for c in criteria_columns:
        values = classes[c]
        counts[c] = {k: int((values == k).sum()) for k in RESPONSE_CLASSES}
        not_assessed[c] = int(values.isna().sum())
    n_panels = max(len(criteria_columns), 1)
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    panel_mm = max(len(order), 1) * row_height_mm + 14.0
    height_mm = nrows * panel_mm + 16.0
    facts = {
        "order": order,
        "bar_months": bar,
        "bar_source": source,
        "n_events": int(sum(event.values())),
        "criteria": list(criteria_columns),
        "counts": counts,
        "not_assessed": not_assessed,
        "size_mm": (width_mm, height_mm),
        "message": "",
    }
    if not order:
        facts["message"] = "no patient: nothing to draw"
        facts["size_mm"] = (width_mm, 60.0)
        return maybe_save(message_figure(facts["message"], width_mm, 60.0), path), facts
    if not criteria_columns:
        facts["message"] = "no response criterion in the criteria table"

    x_max = (
        max(
            max(bar.values()),
            max((max(m.values(), default=0.0) for m in months.values()), default=0.0),
            1.0,
        )
        * 1.06
    )
    y = np.array([row[p] for p in order], dtype=float)
    lengths = np.array([bar[p] for p in order])
    events = np.array([event[p] for p in order])
    has_time = np.array([source[p] == time_col for p in order])
    event_name = endpoint(time_col, event_col).event
    with st.style():
        fig = st.new_figure(width_mm, height_mm, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        panels = list(criteria_columns) or [None]
        for k, ax in enumerate(axes.flat):
            if k >= len(panels):
                ax.set_visible(False)
                continue
            criterion = panels[k]
            bars = ax.barh(y, lengths, height=0.62, color=st.LIGHT_GREY, edgecolor="none")
            for rect, pid, timed in zip(bars, order, has_time, strict=True):
                rect.set_gid(f"bar:{pid}")
                if not timed:
                    rect.set_hatch("////")
                    rect.set_edgecolor(st.GREY)
                    rect.set_linewidth(0.0)
            ax.plot(
                lengths[events],
                y[events],
                ls="none",
                marker="|",
                markersize=6,
                markeredgewidth=1.4,
                color="black",
                gid="event",
            )
            censored = has_time & ~events
            ax.plot(
                lengths[censored],
                y[censored],
                ls="none",
                marker=">",
                markersize=3,
                color=st.GREY,
                gid="censored",
            )
            if criterion is None:
                ax.set_title(facts["message"], fontsize=7, fontweight="normal", color=st.GREY)
            else:
                values = classes[criterion]
                assessed = values.notna().to_numpy()
                frame = pd.DataFrame(
                    {
                        "pid": keys["patient_id"].to_numpy()[assessed],
                        "tp": keys["timepoint"].to_numpy()[assessed],
                        "cls": values.to_numpy()[assessed],
                    }
                )
                for cls in RESPONSE_CLASSES:
                    sel = frame[frame["cls"] == cls]
                    ax.plot(
                        [months[p][t] for p, t in zip(sel["pid"], sel["tp"], strict=True)],
                        [float(row[p]) for p in sel["pid"]],
                        ls="none",
                        marker=RESPONSE_MARKERS[cls],
                        markersize=3.6,
                        markeredgewidth=0.5,
                        markeredgecolor="white",
                        color=RESPONSE_COLOURS[cls],
                        gid=f"response:{criterion}:{cls}",
                    )
                title = CRITERION_LABELS.get(criterion, criterion)
                if not assessed.any():
                    title += " (not assessed)"
                ax.set_title(title, loc="left")
            ax.set_ylim(len(order) - 0.5, -0.5)
            ax.set_xlim(0.0, x_max)
            ax.tick_params(axis="y", length=0, labelsize=6)
            ax.set_yticks(y, order)
            if k // ncols == nrows - 1 or k + ncols >= len(panels):
                ax.set_xlabel(time_label)
                ax.tick_params(labelbottom=True)
        handles = [
            Line2D(
                [],
                [],
                ls="none",
                marker=RESPONSE_MARKERS[c],
                color=RESPONSE_COLOURS[c],
                markersize=4,
                label=f"{c} ({RESPONSE_NAMES[c]})",
            )
            for c in RESPONSE_CLASSES
        ]
        handles += [
            Line2D(
                [],
                [],
                ls="none",
                marker="|",
                markersize=6,
                markeredgewidth=1.4,
                color="black",
                label=event_name[0].upper() + event_name[1:],
            ),
            Line2D([], [], ls="none", marker=">", markersize=3, color=st.GREY, label="Censored"),
        ]
        if not has_time.all():
            handles.append(
                Patch(
                    facecolor=st.LIGHT_GREY,
                    hatch="////",
                    edgecolor=st.GREY,
                    linewidth=0.0,
                    label=f"no {time_col}: to last follow-up",
                )
            )
        fig.legend(handles=handles, loc="outside lower center", ncols=4, handlelength=1.2)
    return maybe_save(fig, path), facts
