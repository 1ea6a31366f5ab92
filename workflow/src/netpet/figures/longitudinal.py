"""Lesion-level response figures: lesion tracks over time, response categories, lesion MIPs.

Inputs are the tables of :mod:`netpet.longitudinal` (STUDY.md sections 2 and 3.6):

- ``tracks.tsv``: one row per track and time point: ``patient_id``, ``track_id``,
  ``timepoint``, ``lesion_id`` (empty when the lesion is absent), ``suvtotal`` (SUV x voxels;
  NaN when absent), ``status`` (:data:`netpet.longitudinal.tracks.STATUSES`), ``category``
  (:data:`CATEGORY_ORDER`, or ``baseline`` at the baseline scan);
- ``patients.tsv`` of the longitudinal step (response heterogeneity): per patient and
  follow-up ``n_<category>`` counts and ``heterogeneous``.

:func:`track_figure` draws one patient's tracks, :func:`response_summary_figure` the
category counts of the cohort and of each patient at the first follow-up,
:func:`lesion_mip_figure` one patient's lesions on maximum-intensity projections.  Each returns
the :class:`~matplotlib.figure.Figure` and a dict of the numbers drawn (caption facts), and
writes the figure atomically and byte-reproducibly when given a ``path``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import SimpleITK as sitk
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from netpet.errors import InputError
from netpet.figures import style as st
from netpet.imaging import qc
from netpet.imaging.grid import check_same_grid
from netpet.longitudinal.tracks import BASELINE_CATEGORY, STATUSES

#: Display order of the response categories of :data:`netpet.longitudinal.tracks.CATEGORIES`
#: (STUDY.md section 2: by the change of SUVtotal versus baseline, -30 % / +30 %): best to
#: worst, so stacked bars stack them in this order from the bottom.
CATEGORY_ORDER = ("disappearing", "decreasing", "stable", "increasing", "new")

#: One colour per category, Okabe-Ito hues: blues for response, grey for stable, orange and
#: vermillion for progression; baseline lesions reddish purple (black would vanish on the
#: dark lesions of an inverted-grey MIP).  Okabe-Ito's bluish green is left out: under
#: deuteranopia it is nearly the grey of "stable".
CATEGORY_COLOURS = {
    "disappearing": st.OKABE_ITO["sky_blue"],
    "decreasing": st.OKABE_ITO["blue"],
    "stable": st.GREY,
    "increasing": st.OKABE_ITO["orange"],
    "new": st.OKABE_ITO["vermillion"],
    BASELINE_CATEGORY: st.OKABE_ITO["reddish_purple"],
}

#: Markers of track events in :func:`track_figure` and their legend text.
EVENT_MARKERS = {
    "new": ("^", "new lesion"),
    "disappeared": ("x", "disappeared"),
    "split": ("D", "split"),
    "merged": ("s", "merged"),
}

#: Days per month for scan times given in days (``days_from_basal``): 365.25 / 12.
DAYS_PER_MONTH = 365.25 / 12

#: Columns of ``tracks.tsv`` the figures read.
TRACK_INPUT_COLUMNS = ("patient_id", "track_id", "timepoint", "suvtotal", "status", "category")
#: Columns of the response heterogeneity table the figures read.
HETEROGENEITY_INPUT_COLUMNS = (
    "patient_id",
    "timepoint",
    *(f"n_{c}" for c in CATEGORY_ORDER),
    "heterogeneous",
)


# --- shared input handling ---------------------------------------------------------------------


def check_columns(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming the table and the columns it lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {missing}; it has {list(table.columns)}: "
            "write it with the step that produces it"
        )


def check_timepoints(values: pd.Series, timepoints: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` when ``values`` holds time points not in ``timepoints``."""
    unknown = sorted(set(values.astype(str)) - set(timepoints))
    if unknown:
        raise InputError(
            f"{what}: column 'timepoint' has {unknown}, not among the study's time points "
            f"{list(timepoints)}: add them to the config's time points or drop those rows"
        )


