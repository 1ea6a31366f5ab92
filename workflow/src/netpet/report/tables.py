"""Paper tables: patient characteristics, PET parameters, Cox models and cut-point searches.

Every table function returns a :class:`Table`: ``data`` holds the numbers (machine-readable,
written as TSV), ``display`` the strings as printed in the paper (written as HTML, Markdown and
LaTeX), with a caption and footnotes.  The statistics themselves come from :mod:`netpet.stats`
(Kaplan-Meier, Cox, cut-points); this module only arranges and formats them, apart from the
Wilcoxon signed-rank test of Table 2, which is a single SciPy call.

Column names of the patients table follow :mod:`netpet.stats.patients`: ``{param}_{timepoint}``
for a PET parameter at a time point and ``{param}_change_{followup}_pct`` for its proportional
change from baseline, (follow-up - baseline) / baseline x 100 %.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

from netpet import io
from netpet.errors import InputError
from netpet.stats import survival
from netpet.stats.cox import COX_COLUMNS, FIRTH_NOTE
from netpet.stats.cutpoint import CUTPOINT_COLUMNS
from netpet.stats.patients import change_column

#: PET parameters of the study, in the order the tables list them.
PARAMETERS = (
    "suvmax",
    "suvmean",
    "suvpeak",
    "liver_suvmean",
    "tlr",
    "wtv_ml",
    "tre",
    "lesion_count",
)

#: How each parameter is printed.
PARAMETER_LABELS = {
    "suvmax": "SUVmax",
    "suvmean": "SUVmean",
    "suvpeak": "SUVpeak",
    "liver_suvmean": "Liver SUVmean",
    "tlr": "TLR",
    "wtv_ml": "WTV",
    "tre": "TRE",
    "lesion_count": "Lesion count",
}

#: Units of the parameters that have one (SUV and ratios are dimensionless).
PARAMETER_UNITS = {"wtv_ml": "mL", "tre": "mL·SUV"}

#: How covariate names of the Cox tables are printed.
COVARIATE_LABELS = {"who_grade": "WHO grade", "age_years": "age", "sex": "sex", "ki67": "Ki-67"}

#: Printed for a p-value below this bound: "< 0.001".
P_FLOOR = 0.001

#: Marker of Cox rows fitted with Firth's penalised likelihood.
FIRTH_MARK = "†"

MINUS = "−"  # U+2212, the typographic minus sign
EN_DASH = "–"
NOT_REACHED = "NR"
MISSING_TEXT = "—"


# --------------------------------------------------------------------------------------------
# Table container and writers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A paper table: numbers for machines and strings for readers.

    Attributes
    ----------
    data : pandas.DataFrame
        The numbers behind the table (written as TSV).
    display : pandas.DataFrame
        The table as printed: string cells, column names are the printed headers.
    caption : str
        Table title.
    footnotes : tuple of str
        Footnotes printed under the table (abbreviations, tests, markers).
    """

    data: pd.DataFrame
    display: pd.DataFrame
    caption: str
    footnotes: tuple[str, ...] = field(default_factory=tuple)

    def formatted(self) -> dict[str, str]:
        """Return the display table as ``html``, ``markdown`` and ``latex`` strings."""
        return format_table(self.display, caption=self.caption, footnotes=self.footnotes)


def format_table(
    df: pd.DataFrame, *, caption: str = "", footnotes: Sequence[str] = ()
) -> dict[str, str]:
    """Render a table of strings as HTML, Markdown and LaTeX.

    Parameters
    ----------
    df : pandas.DataFrame
        Cells are printed with ``str``; NaN/None print as empty cells.  The index is ignored.
    caption : str, optional
        Table title.
    footnotes : sequence of str, optional
        Printed under the table, one per line.

    Returns
    -------
    dict
        ``html``: a self-contained UTF-8 HTML document; ``markdown``: a GitHub-flavoured pipe
        table with the caption in bold above it; ``latex``: a ``table`` environment with a
        ``booktabs`` tabular (needs ``\\usepackage{booktabs}``; non-ASCII symbols are replaced
        by LaTeX commands so that pdflatex compiles it).
    """
    header = [str(c) for c in df.columns]
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    return {
        "html": _to_html(header, rows, caption, footnotes),
        "markdown": _to_markdown(header, rows, caption, footnotes),
        "latex": _to_latex(header, rows, caption, footnotes),
    }


