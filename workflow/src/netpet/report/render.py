"""Renderers of the paper tables: TSV (numbers), HTML, Markdown and LaTeX (text).

A :class:`Table` holds the numbers of a paper table (``data``, written as TSV) and its
printed cells (``display``, rendered by :func:`format_table`); :func:`write_table` writes the
files atomically.  The cells are already formatted (:mod:`netpet.report.format`): renderers
only escape them for their format.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from netpet import io
from netpet.errors import InputError
from netpet.report.format import EN_DASH, FIRTH_MARK, MINUS

#: Start of the first cell of an indented row (a level under its header row in Table 1); HTML
#: indents it with CSS, LaTeX with ``\quad``.
INDENT = "\u2003"  # em space

#: Formats :func:`write_table` writes.
FORMATS = ("tsv", "html", "md", "tex")


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
    unknown = set(formats) - set(FORMATS)
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
            if j == 0 and value.startswith(INDENT):
                cells.append(f'<td class="indent">{esc(value.lstrip(INDENT))}</td>')
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