def scan_months(
    times: Mapping[str, float] | pd.DataFrame | None,
    timepoints: Sequence[str],
    *,
    patient_id: str | None = None,
) -> dict[str, float] | None:
    """Months since the baseline scan of each time point (of one patient).

    Parameters
    ----------
    times : mapping, pandas.DataFrame or None
        Either a mapping time point -> months (one schedule for every patient), or a table
        with ``patient_id``, ``timepoint`` and ``months_from_baseline`` or ``days_from_basal``
        (days / :data:`DAYS_PER_MONTH`).  None: unknown.
    timepoints : sequence of str
        The time points that need a time.
    patient_id : str, optional
        The patient whose rows of a table are used (needed with a table).

    Returns
    -------
    dict or None
        Time point -> months for every time point of ``timepoints``; None when ``times`` is.
    """
    if times is None:
        return None
    if isinstance(times, pd.DataFrame):
        if "months_from_baseline" in times.columns:
            column, scale = "months_from_baseline", 1.0
        elif "days_from_basal" in times.columns:
            column, scale = "days_from_basal", 1.0 / DAYS_PER_MONTH
        else:
            raise InputError(
                "scan times table needs a column 'months_from_baseline' or 'days_from_basal'; "
                f"it has {list(times.columns)}"
            )
        check_columns(times, ("patient_id", "timepoint"), "scan times table")
        rows = times[times["patient_id"].astype(str) == str(patient_id)]
        values = pd.to_numeric(rows[column], errors="coerce") * scale
        mapping = dict(zip(rows["timepoint"].astype(str), values, strict=True))
    else:
        mapping = {str(k): float(v) for k, v in times.items()}
    missing = [t for t in timepoints if not np.isfinite(mapping.get(t, np.nan))]
    if missing:
        who = f" of patient {patient_id}" if patient_id is not None else ""
        raise InputError(
            f"scan times{who}: no time (months since baseline) for time point(s) {missing}: "
            "give every scan a time, or leave the scan times out to space scans evenly"
        )
    return {t: float(mapping[t]) for t in timepoints}