def write_table(
    table: Table, stem_path: str | os.PathLike, *, formats: Sequence[str] = ("tsv", "html", "md")
) -> list[Path]:
    """Write a table as ``<stem>.tsv`` (its numbers), ``.html``, ``.md`` (and ``.tex``) atomically.

    Parameters
    ----------
    table : Table
        The table to write.
    stem_path : path-like
        Output path without suffix, e.g. ``results/tables/table1_patients``.
    formats : sequence of {"tsv", "html", "md", "tex"}, optional
        Which files to write.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.
    """
    stem = Path(stem_path)
    rendered = table.formatted()
    unknown = set(formats) - {"tsv", "html", "md", "tex"}
    if unknown:
        raise InputError(
            f"write_table: unknown format(s) {sorted(unknown)}; choose from tsv, html, md, tex"
        )
    written = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "tsv":
            io.write_tsv(path, table.data)
        elif fmt == "html":
            io.write_text(path, rendered["html"])
        elif fmt == "md":
            io.write_text(path, rendered["markdown"])
        else:
            io.write_text(path, rendered["latex"])
        written.append(path)
    return written


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _to_html(header, rows, caption, footnotes) -> str:
    esc = html.escape
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>' + esc(caption) + "</title>",
        "<style>",
        "body{font-family:Arial,Helvetica,sans-serif;font-size:10pt}",
        "table{border-collapse:collapse}",
        "caption{text-align:left;font-weight:bold;padding-bottom:4pt}",
        "thead th{border-top:1.5px solid #000;border-bottom:1px solid #000}",
        "tbody tr:last-child td{border-bottom:1.5px solid #000}",
        "th,td{padding:2pt 8pt;text-align:left;vertical-align:top}",
        "td.indent{padding-left:20pt}",
        "tfoot td{font-size:9pt;border:none}",
        "</style></head>",
        "<body>",
        "<table>",
    ]
    if caption:
        lines.append(f"<caption>{esc(caption)}</caption>")
    lines.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead>")
    lines.append("<tbody>")
    for row in rows:
        cells = []
        for j, value in enumerate(row):
            # Level rows of Table 1 start with an em space: indent them with CSS instead.
            if j == 0 and value.startswith(_INDENT):
                cells.append(f'<td class="indent">{esc(value.lstrip(_INDENT))}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody>")
    if footnotes:
        lines.append("<tfoot>")
        lines.extend(f'<tr><td colspan="{len(header)}">{esc(note)}</td></tr>' for note in footnotes)
        lines.append("</tfoot>")
    lines += ["</table>", "</body>", "</html>", ""]
    return "\n".join(lines)


def _to_markdown(header, rows, caption, footnotes) -> str:
    def md(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    lines = []
    if caption:
        lines += [f"**{md(caption)}**", ""]
    lines.append("| " + " | ".join(md(h) for h in header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(md(v) for v in row) + " |" for row in rows]
    if footnotes:
        lines.append("")
        lines += [f"{md(note)}  " for note in footnotes]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    MINUS: r"$-$",
    EN_DASH: "--",
    "—": "---",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "Δ": r"$\Delta$",
    "·": r"$\cdot$",
    "×": r"$\times$",
    "→": r"$\rightarrow$",
    FIRTH_MARK: r"\textsuperscript{\dag}",
    "‡": r"\textsuperscript{\ddag}",
    "<": r"$<$",
    ">": r"$>$",
    "\u2003": r"\quad ",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _to_latex(header, rows, caption, footnotes) -> str:
    lines = [r"\begin{table}", r"\centering"]
    if caption:
        lines.append(r"\caption{" + _latex_escape(caption) + "}")
    lines += [r"\begin{tabular}{" + "l" * len(header) + "}", r"\toprule"]
    lines.append(" & ".join(_latex_escape(h) for h in header) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(_latex_escape(v) for v in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if footnotes:
        lines.append(r"\par\smallskip{\footnotesize")
        lines += [_latex_escape(note) + r"\par" for note in footnotes]
        lines.append("}")
    lines += [r"\end{table}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------------------------

_INDENT = "\u2003"  # em space: indents level rows of Table 1


def format_p(p: float, *, digits: int = 3, floor: float = P_FLOOR) -> str:
    """Format a p-value as a paper prints it.

    Parameters
    ----------
    p : float
        The p-value, >= 0; values above 1 (upper-bound approximations) print as 1.  NaN
        prints as an em dash (not computed).
    digits : int, optional
        Significant digits, trailing zeros kept (0.0490, 0.500).
    floor : float, optional
        p-values below it print as ``"< 0.001"``.

    Returns
    -------
    str
        E.g. ``"< 0.001"``, ``"0.00123"`` when ``floor`` is smaller, ``"0.0490"``, ``"1.00"``.

    Examples
    --------
    >>> format_p(0.04912)
    '0.0491'
    >>> format_p(0.0004)
    '< 0.001'
    """
    if p is None or not np.isfinite(p):
        return MISSING_TEXT
    if p < 0:
        raise InputError(f"format_p: negative p-value {p!r}")
    # Bonferroni-type approximations (Lausen et al. 1994) can exceed 1: print those as 1.
    p = min(p, 1.0)
    if p < floor:
        return f"< {floor:g}"
    text = f"{p:#.{digits}g}"
    # 0.99951 rounds to "1.000": print p = 1 with the same number of significant digits.
    if float(text) >= 1:
        return f"{1:#.{digits}g}"
    return text.rstrip(".")


def _decimals_for(value: float, sig: int) -> int:
    """Decimals that print ``value`` with ``sig`` significant digits (0 for large values)."""
    if not np.isfinite(value) or value == 0:
        return max(sig - 1, 0)
    return max(sig - 1 - math.floor(math.log10(abs(value))), 0)


def format_number(value: float, *, decimals: int | None = None, sig: int = 3) -> str:
    """Format a number with a typographic minus sign.

    Parameters
    ----------
    value : float
        NaN prints as an em dash; +inf/-inf as ``"∞"``/``"−∞"``.
    decimals : int, optional
        Fixed decimals; default: enough for ``sig`` significant digits, no exponent (1234.5
        prints as ``"1235"``, 0.01234 as ``"0.0123"``).
    sig : int, optional
        Significant digits used when ``decimals`` is not given.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_TEXT
    if math.isinf(value):
        return "∞" if value > 0 else MINUS + "∞"
    if decimals is None:
        decimals = _decimals_for(value, sig)
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "−0.0"
    return text.replace("-", MINUS)


def _fmt_triple(median: float, lower: float, upper: float) -> str:
    """``"56.5 (32.0–74.0)"``: one decimal, none when all three are whole (``"57 (32–74)"``)."""
    decimals = 0 if all(float(v).is_integer() for v in (median, lower, upper)) else 1

    def f(v):
        return format_number(v, decimals=decimals)

    return f"{f(median)} ({_interval(f(lower), f(upper))})"


def _interval(low: str, high: str) -> str:
    """``low–high``, or ``low to high`` when a minus sign would make the dash ambiguous."""
    if low.startswith(MINUS) or high.startswith(MINUS):
        return f"{low} to {high}"
    return f"{low}{EN_DASH}{high}"


def format_hr(hr: float, ci_low: float, ci_high: float, *, decimals: int = 3) -> str:
    """Format a hazard ratio with its confidence interval: ``"3.053 (1.003–9.289)"``.

    Ratios of 100 or more print with 3 significant digits (120.4 -> 120); an infinite bound
    prints as ∞, a bound that was not computed (NaN) as an em dash; without both bounds:
    ``"0.115 (CI —)"``.
    """

    def one(x: float) -> str:
        if np.isfinite(x) and abs(x) >= 100:
            return format_number(x, sig=3)
        return format_number(x, decimals=decimals)

    if np.isnan(ci_low) and np.isnan(ci_high):
        return f"{one(hr)} (CI {MISSING_TEXT})"
    return f"{one(hr)} ({_interval(one(ci_low), one(ci_high))})"


def median_iqr(values: Sequence[float]) -> dict:
    """n, median and quartiles of the finite values (linear interpolation: R type 7, numpy).

    Returns
    -------
    dict
        ``n``, ``median``, ``q1``, ``q3`` (NaN when there is no value) and ``integer`` (all
        values are whole numbers, e.g. lesion counts).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan, "integer": False}
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    return {
        "n": int(x.size),
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "integer": bool(np.all(x == np.round(x))),
    }


def iqr_decimals(summaries: Sequence[Mapping], *, sig: int = 3) -> int:
    """Decimals shared by median (IQR) cells: ``sig`` significant digits of the largest number.

    Whole-number data (counts) print with no decimal, or one when a quartile falls between
    two counts.
    """
    numbers = [s[k] for s in summaries for k in ("median", "q1", "q3") if s["n"] > 0]
    if not numbers:
        return 0
    if all(s["integer"] for s in summaries if s["n"] > 0):
        return 0 if all(float(v).is_integer() for v in numbers) else 1
    largest = max(abs(v) for v in numbers)
    return _decimals_for(largest, sig)


def format_median_iqr(summary: Mapping, *, decimals: int) -> str:
    """``"12.3 (8.4–20.1)"`` from a :func:`median_iqr` summary; an em dash when empty."""
    if summary["n"] == 0:
        return MISSING_TEXT

    def f(v):
        return format_number(v, decimals=decimals)

    return f"{f(summary['median'])} ({_interval(f(summary['q1']), f(summary['q3']))})"


# --------------------------------------------------------------------------------------------
# Parameter names
# --------------------------------------------------------------------------------------------

_CHANGE_RE = re.compile(r"^(?P<base>.+)_change_(?P<followup>.+)_pct$")


def parse_parameter(column: str) -> tuple[str, str | None, str | None]:
    """Split a patients-table column into (parameter, timepoint, follow-up of a change).

    Examples
    --------
    >>> parse_parameter("wtv_ml_basal")
    ('wtv_ml', 'basal', None)
    >>> parse_parameter("tre_change_interim_pct")
    ('tre', None, 'interim')
    >>> parse_parameter("age_years")
    ('age_years', None, None)
    """
    match = _CHANGE_RE.match(column)
    if match and match["base"] in PARAMETER_LABELS:
        return match["base"], None, match["followup"]
    # Longest names first so that "liver_suvmean_basal" is not read as "suvmean".
    for param in sorted(PARAMETER_LABELS, key=len, reverse=True):
        if column.startswith(param + "_"):
            return param, column[len(param) + 1 :], None
    return column, None, None


def parameter_label(column: str, *, unit: bool = False) -> str:
    """Printed name of a patients-table column.

    ``"wtv_ml_basal"`` -> ``"WTV basal"`` (``unit=True``: ``"WTV basal (mL)"``);
    ``"tre_change_interim_pct"`` -> ``"ΔTRE interim"`` (``unit=True``: ``"ΔTRE interim (%)"``).
    Columns that are not PET parameters print as they are, underscores as spaces.
    """
    param, timepoint, followup = parse_parameter(column)
    if param not in PARAMETER_LABELS:
        return column.replace("_", " ")
    name = PARAMETER_LABELS[param]
    if followup is not None:
        return f"Δ{name} {followup}" + (" (%)" if unit else "")
    text = f"{name} {timepoint}"
    if unit and param in PARAMETER_UNITS:
        text += f" ({PARAMETER_UNITS[param]})"
    return text


def _unit_of(column: str) -> str:
    param, _, followup = parse_parameter(column)
    if followup is not None:
        return "%"
    return PARAMETER_UNITS.get(param, "")


def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {missing}; present: {list(df.columns)}. "
            "Produce the table with the netpet stats stage or add the columns."
        )


def note_text(value) -> str:
    """The ``note`` cell of a statistics table as text ("" when empty; TSV reads it as NaN)."""
    return value if isinstance(value, str) else ""


def note_parts(value) -> list[str]:
    """The reasons in a ``note`` cell (``; ``-separated), without the Firth explanation.

    Firth rows are marked and explained in their own footnote (:data:`FIRTH_FOOTNOTE`).
    """
    return [
        part for part in note_text(value).split("; ") if part and not part.startswith(FIRTH_NOTE)
    ]


def _grouped_notes(
    labels: Sequence[str], notes: Sequence[str], *, n_rows: int, wrap: str = "{}"
) -> list[str]:
    """One footnote per distinct note: ``"<wrapped note>: <labels or 'all rows'>."``.

    ``n_rows`` is the number of rows of the whole table ("all rows" when a note has them all).
    """
    by_note: dict[str, list[str]] = {}
    for label, note in zip(labels, notes, strict=True):
        for part in note_parts(note):
            by_note.setdefault(part, []).append(label)
    lines = []
    for note, rows in by_note.items():
        where = "all rows" if len(rows) == n_rows else ", ".join(dict.fromkeys(rows))
        lines.append(f"{wrap.format(note)}: {where}.")
    return lines


# --------------------------------------------------------------------------------------------
# Table 1: patient characteristics
# --------------------------------------------------------------------------------------------

_SEX_LABELS = {"M": "Male", "F": "Female"}
_GRADES = ("G1", "G2", "G3")


def km_quantile(km: pd.DataFrame, p: float = 0.5) -> dict:
    """Survival-time quantile and its confidence limits read off a Kaplan-Meier table.

    Exactly R's ``quantile.survfit`` (survival 3.x, internal ``findq``): with the distribution
    ``F = 1 - S`` as a step function starting at (0, 0), the ``p`` quantile is the first time at
    which ``F >= p``; where ``F`` equals ``p`` (within sqrt(machine epsilon)) over a flat
    stretch, the midpoint of that stretch (to the last time when it is the end of the curve).
    The lower (upper) limit is the same quantile of the lower (upper) confidence curve of
    ``S``, so it inherits the curve's CI transform.  NaN = not reached.

    Parameters
    ----------
    km : pandas.DataFrame
        :func:`netpet.stats.survival.kaplan_meier` output: ``time``, ``survival``,
        ``ci_low``, ``ci_high``.
    p : float, optional
        Probability (0.5: the median).

    Returns
    -------
    dict
        ``median`` (the quantile), ``ci_low``, ``ci_high``, in the unit of ``time``.
    """
    x = np.concatenate([[0.0], km["time"].to_numpy(float)])

    def find(surv) -> float:
        y = np.concatenate([[0.0], 1.0 - np.asarray(surv, dtype=float)])
        return _findq(x, y, p)

    return {
        "median": find(km["survival"]),
        "ci_low": find(km["ci_low"]),
        "ci_high": find(km["ci_high"]),
    }


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R survival:::findq for one probability (see :func:`km_quantile`)."""
    tol = np.sqrt(np.finfo(float).eps)
    if not np.any(np.isfinite(y)) or np.nanmax(y) < p:
        return np.nan
    x_max = x[-1]
    # duplicated(y) in R: keep first occurrences (NaN duplicates NaN).
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    valid = np.flatnonzero(~np.isnan(y))
    # approx(y +/- tol, 1:n, p, method = "constant", f = 1): first knot at or above p.
    above1 = valid[y[valid] + tol >= p]
    above2 = valid[y[valid] - tol >= p]
    quant = np.nan
    if above1.size and above2.size:
        quant = (x[above1[0]] + x[above2[0]]) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and above1.size:
        quant = (x[above1[0]] + x_max) / 2
    return float(quant)


def _km_median(time, event) -> dict:
    """Median and 95 % CI of a Kaplan-Meier estimate ("log" CI, as R's survfit)."""
    return km_quantile(survival.kaplan_meier(time, event, conf_type="log"))


def patient_characteristics(
    patients: pd.DataFrame,
    *,
    time_col: str = "pfs_months",
    event_col: str = "progression",
    followup: bool = True,
    death_col: str = "death",
) -> Table:
    """Table 1: characteristics of the patients.

    Rows: number of patients; sex, n (%); age, median (range); WHO grade, n (%) (G1-G3 always
    listed); Ki-67, median (IQR) and primary site, n (%) when those columns exist; PFS events,
    n (%); median PFS with 95 % CI (Kaplan-Meier; CI of the median from the pointwise "log"
    CI of the survival curve as R's ``survfit`` computes it, via :mod:`netpet.stats.survival`);
    median follow-up by reverse Kaplan-Meier (Schemper & Smith 1996, Control Clin Trials 17:343)
    when ``followup``; deaths, n (%) when ``death_col`` exists.  Missing values are counted in a
    "Missing" row.  Percentages are of all patients, one decimal.

    Parameters
    ----------
    patients : pandas.DataFrame
        One row per patient (``patients.tsv``): ``patient_id``, ``sex`` (M/F), ``age_years``,
        ``who_grade`` (G1/G2/G3), ``time_col``, ``event_col`` (0/1), optional ``ki67``,
        ``primary_site``, ``death_col``.
    time_col, event_col : str, optional
        PFS time in months and event indicator (1 = progression or death).
    followup : bool, optional
        Add the reverse-Kaplan-Meier median follow-up.
    death_col : str, optional
        Death indicator column; its row is left out when the column is absent.

    Returns
    -------
    Table
        ``data`` columns: characteristic, level, statistic, n, percent, median, lower, upper,
        text.  ``display``: "Characteristic" and "Patients (n = N)".
    """
    _require_columns(
        patients, ["sex", "age_years", "who_grade", time_col, event_col], "Table 1 (patients)"
    )
    n_total = len(patients)
    if n_total == 0:
        raise InputError("Table 1 (patients): the patients table has no rows")
    rows: list[dict] = [
        _row("Patients, n", "", "n", n=n_total, text=str(n_total)),
    ]

    def categorical(column, title, order=(), labels=None):
        values = patients[column]
        present = values.dropna().astype(str)
        counts = present.value_counts()
        levels = list(order) + sorted(
            (lv for lv in counts.index if lv not in order), key=lambda lv: (-counts[lv], lv)
        )
        title = f"{title}, n (%)"
        rows.append(_row(title, "", "n (%)"))
        for level in levels:
            count = int(counts.get(level, 0))
            name = (labels or {}).get(level, level)
            rows.append(_count_row(title, name, count, n_total))
        n_missing = int(values.isna().sum())
        if n_missing:
            rows.append(_count_row(title, "Missing", n_missing, n_total))

    def continuous(column, title, statistic):
        values = pd.to_numeric(patients[column], errors="coerce")
        x = values.dropna().to_numpy(float)
        if statistic == "median (range)":
            lower, upper = (np.min(x), np.max(x)) if x.size else (np.nan, np.nan)
        else:
            lower, upper = np.percentile(x, [25, 75]) if x.size else (np.nan, np.nan)
        median = float(np.median(x)) if x.size else np.nan
        text = _fmt_triple(median, lower, upper) if x.size else MISSING_TEXT
        rows.append(
            _row(
                f"{title}, {statistic}",
                "",
                statistic,
                n=int(x.size),
                median=median,
                lower=lower,
                upper=upper,
                text=text,
            )
        )
        n_missing = int(values.isna().sum())
        if n_missing:
            rows.append(_count_row(f"{title}, {statistic}", "Missing", n_missing, n_total))

    categorical("sex", "Sex", order=("M", "F"), labels=_SEX_LABELS)
    continuous("age_years", "Age, years", "median (range)")
    categorical("who_grade", "WHO grade", order=_GRADES)
    if "ki67" in patients.columns:
        continuous("ki67", "Ki-67 index, %", "median (IQR)")
    if "primary_site" in patients.columns:
        categorical("primary_site", "Primary tumour site")

    time, event = _survival_data(patients, time_col, event_col)
    n_events = int(event.sum())
    rows.append(_count_row("PFS events (progression or death), n (%)", "", n_events, n_total))
    km = _km_median(time, event)
    rows.append(
        _row(
            "Median PFS, months (95 % CI)",
            "",
            "median (95 % CI)",
            n=len(time),
            median=km["median"],
            lower=km["ci_low"],
            upper=km["ci_high"],
            text=_median_ci_text(km),
        )
    )
    if followup:
        reverse = _km_median(time, 1 - event)
        rows.append(
            _row(
                "Median follow-up, months (95 % CI)",
                "",
                "reverse Kaplan-Meier median (95 % CI)",
                n=len(time),
                median=reverse["median"],
                lower=reverse["ci_low"],
                upper=reverse["ci_high"],
                text=_median_ci_text(reverse),
            )
        )
    if death_col in patients.columns:
        deaths = pd.to_numeric(patients[death_col], errors="coerce")
        rows.append(_count_row("Deaths, n (%)", "", int((deaths == 1).sum()), n_total))

    data = pd.DataFrame(rows)
    label = [
        f"{_INDENT}{lv}" if lv else ch
        for ch, lv in zip(data.characteristic, data.level, strict=True)
    ]
    display = pd.DataFrame({"Characteristic": label, f"Patients (n = {n_total})": data.text})
    footnotes = [
        "Percentages of all patients. IQR, interquartile range; CI, confidence interval; "
        "NR, not reached; PFS, progression-free survival.",
        "Median PFS from the Kaplan-Meier estimate; its 95 % CI from the pointwise 95 % CI of "
        "the survival curve (log transform, as R's survfit)."
        + (" Follow-up by the reverse Kaplan-Meier method." if followup else ""),
    ]
    return Table(
        data=data,
        display=display,
        caption="Table 1. Patient characteristics",
        footnotes=tuple(footnotes),
    )


def _row(
    characteristic,
    level,
    statistic,
    *,
    n=np.nan,
    percent=np.nan,
    median=np.nan,
    lower=np.nan,
    upper=np.nan,
    text="",
) -> dict:
    return {
        "characteristic": characteristic,
        "level": level,
        "statistic": statistic,
        "n": n,
        "percent": percent,
        "median": median,
        "lower": lower,
        "upper": upper,
        "text": text,
    }


def _count_row(characteristic, level, count, n_total) -> dict:
    percent = 100.0 * count / n_total
    return _row(
        characteristic,
        level,
        "n (%)",
        n=count,
        percent=percent,
        text=f"{count} ({format_number(percent, decimals=1)})",
    )


def _median_ci_text(km: Mapping) -> str:
    def f(v):
        return NOT_REACHED if not np.isfinite(v) else format_number(v, decimals=1)

    if not np.isfinite(km["median"]):
        return NOT_REACHED
    return f"{f(km['median'])} ({_interval(f(km['ci_low']), f(km['ci_high']))})"


def _survival_data(patients, time_col, event_col) -> tuple[np.ndarray, np.ndarray]:
    time = pd.to_numeric(patients[time_col], errors="coerce")
    event = pd.to_numeric(patients[event_col], errors="coerce")
    bad = time.isna() | event.isna() | ~event.isin([0, 1]) | (time < 0)
    if bad.any():
        ids = patients.get("patient_id", pd.Series(patients.index))[bad].tolist()
        raise InputError(
            f"patients table: {time_col!r} must be a non-negative number and {event_col!r} 0 or 1 "
            f"for every patient; offending patient(s): {ids}. Fix the clinical sheet."
        )
    return time.to_numpy(float), event.to_numpy(int)


# --------------------------------------------------------------------------------------------
# Table 2: PET parameters at every time point and their changes
# --------------------------------------------------------------------------------------------


def wilcoxon_signed_rank_p(after: Sequence[float], before: Sequence[float]) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p of paired differences ``after - before``.

    Computed as R's ``wilcox.test(after, before, paired = TRUE)`` does: pairs with a missing
    value and zero differences are dropped; the exact null distribution is used when fewer
    than 50 pairs remain and no absolute differences are tied, otherwise the normal
    approximation with tie-corrected variance and continuity correction (Wilcoxon 1945;
    Hollander & Wolfe 1999, Nonparametric Statistical Methods, section 3.1).

    Returns
    -------
    p : float
        NaN when no non-zero difference remains.
    method : str
        ``"exact"``, ``"normal approximation"`` or ``"not computed"``.
    """
    a = np.asarray(after, dtype=float)
    b = np.asarray(before, dtype=float)
    d = a - b
    d = d[np.isfinite(d)]
    d = d[d != 0]
    if d.size == 0:
        return np.nan, "not computed"
    ties = np.unique(np.abs(d)).size < d.size
    if d.size < 50 and not ties:
        return float(scipy.stats.wilcoxon(d, method="exact").pvalue), "exact"
    res = scipy.stats.wilcoxon(d, method="approx", correction=True)
    return float(res.pvalue), "normal approximation"


def pet_parameters(
    patients: pd.DataFrame,
    *,
    baseline: str,
    followups: Sequence[str],
    parameters: Sequence[str] | None = None,
) -> Table:
    """Table 2: PET parameters at baseline and each follow-up, and their changes.

    Each cell is median (IQR) over patients with a value (quartiles: R type 7), with the same
    decimals at every time point of a parameter (:func:`iqr_decimals`).  The p-value
    compares the follow-up with the baseline value of the same patients by the Wilcoxon
    signed-rank test (:func:`wilcoxon_signed_rank_p`, as R's ``wilcox.test(paired = TRUE)``).

    Parameters
    ----------
    patients : pandas.DataFrame
        ``patients.tsv``: columns ``{param}_{timepoint}`` and ``{param}_change_{followup}_pct``.
    baseline : str
        Baseline time-point label (e.g. ``"basal"``).
    followups : sequence of str
        Follow-up labels in time order (e.g. ``["interim"]``).
    parameters : sequence of str, optional
        Parameters to list (default: those of :data:`PARAMETERS` present in the table).

    Returns
    -------
    Table
        ``data`` (long): parameter, column, timepoint, kind (value/change), n, median, q1,
        q3, integer, p_wilcoxon, wilcoxon_method, text.  ``display``: one row per parameter;
        columns baseline, each follow-up, each change and its p.
    """
    if parameters is None:
        parameters = [p for p in PARAMETERS if f"{p}_{baseline}" in patients.columns]
        if not parameters:
            raise InputError(
                f"Table 2: no column '<parameter>_{baseline}' in the patients table for any of "
                f"{list(PARAMETERS)}; check timepoints.baseline in the config"
            )
    needed = [f"{p}_{baseline}" for p in parameters]
    needed += [f"{p}_{f}" for p in parameters for f in followups]
    needed += [change_column(p, f) for p in parameters for f in followups]
    _require_columns(patients, needed, "Table 2 (patients)")

    data_rows, display_rows = [], []
    for param in parameters:
        unit = PARAMETER_UNITS.get(param)
        display = {"Parameter": PARAMETER_LABELS.get(param, param) + (f" ({unit})" if unit else "")}
        base_values = pd.to_numeric(patients[f"{param}_{baseline}"], errors="coerce")
        values = {
            t: pd.to_numeric(patients[f"{param}_{t}"], errors="coerce")
            for t in [baseline, *followups]
        }
        changes = {
            t: pd.to_numeric(patients[change_column(param, t)], errors="coerce") for t in followups
        }
        value_summaries = {t: median_iqr(v) for t, v in values.items()}
        change_summaries = {t: median_iqr(v) for t, v in changes.items()}
        # One number of decimals per parameter, so that its time points line up.
        value_decimals = iqr_decimals(list(value_summaries.values()))
        change_decimals = iqr_decimals(list(change_summaries.values()))
        p_values = {t: wilcoxon_signed_rank_p(values[t], base_values) for t in followups}
        for timepoint, summary in value_summaries.items():
            text = format_median_iqr(summary, decimals=value_decimals)
            p, method = p_values.get(timepoint, (np.nan, ""))
            data_rows.append(
                {
                    "parameter": param,
                    "column": f"{param}_{timepoint}",
                    "timepoint": timepoint,
                    "kind": "value",
                    **summary,
                    "p_wilcoxon": p,
                    "wilcoxon_method": method,
                    "text": text,
                }
            )
            display[f"{timepoint.capitalize()}, median (IQR)"] = text
        for timepoint, summary in change_summaries.items():
            text = format_median_iqr(summary, decimals=change_decimals)
            data_rows.append(
                {
                    "parameter": param,
                    "column": change_column(param, timepoint),
                    "timepoint": timepoint,
                    "kind": "change",
                    **summary,
                    "p_wilcoxon": np.nan,
                    "wilcoxon_method": "",
                    "text": text,
                }
            )
            display[f"Change {timepoint}, %, median (IQR)"] = text
            display[f"p ({timepoint} vs {baseline})"] = format_p(p_values[timepoint][0])
        display_rows.append(display)

    data = pd.DataFrame(data_rows)
    methods = sorted(set(data.wilcoxon_method) - {""})
    footnotes = [
        "IQR, interquartile range; TLR, tumour-to-liver ratio (SUVmax / liver SUVmean); "
        "WTV, whole tumour volume; TRE, total receptor expression (WTV × SUVmean).",
        "Change = (follow-up − baseline) / baseline × 100 %. p: two-sided Wilcoxon signed-rank "
        f"test of follow-up vs baseline ({', '.join(methods) or 'not computed'}).",
    ]
    return Table(
        data=data,
        display=pd.DataFrame(display_rows),
        caption="Table 2. PET parameters at baseline and follow-up",
        footnotes=tuple(footnotes),
    )


# --------------------------------------------------------------------------------------------
# Tables 3 and 4: Cox models
# --------------------------------------------------------------------------------------------


#: Printed names of the cut-point p-values (columns of ``cutpoints.tsv``).
CUTPOINT_P_LABELS = {
    "p_naive": "naive log-rank",
    "p_lau92": "Lausen-Schumacher 1992",
    "p_lau94": "Lausen-Sauerbrei-Schumacher 1994",
    "p_exact": "exact (Gaussian process)",
    "p_permutation": "permutation",
    "p_altman": "Altman-corrected",
}


def format_cutpoint(cutpoint: float) -> str:
    """Print a cut-point (3 significant digits) for the coding column."""
    return format_number(cutpoint, sig=3)


def dichotomy_label(cutpoint: float) -> str:
    """Coding text of a dichotomised parameter: ``"≤ c (ref.) vs > c"``.

    Groups as R's ``maxstat``: low = value ≤ cut-point (the reference of the HR), high =
    value > cut-point.
    """
    c = format_cutpoint(cutpoint)
    return f"≤ {c} (ref.) vs > {c}"


def cox_table(
    cox: pd.DataFrame,
    *,
    cutpoints: pd.DataFrame | None = None,
    corrected_p: str = "p_exact",
    bootstrap: pd.DataFrame | None = None,
    caption: str | None = None,
    number: int = 3,
) -> Table:
    """Tables 3 and 4: Cox proportional-hazards models, formatted as a paper prints them.

    Parameters
    ----------
    cox : pandas.DataFrame
        ``cox_univariate.tsv`` or ``cox_adjusted.tsv`` (:func:`netpet.stats.cox.cox_table`,
        columns :data:`COX_COLUMNS`), one row per parameter and coding.  Rows with
        ``method == "firth_profile"`` are marked with :data:`FIRTH_MARK` and print the
        penalised likelihood-ratio p (:func:`cox_reported_p`); ``"not_estimable"`` rows print
        "not estimable".
    cutpoints : pandas.DataFrame, optional
        ``cutpoints.tsv``; needed to print the groups of dichotomised rows ("≤ c (ref.) vs > c")
        and their p-value corrected for the cut-point search.
    corrected_p : str, optional
        Column of ``cutpoints`` printed as the search-corrected p (default: the exact
        Gaussian-process p of the maximally selected log-rank statistic).
    bootstrap : pandas.DataFrame, optional
        Summary of :func:`netpet.stats.validation.bootstrap_table` (``bootstrap.tsv``):
        columns ``parameter``, ``hr_corrected``, optional ``cut_stability`` and
        ``n_used``; adds the optimism-corrected HR (and how often the resamples chose the same
        cut-point) to the dichotomised rows.  Its HRs are univariate, so it is refused for
        adjusted tables.
    caption : str, optional
        Default: "Table 3. Univariate Cox ..." or "Table 4. Cox ... adjusted for ..." depending
        on the ``covariates`` column.
    number : int, optional
        Table number used in the default caption.

    Returns
    -------
    Table
        ``data``: the Cox rows (plus ``cutpoint`` and the corrected p when given);
        ``display``: Parameter, Coding, Events/n, HR (95 % CI), p, [p corrected], [HR
        optimism-corrected], C-index, PH test p.
    """
    _require_columns(cox, [c for c in COX_COLUMNS if c != "note"], "Cox table")
    data = cox.copy()
    if "note" not in data.columns:
        data["note"] = ""
    covariates, covariate_notes = _parse_covariates(data.covariates)
    covariate_text = ", ".join(COVARIATE_LABELS.get(c, c) for c in covariates)
    if cutpoints is not None:
        _require_columns(cutpoints, ["parameter", "cutpoint", corrected_p], "cut-point table")
        extra = cutpoints[["parameter", "cutpoint", corrected_p]].rename(
            columns={corrected_p: "p_search_corrected"}
        )
        data = data.merge(extra, on="parameter", how="left", validate="many_to_one")
        data.loc[data.coding != "dichotomised", ["cutpoint", "p_search_corrected"]] = np.nan
    if bootstrap is not None:
        if covariates:
            raise InputError(
                "Cox table: the bootstrap (optimism-corrected) HRs are univariate; give them "
                "with the univariate table only, not with one adjusted for "
                f"{', '.join(covariates)}"
            )
        _require_columns(bootstrap, ["parameter", "hr_corrected"], "bootstrap table")
        keep = [
            c
            for c in ("parameter", "hr_corrected", "cut_stability", "n_used", "n_resamples")
            if c in bootstrap.columns
        ]
        data = data.merge(bootstrap[keep], on="parameter", how="left", validate="many_to_one")
        data.loc[data.coding != "dichotomised", keep[1:]] = np.nan

    any_firth = bool((data.method == "firth_profile").any())
    display = pd.DataFrame(
        {
            "Parameter": [parameter_label(p) for p in data.parameter],
            "Coding": [_coding_text(row) for row in data.itertuples()],
            "Events/n": [f"{int(e)}/{int(n)}" for e, n in zip(data.events, data.n, strict=True)],
            "HR (95 % CI)": [
                cox_hr_text(r.hr, r.ci_low, r.ci_high, r.method) for r in data.itertuples()
            ],
            "p": [format_p(cox_reported_p(r.method, r.p_wald, r.p_lr)) for r in data.itertuples()],
        }
    )
    footnotes = [
        "HR, hazard ratio; CI, confidence interval; p, Wald test; C-index, Harrell's "
        "concordance; PH test p, Schoenfeld-residual test of proportional hazards (global, "
        "as R's cox.zph).",
        "Continuous parameters: HR per unit (per percentage point for changes). Dichotomised "
        "parameters: HR of the high group (> c) relative to the low group (≤ c, reference), "
        "c the cut-point that maximises the standardised log-rank statistic; groups as R's "
        "maxstat (low = value ≤ c).",
    ]
    if "p_search_corrected" in data.columns:
        display["p corrected for cut-point search"] = [
            format_p(p) if np.isfinite(p) else "" for p in data.p_search_corrected
        ]
        footnotes.append(
            "p corrected for cut-point search: "
            f"{CUTPOINT_P_LABELS.get(corrected_p, corrected_p)} p-value of the maximally "
            "selected log-rank statistic; the Wald p of a data-chosen cut-point is too small."
        )
    if "hr_corrected" in data.columns:
        display["HR optimism-corrected"] = [
            format_number(h, decimals=3) if np.isfinite(h) else "" for h in data.hr_corrected
        ]
        footnotes.append(
            "HR optimism-corrected: Harrell's bootstrap optimism correction of the whole "
            f"cut-point search and Cox fit (Harrell et al. 1996{_resamples_text(data)})."
        )
    if "cut_stability" in data.columns:
        display["Same cut-point in bootstrap, %"] = [
            format_number(100 * f, decimals=0) if np.isfinite(f) else "" for f in data.cut_stability
        ]
        footnotes.append(
            "Same cut-point in bootstrap: percentage of bootstrap resamples whose search chose "
            "the same cut-point as the data."
        )
    display["C-index"] = [format_number(c, decimals=3) for c in data.concordance]
    display["PH test p"] = [format_p(p) for p in data.ph_p]
    if any_firth:
        footnotes.append(FIRTH_FOOTNOTE)
    row_labels = [
        f"{parameter_label(r.parameter)} ({r.coding})" for r in data.itertuples(index=False)
    ]
    not_estimable = (data.method == "not_estimable").to_numpy()
    notes = [note_text(n) for n in data.note]
    if not_estimable.any():
        lines = _grouped_notes(
            [lb for lb, ne in zip(row_labels, not_estimable, strict=True) if ne],
            [n for n, ne in zip(notes, not_estimable, strict=True) if ne],
            n_rows=len(data),
            wrap="Not estimable ({})",
        )
        footnotes += lines or ["Not estimable: no event, or the parameter takes a single value."]
    footnotes += _grouped_notes(
        [lb for lb, ne in zip(row_labels, not_estimable, strict=True) if not ne],
        [n for n, ne in zip(notes, not_estimable, strict=True) if not ne],
        n_rows=len(data),
    )
    if covariate_text:
        footnotes.append(
            f"Adjusted for {covariate_text} (categorical, dummy-coded; lowest level reference)."
            + "".join(f" {note}." for note in covariate_notes)
        )
    if caption is None:
        caption = (
            f"Table {number}. Cox proportional-hazards models of PFS adjusted for {covariate_text}"
            if covariate_text
            else f"Table {number}. Univariate Cox proportional-hazards models of PFS"
        )
    return Table(data=data, display=display, caption=caption, footnotes=tuple(footnotes))


def _resamples_text(data: pd.DataFrame) -> str:
    """``", 500 resamples"``, or how many of them were usable when some were skipped."""
    if "n_used" not in data.columns or not data.n_used.notna().any():
        return ""
    used = data.n_used.dropna().astype(int)
    drawn = data.n_resamples.dropna().astype(int) if "n_resamples" in data.columns else used
    total = int(drawn.max()) if len(drawn) else int(used.max())
    if used.min() == total:
        return f", {total} resamples"
    span = f"{used.min()}" if used.min() == used.max() else f"{used.min()}{EN_DASH}{used.max()}"
    return (
        f", {total} resamples, of which {span} per parameter had an admissible cut-point and an "
        "estimable HR; the others were skipped"
    )


FIRTH_FOOTNOTE = (
    f"{FIRTH_MARK} Monotone likelihood (a group without events): Firth-penalised Cox regression "
    "(Firth 1993; Heinze & Schemper 2001; Breslow ties, as R's coxphf) with profile penalised-"
    "likelihood 95 % CI and penalised likelihood-ratio p."
)


def cox_reported_p(method: str, p_wald: float, p_lr: float) -> float:
    """The p-value printed for a Cox row: Wald, or the penalised LR p for Firth fits.

    A Firth fit's profile-likelihood CI and its likelihood-ratio test agree with each other;
    the Wald p of a penalised fit need not agree with either (Heinze & Schemper 2001).
    """
    return p_lr if method == "firth_profile" else p_wald


def cox_hr_text(hr: float, ci_low: float, ci_high: float, method: str, *, decimals: int = 3) -> str:
    """``"3.053 (1.003–9.289)"``, with :data:`FIRTH_MARK` for Firth fits, or "not estimable"."""
    if method == "not_estimable" or not np.isfinite(hr):
        return "not estimable"
    return format_hr(hr, ci_low, ci_high, decimals=decimals) + (
        FIRTH_MARK if method == "firth_profile" else ""
    )


def _parse_covariates(values: pd.Series) -> tuple[list[str], list[str]]:
    """Adjusters and notes from the ``covariates`` column of :func:`netpet.stats.cox.cox_table`.

    Values are ``"none"`` or ``"who_grade"`` (comma-separated adjusters), optionally followed
    by a note in brackets, e.g. ``"who_grade [who_grade: G3 (1 patient) merged into G2]"``.
    """
    names, notes = [], []
    for value in values.dropna().astype(str):
        base, _, note = value.partition(" [")
        for name in base.split(","):
            name = name.strip()
            if name and name.lower() != "none" and name not in names:
                names.append(name)
        note = note.rstrip("]").strip()
        if note and note not in notes:
            notes.append(note)
    return names, notes


def _coding_text(row) -> str:
    if row.coding == "dichotomised":
        cut = getattr(row, "cutpoint", np.nan)
        return dichotomy_label(cut) if np.isfinite(cut) else "dichotomised"
    unit = _unit_of(row.parameter)
    if unit == "%":
        return "continuous, per percentage point"
    return f"continuous, per {unit or 'unit'}"


def cutpoint_summary(cutpoints: pd.DataFrame, *, caption: str | None = None) -> Table:
    """Supplementary table: the data-driven cut-points and every p-value of the search.

    Parameters
    ----------
    cutpoints : pandas.DataFrame
        ``cutpoints.tsv`` (columns :data:`CUTPOINT_COLUMNS`).

    Returns
    -------
    Table
        ``display``: Parameter, Cut-point, Low/high n, max |standardised statistic| and the
        naive, Lau92, Lau94, exact, permutation and Altman-corrected p-values, and a Note
        column (why a value is empty, e.g. "no events") when any row has a note.  Values
        that could not be computed print as an em dash.
    """
    _require_columns(cutpoints, [c for c in CUTPOINT_COLUMNS if c != "note"], "cut-point table")
    notes = [note_text(n) for n in cutpoints.get("note", pd.Series([""] * len(cutpoints)))]

    def sizes(low, high) -> str:
        if pd.isna(low) or pd.isna(high):
            return MISSING_TEXT
        return f"{int(low)}/{int(high)}"

    display = pd.DataFrame(
        {
            "Parameter": [parameter_label(p, unit=True) for p in cutpoints.parameter],
            "Cut-point (low ≤ c)": [format_cutpoint(c) for c in cutpoints.cutpoint],
            "n low/high": [
                sizes(a, b) for a, b in zip(cutpoints.n_low, cutpoints.n_high, strict=True)
            ],
            "Statistic": [format_number(s, decimals=3) for s in cutpoints.statistic],
        }
    )
    for column, label in CUTPOINT_P_LABELS.items():
        display[f"p {label}"] = [format_p(p) for p in cutpoints[column]]
    if any(notes):
        display["Note"] = notes
    footnotes = (
        "Cut-point: the candidate that maximises the standardised log-rank statistic "
        "(Lausen & Schumacher 1992; R maxstat, smethod = 'LogRank'); low group = value ≤ c.",
        "The naive p ignores the search and is too small; the other p-values correct for it "
        "(Lausen & Schumacher 1992; Lausen, Sauerbrei & Schumacher 1994; exact Gaussian-process "
        "p; permutation; Altman et al. 1994). The Lausen-Sauerbrei-Schumacher bound can exceed 1 "
        "and is then printed as 1.00; Altman's correction exists for minprop 0.05 and 0.1 only "
        "(— otherwise).",
    )
    return Table(
        data=cutpoints.copy(),
        display=display,
        caption=caption or "Table S1. Data-driven cut-points and p-values corrected for the search",
        footnotes=footnotes,
    )
