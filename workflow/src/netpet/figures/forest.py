"""Forest plot of Cox hazard ratios: univariate and adjusted models side by side."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from netpet.errors import InputError
from netpet.figures import style as st
from netpet.report.format import FIRTH_MARK, cox_hr_text, dichotomy_label, format_p, note_parts
from netpet.report.labels import parameter_label
from netpet.stats.cox import reported_p

# Columns a Cox table needs here; p_lr, when present, is printed for Firth rows.
_REQUIRED = ("parameter", "coding", "hr", "ci_low", "ci_high", "p_wald", "method")


def forest_plot(
    models: Mapping[str, pd.DataFrame],
    *,
    cutpoints: pd.DataFrame | None = None,
    codings: Sequence[str] = ("dichotomised",),
    parameters: Sequence[str] | None = None,
    xlim: tuple[float, float] | None = None,
    width_mm: float = st.DOUBLE_COLUMN_MM,
    row_height_mm: float = 6.0,
    path: str | os.PathLike | None = None,
) -> tuple[Figure, dict]:
    """Forest plot of hazard ratios with 95 % CIs, one panel per model.

    Parameters
    ----------
    models : mapping of str to pandas.DataFrame
        Panel title -> Cox table (``cox_univariate.tsv``, ``cox_adjusted.tsv``: columns
        parameter, coding, hr, ci_low, ci_high, p_wald, method), e.g.
        ``{"Univariate": uni, "Adjusted for WHO grade": adj}``.
    cutpoints : pandas.DataFrame, optional
        ``cutpoints.tsv``: prints the groups of dichotomised rows ("≤ c (ref.) vs > c").
    codings : sequence of str, optional
        Codings to show (default: dichotomised only; continuous HRs are per unit and do not
        share a scale with them).
    parameters : sequence of str, optional
        Parameters (rows) in order; default: order of the first model.
    xlim : (float, float), optional
        HR axis range; default: covers every finite CI bound (at most 0.01-100).  CI bars
        beyond it end in an arrow head.
    width_mm, row_height_mm : float, optional
        Figure width and height per row.
    path : path-like, optional
        Write the figure there.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per model with a logarithmic x axis; per row a Line2D with gid
        ``"hr:<parameter>:<coding>"`` whose x is the HR (data coordinates; the axis is
        logarithmic, so its position is log HR) and y the row index from the top.  Firth rows
        (``method == "firth_profile"``) use an open diamond and carry :data:`FIRTH_MARK`.
        Rows that are not estimable print "not estimable"; the ``note`` of every drawn row
        that has one (why a value is missing) is printed under the plot (gid
        ``"footnote"``).
    caption_facts : dict
        ``rows`` (parameter, coding per row), ``models``, ``firth_rows`` per model, ``xlim``,
        ``notes`` (the footnote lines).
    """
    if not models:
        raise InputError("forest_plot: no Cox table given")
    frames = {}
    for title, df in models.items():
        missing = [c for c in _REQUIRED if c not in df.columns]
        if missing:
            raise InputError(f"forest_plot: Cox table {title!r} lacks column(s) {missing}")
        frames[title] = df[df["coding"].isin(codings)]
    first = next(iter(frames.values()))
    if parameters is None:
        parameters = list(dict.fromkeys(first["parameter"]))
    rows = [
        (p, c)
        for p in parameters
        for c in codings
        if ((first["parameter"] == p) & (first["coding"] == c)).any()
    ]
    if not rows:
        raise InputError(f"forest_plot: no rows with coding in {list(codings)}")
    cuts = {}
    if cutpoints is not None:
        cuts = dict(zip(cutpoints["parameter"], cutpoints["cutpoint"], strict=True))

    if xlim is None:
        xlim = _default_xlim(frames.values())

    n_rows = len(rows)
    n_models = len(frames)
    any_firth = any((f["method"] == "firth_profile").any() for f in frames.values())
    footer = _note_lines(frames.values(), rows)
    if any_firth:
        footer.insert(
            0,
            f"{FIRTH_MARK} Monotone likelihood: Firth-penalised Cox regression, profile "
            "penalised-likelihood 95 % CI and likelihood-ratio p.",
        )
    top = -1.2  # y of the column headers, above row 0
    # Layout in mm: label column, then per model the plot, its HR text and its p column.
    label_mm, plot_mm, gap_mm, hr_mm, p_mm, margin_mm = 30.0, 32.0, 2.0, 27.0, 9.0, 2.0
    block_mm = plot_mm + gap_mm + hr_mm + p_mm
    width_mm = max(width_mm, 2 * margin_mm + label_mm + n_models * block_mm)
    bottom_mm = 11.0 + 3.5 * len(footer)
    axes_height_mm = row_height_mm * (n_rows - top)
    height_mm = bottom_mm + axes_height_mm + 6.0
    with st.style():
        fig = st.new_figure(width_mm, height_mm)

        def add_axes(left_mm, width):
            return fig.add_axes(
                (
                    left_mm / width_mm,
                    bottom_mm / height_mm,
                    width / width_mm,
                    axes_height_mm / height_mm,
                )
            )

        ax_label = add_axes(margin_mm, label_mm)
        _blank(ax_label, n_rows, top)
        for i, (param, coding) in enumerate(rows):
            ax_label.text(0.0, i - 0.2, parameter_label(param), ha="left", va="center")
            cut = cuts.get(param)
            coding_text = (
                dichotomy_label(cut)
                if coding == "dichotomised" and cut is not None and np.isfinite(cut)
                else coding
            )
            ax_label.text(
                0.0, i + 0.22, coding_text, ha="left", va="center", color="#505050", fontsize=6
            )

        facts = {
            "rows": [list(r) for r in rows],
            "models": list(frames),
            "firth_rows": {},
            "xlim": list(xlim),
            "notes": footer,
        }
        for m, (title, frame) in enumerate(frames.items()):
            left = margin_mm + label_mm + m * block_mm
            ax = add_axes(left, plot_mm)
            ax_hr = add_axes(left + plot_mm + gap_mm, hr_mm)
            ax_p = add_axes(left + plot_mm + gap_mm + hr_mm, p_mm)
            _blank(ax_hr, n_rows, top)
            _blank(ax_p, n_rows, top)
            ax_hr.text(0.05, top, "HR (95 % CI)", ha="left", va="center", fontweight="bold")
            ax_p.text(0.95, top, "p", ha="right", va="center", fontweight="bold", style="italic")
            firth_rows = []
            for i, (param, coding) in enumerate(rows):
                match = frame[(frame["parameter"] == param) & (frame["coding"] == coding)]
                if match.empty:
                    ax_hr.text(0.05, i, "not fitted", ha="left", va="center", color=st.GREY)
                    continue
                r = match.iloc[0]
                hr, lo, hi = float(r["hr"]), float(r["ci_low"]), float(r["ci_high"])
                text = cox_hr_text(hr, lo, hi, r["method"], decimals=2)
                ax_hr.text(0.05, i, text, ha="left", va="center")
                if not np.isfinite(hr) or r["method"] == "not_estimable":
                    continue
                firth = r["method"] == "firth_profile"
                if firth:
                    firth_rows.append(param)
                _draw_row(ax, i, hr, lo, hi, firth=firth, gid=f"hr:{param}:{coding}", xlim=xlim)
                p = reported_p(r["method"], r["p_wald"], r.get("p_lr", np.nan))
                ax_p.text(0.95, i, format_p(p), ha="right", va="center")
            facts["firth_rows"][title] = firth_rows
            ax.axvline(1.0, color=st.GREY, lw=0.6, ls=(0, (3, 2)), zorder=0)
            ax.set_xscale("log")
            ax.set_xlim(*xlim)
            _log_ticks(ax, xlim)
            ax.set_ylim(n_rows - 0.5, top - 0.5)
            ax.yaxis.set_major_locator(NullLocator())
            ax.spines["left"].set_visible(False)
            ax.set_xlabel("Hazard ratio (log scale)")
            ax.text(
                0.0,
                1.0,
                title,
                transform=ax.transAxes,
                ha="left",
                va="bottom",
                fontweight="bold",
                fontsize=8,
            )
            ytr = ax.get_yaxis_transform()
            ax.text(
                0.02,
                top,
                "← lower risk",
                transform=ytr,
                ha="left",
                va="center",
                color=st.GREY,
                fontsize=6,
            )
            ax.text(
                0.98,
                top,
                "higher risk →",
                transform=ytr,
                ha="right",
                va="center",
                color=st.GREY,
                fontsize=6,
            )
        for k, line in enumerate(reversed(footer)):
            fig.text(
                margin_mm / width_mm,
                (1.0 + 3.5 * k) / height_mm,
                line,
                ha="left",
                va="bottom",
                fontsize=6,
                gid="footnote",
            )
    if path is not None:
        st.save_figure(fig, path)
    return fig, facts


#: Most footnote lines of row notes printed under the forest plot.
MAX_NOTE_LINES = 6


def _note_lines(frames, rows) -> list[str]:
    """Footnotes saying why values of the drawn rows are missing (the ``note`` column)."""
    lines: list[str] = []
    for frame in frames:
        if "note" not in frame.columns:
            continue
        for _, r in frame.iterrows():
            if (r["parameter"], r["coding"]) not in rows:
                continue
            prefix = "Not estimable: " if r["method"] == "not_estimable" else ""
            for part in note_parts(r["note"]):
                line = prefix + part
                if line not in lines:
                    lines.append(line)
    if len(lines) > MAX_NOTE_LINES:
        extra = len(lines) - MAX_NOTE_LINES + 1
        lines = [*lines[: MAX_NOTE_LINES - 1], f"... and {extra} more notes: see the Cox tables."]
    return lines


def _blank(ax, n_rows, top) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(n_rows - 0.5, top - 0.5)
    ax.axis("off")


def _draw_row(ax, y, hr, lo, hi, *, firth, gid, xlim) -> None:
    colour = st.OKABE_ITO["black"]
    # A NaN bound was not computed: no bar on that side.  An infinite (or 0) bound, or one
    # beyond the axis, runs to the edge and ends in an arrow head.
    ends = []
    for bound, edge, inside, head in (
        (lo, xlim[0], lambda b: b >= xlim[0], "<"),
        (hi, xlim[1], lambda b: b <= xlim[1], ">"),
    ):
        if np.isnan(bound):
            ends.append((hr, None))
        elif np.isfinite(bound) and bound > 0 and inside(bound):
            ends.append((bound, None))
        else:
            ends.append((edge, head))
    (left, left_head), (right, right_head) = ends
    ax.plot([left, right], [y, y], color=colour, lw=1.0, solid_capstyle="butt", gid=f"ci:{gid[3:]}")
    for x_end, head in ((left, left_head), (right, right_head)):
        if head:
            ax.plot([x_end], [y], marker=head, color=colour, markersize=4, linestyle="none")
    marker = "D" if firth else "s"
    ax.plot(
        [hr],
        [y],
        marker=marker,
        markersize=4.5 if firth else 5,
        linestyle="none",
        markerfacecolor="white" if firth else colour,
        markeredgecolor=colour,
        markeredgewidth=1.0,
        gid=gid,
        zorder=3,
    )


_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _default_xlim(frames) -> tuple[float, float]:
    """HR range covering every finite CI bound and 1, widened to 1-2-5 ticks, within 0.01-100."""
    values = np.concatenate(
        [f[["ci_low", "ci_high", "hr"]].to_numpy(float).ravel() for f in frames]
    )
    values = values[np.isfinite(values) & (values > 0)]
    lo = min(values.min(initial=1.0), 1.0) / 1.15
    hi = max(values.max(initial=1.0), 1.0) * 1.15
    lo = max([t for t in _TICKS if t <= lo], default=_TICKS[0])
    hi = min([t for t in _TICKS if t >= hi], default=_TICKS[-1])
    if np.log10(hi / lo) > 2.4:  # long axis: ticks at powers of ten only, so end on them
        lo, hi = 10 ** np.floor(np.log10(lo)), 10 ** np.ceil(np.log10(hi))
    return float(lo), float(hi)


def _log_ticks(ax, xlim) -> None:
    decades = np.log10(xlim[1] / xlim[0])
    # 1-2-5 ticks on short axes, 1-5 on medium ones, powers of ten on long ones.
    keep = ("1", "2", "5") if decades <= 1.6 else ("1", "5") if decades <= 2.4 else ("1",)
    ticks = [t for t in _TICKS if xlim[0] <= t <= xlim[1] and f"{t:g}".strip("0.")[0] in keep]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