def _as_bool(values: pd.Series, what: str) -> np.ndarray:
    """True/False from a bool column or its TSV spelling (True/False, 1/0, yes/no)."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype(str).str.strip().str.lower()
    true, false = {"true", "1", "1.0", "yes"}, {"false", "0", "0.0", "no", "", "nan", "<na>"}
    bad = sorted(set(text) - true - false)
    if bad:
        raise InputError(f"{what}: values {bad} are not true/false; write True or False")
    return text.isin(true).to_numpy()


def _check_values(values: pd.Series, allowed: Sequence[str], what: str) -> None:
    bad = sorted(set(values.dropna().astype(str)) - set(allowed))
    if bad:
        raise InputError(f"{what}: unknown value(s) {bad}; allowed: {list(allowed)}")


def message_figure(text: str, width_mm: float, height_mm: float) -> Figure:
    """A figure of one empty panel that says why there is nothing to draw."""
    with st.style():
        fig = st.new_figure(width_mm, height_mm, layout="constrained")
        ax = fig.add_subplot()
        ax.set_axis_off()
        st.draw_message(ax, text)
    return fig


def maybe_save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    """Write ``fig`` with :func:`netpet.figures.style.save_figure` when ``path`` is given."""
    if path is not None:
        st.save_figure(fig, path)
    return fig


# --- 1. one patient's lesion tracks ------------------------------------------------------------


def last_categories(tracks: pd.DataFrame, timepoints: Sequence[str]) -> dict[int, str]:
    """Category of each track at its last time point with a category.

    Rows are ordered by ``timepoints``; a track seen at the baseline scan only keeps
    :data:`BASELINE_CATEGORY`.
    """
    order = {t: i for i, t in enumerate(timepoints)}
    rows = tracks.assign(_order=tracks["timepoint"].astype(str).map(order))
    rows = rows[rows["category"].notna() & (rows["category"].astype(str) != "")]
    rows = rows.sort_values(["track_id", "_order"], kind="mergesort")
    last = rows.groupby("track_id", sort=True)["category"].last()
    return {int(k): str(v) for k, v in last.items()}


def track_figure(
    tracks: pd.DataFrame,
    timepoints: Sequence[str],
    *,
    patient_id: str,
    scan_times: Mapping[str, float] | pd.DataFrame | None = None,
    log_y: bool = True,
    width_mm: float = st.SINGLE_COLUMN_MM,
    height_mm: float = 85.0,
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """SUVtotal of each lesion track of one patient over time, coloured by its last category.

    One line per track through the time points where the lesion is present; where it is
    absent the line drops (dotted) to an "absent" floor (0 on a linear axis; a third of the
    smallest SUVtotal on a log axis).  Markers: triangle where a lesion is new, cross where it
    disappeared, diamond / square where it split / merged.  The colour is the track's category
    at its last follow-up (:data:`CATEGORY_COLOURS`).

    Parameters
    ----------
    tracks : pandas.DataFrame
        The rows of ``tracks.tsv`` of this patient (columns :data:`TRACK_INPUT_COLUMNS`).
    timepoints : sequence of str
        The study's time points in order, baseline first.
    patient_id : str
        The study ID (title; the only identifier shown).
    scan_times : mapping or pandas.DataFrame, optional
        Months since baseline per time point (see :func:`scan_months`); default: scans evenly
        spaced (x = index in ``timepoints``).
    log_y : bool, optional
        Logarithmic SUVtotal axis (SUVtotal spans orders of magnitude).
    width_mm, height_mm : float, optional
        Figure size.
    path : path-like, optional
        Write the figure there (PNG/PDF/SVG by suffix).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Axes 0 holds per track a Line2D with gid ``"track:<track_id>"`` (x: months or index,
        y: SUVtotal, NaN where absent), the dotted ``"track_absent:<track_id>"`` when the
        lesion is absent somewhere, and event markers ``"<status>:<track_id>"``.
    caption_facts : dict
        ``patient_id``, ``n_tracks``, ``categories`` (track id -> last category), ``counts``
        (category -> tracks), ``timepoints`` (those drawn), ``x`` (time point -> position),
        ``x_unit`` ("months" or "scan"), ``log_y``, ``message`` (why the plot is empty or
        has no follow-up, or "").
    """
    check_columns(tracks, TRACK_INPUT_COLUMNS, "tracks table")
    others = sorted(set(tracks["patient_id"].astype(str)) - {str(patient_id)})
    if others:
        raise InputError(
            f"track_figure draws one patient ({patient_id}); the tracks given also hold "
            f"{others}: pass only this patient's rows"
        )
    check_timepoints(tracks["timepoint"], timepoints, f"tracks table of {patient_id}")
    _check_values(tracks["status"], STATUSES, f"tracks table of {patient_id}, column 'status'")
    _check_values(
        tracks["category"].replace("", np.nan),
        (*CATEGORY_ORDER, BASELINE_CATEGORY),
        f"tracks table of {patient_id}, column 'category'",
    )
    suvtotal = pd.to_numeric(tracks["suvtotal"], errors="coerce").to_numpy(float)
    present = np.isfinite(suvtotal) & (suvtotal > 0)
    seen = set(tracks["timepoint"].astype(str))
    drawn = [t for t in timepoints if t in seen]
    months = scan_months(scan_times, drawn, patient_id=patient_id)
    index = {t: float(i) for i, t in enumerate(timepoints)}
    x_of = months if months is not None else {t: index[t] for t in drawn}
    categories = last_categories(tracks, timepoints)
    counts = {c: sum(v == c for v in categories.values()) for c in CATEGORY_COLOURS}
    facts = {
        "patient_id": str(patient_id),
        "n_tracks": int(tracks["track_id"].nunique()),
        "categories": categories,
        "counts": {c: n for c, n in counts.items() if n},
        "timepoints": drawn,
        "x": dict(x_of),
        "x_unit": "months" if months is not None else "scan",
        "log_y": bool(log_y),
        "message": "",
    }
    title = f"{patient_id}: lesion tracks (n = {facts['n_tracks']})"
    if not present.any():
        facts["message"] = (
            "no lesion tracks: no lesion segmented at any time point"
            if tracks.empty
            else "no lesion present at any time point"
        )
        fig = message_figure(facts["message"], width_mm, height_mm)
        fig.suptitle(title, x=0.02, ha="left", fontsize=8, fontweight="bold")
        return maybe_save(fig, path), facts
    if len(drawn) < 2:
        facts["message"] = "one time point only: no follow-up, tracks are not categorised"

    floor = float(suvtotal[present].min()) / 3.0 if log_y else 0.0
    frame = tracks.assign(
        _x=tracks["timepoint"].astype(str).map(x_of),
        _y=suvtotal,
        _present=present,
        _status=tracks["status"].astype(str),
    )
    with st.style():
        fig = st.new_figure(width_mm, height_mm, layout="constrained")
        ax = fig.add_subplot()
        for track_id, g in frame.sort_values(["track_id", "_x"]).groupby("track_id"):
            colour = CATEGORY_COLOURS[categories.get(int(track_id), BASELINE_CATEGORY)]
            x = g["_x"].to_numpy(float)
            y = g["_y"].to_numpy(float)
            here = g["_present"].to_numpy(bool)
            if not here.all():
                ax.plot(
                    x,
                    np.where(here, y, floor),
                    color=colour,
                    lw=0.7,
                    ls=":",
                    gid=f"track_absent:{track_id}",
                )
            ax.plot(
                x,
                np.where(here, y, np.nan),
                color=colour,
                lw=0.9,
                marker="o",
                markersize=2.0,
                gid=f"track:{track_id}",
            )
            status = g["_status"].to_numpy()
            for name, (marker, _) in EVENT_MARKERS.items():
                at = status == name
                if at.any():
                    ax.plot(
                        x[at],
                        np.where(here[at], y[at], floor),
                        ls="none",
                        marker=marker,
                        markersize=4.0 if marker != "x" else 4.5,
                        markerfacecolor=colour if name == "new" else "none",
                        markeredgecolor=colour,
                        markeredgewidth=0.9,
                        gid=f"{name}:{track_id}",
                    )
        if log_y:
            ax.set_yscale("log")
        ax.axhline(floor, color=st.LIGHT_GREY, lw=0.6, zorder=0)
        ax.text(
            1.0,
            floor,
            " absent",
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize=6,
            color=st.GREY,
            clip_on=False,
        )
        ax.set_ylabel("Lesion SUVtotal (SUV × voxels)")
        positions = [x_of[t] for t in drawn]
        ax.set_xticks(positions)
        if months is not None:
            ax.set_xticklabels([f"{t}\n{x_of[t]:.1f}" for t in drawn])
            ax.set_xlabel("Scan and months since baseline")
        else:
            ax.set_xticklabels(drawn)
            ax.set_xlabel("Scan (evenly spaced)")
        span = max(positions) - min(positions) or 1.0
        ax.set_xlim(min(positions) - 0.06 * span, max(positions) + 0.06 * span)
        if facts["message"]:
            ax.set_title(
                facts["message"], loc="left", fontsize=6.5, fontweight="normal", color=st.GREY
            )
        handles = [
            Line2D([], [], color=CATEGORY_COLOURS[c], lw=1.2, label=f"{c} ({counts[c]})")
            for c in (*CATEGORY_ORDER, BASELINE_CATEGORY)
            if counts[c]
        ]
        used = set(frame["_status"])
        handles += [
            Line2D(
                [],
                [],
                ls="none",
                marker=m,
                color="black",
                markerfacecolor="black" if name == "new" else "none",
                markersize=4.0,
                label=label,
            )
            for name, (m, label) in EVENT_MARKERS.items()
            if name in used
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=3,
            title="Category at last follow-up (tracks)",
            title_fontsize=7,
            handlelength=1.6,
            columnspacing=1.2,
        )
        fig.suptitle(title, x=0.02, ha="left", fontsize=8, fontweight="bold")
    return maybe_save(fig, path), facts


# --- 2. response categories of the cohort and per patient --------------------------------------


def category_counts(heterogeneity: pd.DataFrame, timepoints: Sequence[str]) -> pd.DataFrame:
    """Lesion tracks per category summed over patients at each follow-up.

    Returns
    -------
    pandas.DataFrame
        Index: the follow-ups (``timepoints[1:]``, all of them, zero where no row); columns:
        :data:`CATEGORY_ORDER` (int counts) and ``n_patients`` (patients with a row).
    """
    followups = list(timepoints[1:])
    counts = _counts(heterogeneity)
    table = counts.groupby(heterogeneity["timepoint"].astype(str)).sum()
    table = table.reindex(followups, fill_value=0).astype(int)
    patients = heterogeneity.groupby(heterogeneity["timepoint"].astype(str))["patient_id"]
    table["n_patients"] = patients.nunique().reindex(followups, fill_value=0).astype(int)
    return table


def _counts(heterogeneity: pd.DataFrame) -> pd.DataFrame:
    counts = heterogeneity[[f"n_{c}" for c in CATEGORY_ORDER]].apply(pd.to_numeric, errors="coerce")
    if counts.isna().any().any() or (counts < 0).any().any():
        raise InputError(
            "response heterogeneity table: category counts n_* must be whole numbers >= 0"
        )
    counts.columns = list(CATEGORY_ORDER)
    return counts.astype(int)


def _shares_pct(counts: pd.DataFrame) -> pd.DataFrame:
    """Each row as % of its total (NaN for a row without tracks)."""
    total = counts.sum(axis=1).replace(0, np.nan)
    return counts.div(total, axis=0) * 100.0


def _stacked_bars(ax, x, heights: pd.DataFrame, gid_prefix: str, width: float) -> None:
    """Bars of ``heights`` (rows = bars, columns = :data:`CATEGORY_ORDER`) stacked bottom-up."""
    bottom = np.zeros(len(heights))
    for category in CATEGORY_ORDER:
        h = heights[category].fillna(0.0).to_numpy(float)
        bars = ax.bar(
            x,
            h,
            width,
            bottom=bottom,
            color=CATEGORY_COLOURS[category],
            edgecolor="white",
            linewidth=0.3,
        )
        for bar, key in zip(bars, heights.index, strict=True):
            bar.set_gid(f"{gid_prefix}:{key}:{category}")
        bottom += h


def response_summary_figure(
    heterogeneity: pd.DataFrame,
    timepoints: Sequence[str],
    *,
    shares: bool = False,
    width_mm: float = st.DOUBLE_COLUMN_MM,
    height_mm: float = 80.0,
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """Response categories of the lesion tracks: cohort per follow-up and per patient.

    Panel A stacks, per follow-up, the lesion tracks of all patients by category
    (:data:`CATEGORY_ORDER` from the bottom); panel B does so per patient at the first follow-up,
    patients sorted by their share of new or increasing tracks (descending; ties by patient
    id), heterogeneous patients (``heterogeneous`` of the table) marked with a black triangle
    above their bar.

    Parameters
    ----------
    heterogeneity : pandas.DataFrame
        The response heterogeneity table (``results/longitudinal/patients.tsv``; columns
        :data:`HETEROGENEITY_INPUT_COLUMNS`), one row per patient and follow-up.
    timepoints : sequence of str
        The study's time points in order, baseline first; follow-ups are the rest.
    shares : bool, optional
        Bars in % of the tracks (panel A: of all tracks at that follow-up; panel B: of the
        patient's tracks) instead of counts.
    width_mm, height_mm : float, optional
        Figure size.
    path : path-like, optional
        Write the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Axes 0 (cohort): one Rectangle per follow-up and category, gid
        ``"cohort:<timepoint>:<category>"``, height = count or %; axes 1 (patients): gid
        ``"patient:<patient_id>:<category>"``; heterogeneity marks: Line2D gid
        ``"heterogeneous"`` (x = bar positions).
    caption_facts : dict
        ``followups``, ``counts`` (follow-up -> category -> tracks), ``n_patients``
        (follow-up -> patients), ``first_followup``, ``order`` (patient ids of panel B),
        ``heterogeneous`` (their ids), ``n_heterogeneous``, ``shares``, ``message``.
    """
    check_columns(heterogeneity, HETEROGENEITY_INPUT_COLUMNS, "response heterogeneity table")
    check_timepoints(heterogeneity["timepoint"], timepoints[1:], "response heterogeneity table")
    followups = list(timepoints[1:])
    table = category_counts(heterogeneity, timepoints)
    facts = {
        "followups": followups,
        "counts": {t: {c: int(table.loc[t, c]) for c in CATEGORY_ORDER} for t in followups},
        "n_patients": {t: int(table.loc[t, "n_patients"]) for t in followups},
        "first_followup": followups[0] if followups else None,
        "order": [],
        "heterogeneous": [],
        "n_heterogeneous": 0,
        "shares": bool(shares),
        "message": "",
    }
    if not followups:
        facts["message"] = "one time point only: no follow-up to categorise lesions at"
    elif heterogeneity.empty:
        facts["message"] = "no patient with lesion tracks at a follow-up"
    if facts["message"]:
        return maybe_save(message_figure(facts["message"], width_mm, height_mm), path), facts

    first = followups[0]
    rows = heterogeneity[heterogeneity["timepoint"].astype(str) == first]
    per_patient = _counts(rows)
    per_patient.index = rows["patient_id"].astype(str).to_numpy()
    flags = pd.Series(
        _as_bool(rows["heterogeneous"], "response heterogeneity table, column 'heterogeneous'"),
        index=per_patient.index,
    )
    worse = _shares_pct(per_patient)[["new", "increasing"]].sum(axis=1, min_count=1)
    order = (
        pd.DataFrame({"worse": worse.fillna(-1.0), "id": per_patient.index})
        .sort_values(["worse", "id"], ascending=[False, True], kind="mergesort")["id"]
        .tolist()
    )
    per_patient = per_patient.loc[order]
    facts["order"] = order
    facts["heterogeneous"] = [p for p in order if flags[p]]
    facts["n_heterogeneous"] = len(facts["heterogeneous"])

    unit = "%" if shares else "n"
    cohort = table[list(CATEGORY_ORDER)]
    with st.style():
        fig = st.new_figure(width_mm, height_mm, layout="constrained")
        grid = fig.add_gridspec(
            1, 2, width_ratios=[0.9 + 0.5 * len(followups), 1.0 + 0.28 * max(len(order), 1)]
        )
        ax_a = fig.add_subplot(grid[0])
        ax_b = fig.add_subplot(grid[1])
        heights = _shares_pct(cohort) if shares else cohort
        x = np.arange(len(followups))
        _stacked_bars(ax_a, x, heights, "cohort", 0.65)
        top = 100.0 if shares else float(cohort.sum(axis=1).max())
        for xi, t in zip(x, followups, strict=True):
            ax_a.text(
                xi,
                (top if shares else cohort.loc[t].sum()) + 0.02 * max(top, 1.0),
                f"{table.loc[t, 'n_patients']} pts",
                ha="center",
                va="bottom",
                fontsize=6,
            )
        ax_a.set_xticks(x, followups)
        ax_a.set_xlim(-0.6, len(followups) - 0.4)
        ax_a.set_ylim(0, max(top, 1.0) * 1.1)
        ax_a.set_ylabel(f"Lesion tracks ({unit})")
        ax_a.set_xlabel("Follow-up")
        ax_a.set_title("A  All patients", loc="left")

        heights = _shares_pct(per_patient) if shares else per_patient
        xb = np.arange(len(order))
        _stacked_bars(ax_b, xb, heights, "patient", 0.75)
        totals = heights.sum(axis=1, min_count=1).fillna(0.0).to_numpy(float)
        top_b = max(float(totals.max(initial=0.0)), 1.0)
        marked = np.array([p in facts["heterogeneous"] for p in order], dtype=bool)
        ax_b.plot(
            xb[marked],
            totals[marked] + 0.05 * top_b,
            ls="none",
            marker="v",
            markersize=3.5,
            color="black",
            gid="heterogeneous",
        )
        ax_b.set_xticks(xb, order, rotation=90, fontsize=6)
        ax_b.tick_params(axis="x", length=0)
        ax_b.set_xlim(-0.6, max(len(order), 1) - 0.4)
        ax_b.set_ylim(0, top_b * 1.12)
        ax_b.set_ylabel(f"Lesion tracks ({unit})")
        ax_b.set_title(
            f"B  Per patient at {first}: {facts['n_heterogeneous']} of {len(order)} "
            "heterogeneous (▼)",
            loc="left",
        )
        handles = [Patch(color=CATEGORY_COLOURS[c], label=c) for c in reversed(CATEGORY_ORDER)]
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="v",
                color="black",
                markersize=3.5,
                label="heterogeneous response",
            )
        )
        fig.legend(handles=handles, loc="outside right center", handlelength=1.2)
    return maybe_save(fig, path), facts


# --- 3. lesions on maximum-intensity projections -----------------------------------------------


def _as_image(image, spacing_mm, origin_mm, what: str) -> sitk.Image:
    """A SimpleITK image from an image or a (z, y, x) numpy array with spacing (x, y, z) mm."""
    if isinstance(image, sitk.Image):
        return image
    array = np.asarray(image)
    if array.ndim != 3:
        raise InputError(f"{what}: a 3-D (z, y, x) array is needed, got shape {array.shape}")
    if spacing_mm is None:
        raise InputError(f"{what} is a numpy array: give spacing_mm (x, y, z) as well")
    out = sitk.GetImageFromArray(array)
    out.SetSpacing([float(s) for s in spacing_mm])
    out.SetOrigin([float(o) for o in (origin_mm or (0.0, 0.0, 0.0))])
    return out


def label_centres_mm(labels: sitk.Image) -> dict[int, np.ndarray]:
    """Centre (x, y, z) mm LPS of every label > 0: mean of its voxel centres."""
    array = sitk.GetArrayViewFromImage(labels)
    index = np.nonzero(array)
    values, inverse = np.unique(array[index], return_inverse=True)
    n = np.bincount(inverse)
    centres = {}
    for k, value in enumerate(values):
        zyx = [np.bincount(inverse, weights=i)[k] / n[k] for i in index]
        centres[int(value)] = np.asarray(
            labels.TransformContinuousIndexToPhysicalPoint([float(c) for c in zyx[::-1]])
        )
    return centres


def _draw_outline(
    ax, mask: sitk.Image, view: str, colour: str, gid: str, *, linestyle: str = "solid"
) -> None:
    """Outline (contour at 0.5) of the projection of a binary mask, as :func:`qc.draw_mip`."""
    projected = (qc.mip(mask, view) > 0).astype(float)
    if not projected.any():
        return
    left, right, bottom, top = qc.mip_extent(mask, view)
    # Padded by one voxel so that lesions at the border still get a closed outline.
    dh = (right - left) / projected.shape[1]
    dv = (top - bottom) / projected.shape[0]
    h = left + dh * (np.arange(projected.shape[1] + 2) - 0.5)
    v = bottom + dv * (np.arange(projected.shape[0] + 2) - 0.5)
    contours = ax.contour(
        h,
        v,
        np.pad(projected, 1),
        levels=[0.5],
        colors=[colour],
        linewidths=0.8,
        linestyles=linestyle,
    )
    contours.set_gid(gid)


def _lesion_tracks(tracks: pd.DataFrame) -> dict[tuple[str, int], list[tuple[int, str]]]:
    """(time point, lesion id) -> [(track id, category), ...] from the tracks table."""
    rows = tracks.assign(_lesion=pd.to_numeric(tracks["lesion_id"], errors="coerce"))
    rows = rows[rows["_lesion"].notna()].sort_values("track_id", kind="mergesort")
    out: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for t, lesion, track, category in zip(
        rows["timepoint"].astype(str),
        rows["_lesion"],
        rows["track_id"],
        rows["category"],
        strict=True,
    ):
        out.setdefault((t, int(lesion)), []).append((int(track), str(category)))
    return out


def lesion_mip_figure(
    baseline_suv: sitk.Image | np.ndarray,
    label_maps: Mapping[str, sitk.Image | np.ndarray | None],
    tracks: pd.DataFrame,
    timepoints: Sequence[str],
    *,
    patient_id: str,
    followup_suv: Mapping[str, sitk.Image | np.ndarray] | None = None,
    spacing_mm: Sequence[float] | None = None,
    origin_mm: Sequence[float] | None = None,
    scan_times: Mapping[str, float] | pd.DataFrame | None = None,
    view: str = "coronal",
    suv_max: float = 15.0,
    width_mm: float = st.DOUBLE_COLUMN_MM,
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """MIPs of one patient at each time point in baseline space, lesions coloured by category.

    Each panel shows the SUV MIP (inverted grey, 0..``suv_max``; the registered follow-up SUV
    when given, else the baseline SUV), the outline of the lesions of that time point
    coloured by their track's category there (:data:`CATEGORY_COLOURS`; baseline lesions
    reddish purple) and the track id at each lesion's centre (several ids joined by "+" for a lesion
    of merged tracks).  A track that disappeared is marked with a cross at the centre of its
    lesion at its last time point present.

    Parameters
    ----------
    baseline_suv : SimpleITK.Image or numpy.ndarray
        Baseline SUV, axis-aligned (identity direction); a numpy array is (z, y, x) with
        ``spacing_mm`` (x, y, z) and ``origin_mm``.
    label_maps : mapping of str to image or None
        Time point -> lesion label map resampled to the baseline grid; label value =
        ``lesion_id`` of that time point.  None or a missing key: no label map (panel says
        so).
    tracks : pandas.DataFrame
        This patient's rows of ``tracks.tsv``; ``lesion_id`` per track and time point maps
        labels to tracks, ``category`` gives the colour.
    timepoints : sequence of str
        The time points (panels) in order, baseline first.
    patient_id : str
        The study ID (title).
    followup_suv : mapping, optional
        Time point -> SUV registered to the baseline grid.
    spacing_mm, origin_mm : sequence of 3 floats, optional
        Geometry (x, y, z) of numpy inputs.
    scan_times : mapping or pandas.DataFrame, optional
        Months since baseline (:func:`scan_months`), printed in the panel titles.
    view : {"coronal", "sagittal"}, optional
        Projection.
    suv_max : float, optional
        Upper end of the SUV window, the same in every panel.
    width_mm : float, optional
        Figure width; the height follows the panels' aspect.
    path : path-like, optional
        Write the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per time point; outlines are contour sets with gid
        ``"outline:<timepoint>:<category>"``; track ids are Text with gid
        ``"track_label:<timepoint>"`` at (horizontal mm, z mm) of the lesion centre;
        disappeared tracks a Line2D gid ``"disappeared:<timepoint>"``.
    caption_facts : dict
        ``patient_id``, ``timepoints``, ``lesions`` (time point -> {lesion id: [track ids]}),
        ``categories`` (time point -> category -> lesions), ``untracked`` (time point ->
        lesion ids in the label map without a track: outlined dashed black, no id),
        ``disappeared`` (time point -> track ids), ``background`` (time point -> "baseline"
        or "follow-up" SUV), ``view``, ``suv_max``, ``message``.
    """
    check_columns(tracks, (*TRACK_INPUT_COLUMNS, "lesion_id"), "tracks table")
    if view not in qc.VIEWS:
        raise InputError(f"lesion_mip_figure: view must be one of {qc.VIEWS}, got {view!r}")
    check_timepoints(tracks["timepoint"], timepoints, f"tracks table of {patient_id}")
    suv = _as_image(baseline_suv, spacing_mm, origin_mm, "baseline SUV")
    followup_suv = dict(followup_suv or {})
    months = scan_months(scan_times, list(timepoints), patient_id=patient_id)
    facts = {
        "patient_id": str(patient_id),
        "timepoints": list(timepoints),
        "lesions": {},
        "categories": {},
        "untracked": {},
        "disappeared": {},
        "background": {},
        "view": view,
        "suv_max": float(suv_max),
        "message": "",
    }
    if not timepoints:
        facts["message"] = "no time point to show"
        return maybe_save(message_figure(facts["message"], width_mm, 60.0), path), facts

    lesion_tracks = _lesion_tracks(tracks)
    order = {t: i for i, t in enumerate(timepoints)}
    label_images, centres = {}, {}
    for t in timepoints:
        image = label_maps.get(t)
        if image is not None:
            image = _as_image(image, spacing_mm, origin_mm, f"label map {t}")
            check_same_grid(image, suv, what=f"label map of {patient_id} {t}")
            label_images[t] = image
            centres[t] = label_centres_mm(image)
    # Where each track was last seen before each time point (for the disappeared marks).
    last_seen: dict[int, tuple[str, int]] = {}
    marks: dict[str, list[tuple[int, np.ndarray]]] = {}
    status = tracks.assign(
        _order=tracks["timepoint"].astype(str).map(order),
        _lesion=pd.to_numeric(tracks["lesion_id"], errors="coerce"),
    )
    status = status.sort_values(["_order", "track_id"], kind="mergesort")
    for t, g in status.groupby("_order", sort=True):
        tp = timepoints[int(t)]
        for track, lesion, stat in zip(g["track_id"], g["_lesion"], g["status"], strict=True):
            if pd.notna(lesion):
                last_seen[int(track)] = (tp, int(lesion))
            elif str(stat) == "disappeared" and int(track) in last_seen:
                seen_t, seen_lesion = last_seen[int(track)]
                centre = centres.get(seen_t, {}).get(seen_lesion)
                if centre is not None:
                    marks.setdefault(tp, []).append((int(track), centre))

    h_axis = {"coronal": 0, "sagittal": 1}[view]
    left, right, bottom, top = qc.mip_extent(suv, view)
    aspect = (right - left) / (top - bottom)
    n = len(timepoints)
    title_mm, legend_mm, margin_mm, wspace = 13.0, 9.0, 2.0, 0.05
    panel_w = (width_mm - 2 * margin_mm) / (n * (1 + wspace))
    height_mm = panel_w / aspect + title_mm + legend_mm + 6.0
    path_effect = [patheffects.withStroke(linewidth=1.5, foreground="white")]
    used = set()
    with st.style():
        fig = st.new_figure(width_mm, height_mm)
        grid = fig.add_gridspec(
            1,
            n,
            wspace=wspace,
            left=margin_mm / width_mm,
            right=1 - margin_mm / width_mm,
            bottom=legend_mm / height_mm,
            top=1 - (title_mm + 4.0) / height_mm,
        )
        for k, t in enumerate(timepoints):
            ax = fig.add_subplot(grid[0, k])
            background = followup_suv.get(t) if k > 0 else None
            if background is not None:
                background = _as_image(background, spacing_mm, origin_mm, f"SUV {t}")
                check_same_grid(background, suv, what=f"registered SUV of {patient_id} {t}")
            facts["background"][t] = "follow-up" if background is not None else "baseline"
            qc.draw_mip(ax, background if background is not None else suv, view, suv_max=suv_max)
            for spine in ax.spines.values():
                spine.set_visible(False)
            when = f" ({months[t]:.1f} mo)" if months is not None else ""
            labels = label_images.get(t)
            note = ""
            if labels is None:
                note = ": no label map"
            elif not centres[t]:
                note = ": no lesion"
            ax.set_title(f"{t}{when}{note}", loc="center", fontsize=7)
            if labels is None:
                continue
            array = sitk.GetArrayViewFromImage(labels)
            by_category: dict[str, list[int]] = {}
            facts["lesions"][t] = {}
            facts["untracked"][t] = []
            for lesion, centre in sorted(centres[t].items()):
                owners = lesion_tracks.get((t, lesion))
                if not owners:
                    facts["untracked"][t].append(lesion)
                    by_category.setdefault("untracked", []).append(lesion)
                    continue
                category = owners[0][1] if k > 0 else BASELINE_CATEGORY
                by_category.setdefault(category, []).append(lesion)
                facts["lesions"][t][lesion] = [track for track, _ in owners]
                ax.text(
                    centre[h_axis],
                    centre[2],
                    "+".join(str(track) for track, _ in owners),
                    color=CATEGORY_COLOURS.get(category, "black"),
                    fontsize=5.5,
                    fontweight="bold",
                    ha="center",
                    va="center",
                    gid=f"track_label:{t}",
                    path_effects=path_effect,
                    clip_on=True,
                )
            facts["categories"][t] = {c: len(v) for c, v in by_category.items()}
            for category, lesions in by_category.items():
                mask = sitk.GetImageFromArray(np.isin(array, lesions).astype(np.uint8))
                mask.CopyInformation(labels)
                _draw_outline(
                    ax,
                    mask,
                    view,
                    CATEGORY_COLOURS.get(category, "black"),
                    f"outline:{t}:{category}",
                    linestyle="dashed" if category == "untracked" else "solid",
                )
                used.add(category)
            if t in marks:
                facts["disappeared"][t] = [track for track, _ in marks[t]]
                ax.plot(
                    [c[h_axis] for _, c in marks[t]],
                    [c[2] for _, c in marks[t]],
                    ls="none",
                    marker="x",
                    markersize=4,
                    markeredgewidth=1.0,
                    color=CATEGORY_COLOURS["disappearing"],
                    gid=f"disappeared:{t}",
                )
                used.add("disappearing")
        handles = [
            Line2D([], [], color=CATEGORY_COLOURS[c], lw=1.2, label=c)
            for c in (BASELINE_CATEGORY, *CATEGORY_ORDER)
            if c in used
        ]
        if facts["disappeared"]:
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="x",
                    markersize=4,
                    color=CATEGORY_COLOURS["disappearing"],
                    label="disappeared (last position)",
                )
            )
        if "untracked" in used:
            handles.append(Line2D([], [], color="black", lw=0.8, ls="--", label="not in a track"))
        if handles:
            fig.legend(
                handles=handles,
                loc="lower center",
                ncols=min(len(handles), 7),
                bbox_to_anchor=(0.5, 0.0),
                handlelength=1.6,
            )
        registered = [t for t, b in facts["background"].items() if b == "follow-up"]
        if len(timepoints) == 1:
            background_text = "baseline SUV"
        elif not registered:
            background_text = "baseline SUV in every panel"
        elif len(registered) == len(timepoints) - 1:
            background_text = "each scan's SUV registered to the baseline"
        else:
            background_text = f"registered SUV at {', '.join(registered)}, else baseline SUV"
        fig.suptitle(
            f"{patient_id}: lesion tracks on {view} SUV MIPs (window 0-{suv_max:g}); "
            f"numbers are track ids\nbackground: {background_text}",
            fontsize=8,
            fontweight="bold",
        )
    return maybe_save(fig, path), facts
