"""The paper's tables: patient characteristics, PET parameters, Cox models and cut-points.

Every table function returns a :class:`~netpet.report.render.Table`: ``data`` holds the
numbers (machine-readable, written as TSV), ``display`` the strings as printed in the paper
(written as HTML, Markdown and LaTeX by :mod:`netpet.report.render`), with a caption and
footnotes.

- Table 1, :func:`patient_characteristics`;
- Table 2, :func:`pet_parameters`;
- Tables 3 (univariate) and 4 (adjusted), :func:`cox_table`;
- Table S1, :func:`cutpoint_summary`.

The statistics come from :mod:`netpet.stats` (Kaplan-Meier medians, the Wilcoxon test and
quartiles as R computes them in :mod:`netpet.stats.survival` and
:mod:`netpet.stats.descriptive`; Cox models and cut-points from their tables); numbers are
printed by :mod:`netpet.report.format` and names by :mod:`netpet.report.labels`, which derive
the endpoint ("PFS") from the configured survival columns and the adjustment ("WHO grade")
from the Cox table.  Column names of the patients table follow :mod:`netpet.stats.columns`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from netpet.errors import InputError
from netpet.report import labels
from netpet.report.format import (
    EN_DASH,
    FIRTH_MARK,
    MISSING_TEXT,
    cox_hr_text,
    dichotomy_label,
    format_cutpoint,
    format_median_ci,
    format_median_iqr,
    format_number,
    format_p,
    format_triple,
    iqr_decimals,
    note_parts,
)
from netpet.report.labels import CUTPOINT_P_LABELS, parameter_label
from netpet.report.render import INDENT, Table
from netpet.stats.columns import (
    COX_COLUMNS,
    CUTPOINT_COLUMNS,
    change_column,
    note_text,
    parse_covariates,
    value_column,
)
from netpet.stats.cox import reported_p
from netpet.stats.descriptive import median_iqr, wilcoxon_signed_rank_p
from netpet.stats.patients import WHO_GRADE_LEVELS
from netpet.stats.survival import median_survival


def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {missing}; present: {list(df.columns)}. "
            "Produce the table with the netpet stats stage or add the columns."
        )


def _grouped_notes(
    row_labels: Sequence[str], notes: Sequence[str], *, n_rows: int, wrap: str = "{}"
) -> list[str]:
    """One footnote per distinct note: ``"<wrapped note>: <labels or 'all rows'>."``.

    ``n_rows`` is the number of rows of the whole table ("all rows" when a note has them all).
    """
    by_note: dict[str, list[str]] = {}
    for label, note in zip(row_labels, notes, strict=True):
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
    listed); Ki-67, median (IQR) and primary site, n (%) when those columns exist; events of
    the endpoint, n (%); its median with 95 % CI (Kaplan-Meier; CI of the median from the
    pointwise "log" CI of the survival curve as R's ``survfit`` computes it,
    :func:`netpet.stats.survival.median_survival`); median follow-up by reverse Kaplan-Meier
    (Schemper & Smith 1996, Control Clin Trials 17:343) when ``followup``; deaths, n (%) when
    ``death_col`` exists and is not the event.  Missing values are counted in a "Missing" row.
    Percentages are of all patients, one decimal.  The endpoint is named after ``time_col``
    and ``event_col`` (:func:`netpet.report.labels.endpoint`: "PFS events (progression or
    death)", "Median PFS, months"; "OS", "death" for ``os_months`` and ``death``).

    Parameters
    ----------
    patients : pandas.DataFrame
        One row per patient (``patients.tsv``): ``patient_id``, ``sex`` (M/F), ``age_years``,
        ``who_grade`` (G1/G2/G3), ``time_col``, ``event_col`` (0/1), optional ``ki67``,
        ``primary_site``, ``death_col``.
    time_col, event_col : str, optional
        Survival time (config ``stats.time``, in the unit its name ends with, else months) and
        event indicator (``stats.event``; 1 = event, 0 = censored).
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

    def categorical(column, title, order=(), level_labels=None):
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
            name = (level_labels or {}).get(level, level)
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
        text = format_triple(median, lower, upper) if x.size else MISSING_TEXT
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

    categorical("sex", "Sex", order=("M", "F"), level_labels=_SEX_LABELS)
    continuous("age_years", "Age, years", "median (range)")
    categorical("who_grade", "WHO grade", order=WHO_GRADE_LEVELS)
    if "ki67" in patients.columns:
        continuous("ki67", "Ki-67 index, %", "median (IQR)")
    if "primary_site" in patients.columns:
        categorical("primary_site", "Primary tumour site")

    end = labels.endpoint(time_col, event_col)
    time, event = _survival_data(patients, time_col, event_col)
    n_events = int(event.sum())
    rows.append(
        _count_row(f"{end.abbreviation} events ({end.events}), n (%)", "", n_events, n_total)
    )
    km = median_survival(time, event)
    rows.append(
        _row(
            f"Median {end.abbreviation}, {end.time_unit} (95 % CI)",
            "",
            "median (95 % CI)",
            n=len(time),
            median=km["median"],
            lower=km["ci_low"],
            upper=km["ci_high"],
            text=format_median_ci(km),
        )
    )
    if followup:
        reverse = median_survival(time, 1 - event)
        rows.append(
            _row(
                f"Median follow-up, {end.time_unit} (95 % CI)",
                "",
                "reverse Kaplan-Meier median (95 % CI)",
                n=len(time),
                median=reverse["median"],
                lower=reverse["ci_low"],
                upper=reverse["ci_high"],
                text=format_median_ci(reverse),
            )
        )
    if death_col in patients.columns and death_col != event_col:
        deaths = pd.to_numeric(patients[death_col], errors="coerce")
        rows.append(_count_row("Deaths, n (%)", "", int((deaths == 1).sum()), n_total))

    data = pd.DataFrame(rows)
    label = [
        f"{INDENT}{lv}" if lv else ch
        for ch, lv in zip(data.characteristic, data.level, strict=True)
    ]
    display = pd.DataFrame({"Characteristic": label, f"Patients (n = {n_total})": data.text})
    abbreviations = "IQR, interquartile range; CI, confidence interval; NR, not reached"
    if end.name != end.abbreviation:
        abbreviations += f"; {end.abbreviation}, {end.name}"
    footnotes = [
        f"Percentages of all patients. {abbreviations}.",
        f"Median {end.abbreviation} from the Kaplan-Meier estimate; its 95 % CI from the "
        "pointwise 95 % CI of the survival curve (log transform, as R's survfit)."
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


def pet_parameters(
    patients: pd.DataFrame,
    *,
    baseline: str,
    followups: Sequence[str],
    parameters: Sequence[str] | None = None,
    suv_type: str | None = None,
) -> Table:
    """Table 2: PET parameters at baseline and each follow-up, and their changes.

    Each cell is median (IQR) over patients with a value (quartiles: R type 7), with the same
    decimals at every time point of a parameter
    (:func:`~netpet.report.format.iqr_decimals`).  The p-value compares the follow-up with the
    baseline value of the same patients by the Wilcoxon signed-rank test
    (:func:`~netpet.stats.descriptive.wilcoxon_signed_rank_p`, as R's
    ``wilcox.test(paired = TRUE)``).

    Parameters
    ----------
    patients : pandas.DataFrame
        ``patients.tsv``: a column per parameter and time point and per parameter and
        follow-up change (:func:`~netpet.stats.columns.value_column`,
        :func:`~netpet.stats.columns.change_column`).
    baseline : str
        Baseline time-point label (e.g. ``"basal"``).
    followups : sequence of str
        Follow-up labels in time order (e.g. ``["interim"]``).
    parameters : sequence of str, optional
        Parameters to list (default: those of :data:`netpet.report.labels.PARAMETERS` present
        in the table).
    suv_type : {"bw", "lbm", "bsa"}, optional
        SUV normalisation of the scans (``suv_type`` of ``scans.tsv``): SUV parameters print
        as "SUVmax (SUVbw)", "SULmax" (lean body mass) or "SUVmax (SUVbsa)", with a footnote
        defining it (:func:`netpet.report.labels.suv_parameter_name`).  None (not recorded):
        "SUVmax", no footnote.

    Returns
    -------
    Table
        ``data`` (long): parameter, column, timepoint, kind (value/change), n, median, q1,
        q3, integer, p_wilcoxon, wilcoxon_method, text.  ``display``: one row per parameter;
        columns baseline, each follow-up, each change and its p.
    """
    if parameters is None:
        parameters = [p for p in labels.PARAMETERS if value_column(p, baseline) in patients.columns]
        if not parameters:
            raise InputError(
                f"Table 2: no column {value_column('<parameter>', baseline)!r} in the patients "
                f"table for any of {list(labels.PARAMETERS)}; check timepoints.baseline in the "
                "config"
            )
    needed = [value_column(p, baseline) for p in parameters]
    needed += [value_column(p, f) for p in parameters for f in followups]
    needed += [change_column(p, f) for p in parameters for f in followups]
    _require_columns(patients, needed, "Table 2 (patients)")

    data_rows, display_rows = [], []
    for param in parameters:
        display = {"Parameter": labels.suv_parameter_name(param, suv_type)}
        base_values = pd.to_numeric(patients[value_column(param, baseline)], errors="coerce")
        values = {
            t: pd.to_numeric(patients[value_column(param, t)], errors="coerce")
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
                    "column": value_column(param, timepoint),
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
    if suv_type is not None:
        footnotes.append(labels.suv_footnote(suv_type))
    return Table(
        data=data,
        display=pd.DataFrame(display_rows),
        caption="Table 2. PET parameters at baseline and follow-up",
        footnotes=tuple(footnotes),
    )


# --------------------------------------------------------------------------------------------
# Tables 3 and 4: Cox models
# --------------------------------------------------------------------------------------------


def cox_table(
    cox: pd.DataFrame,
    *,
    cutpoints: pd.DataFrame | None = None,
    corrected_p: str = "p_exact",
    bootstrap: pd.DataFrame | None = None,
    caption: str | None = None,
    number: int = 3,
    time_col: str = "pfs_months",
    event_col: str = "progression",
    categorical: Collection[str] | None = None,
) -> Table:
    """Tables 3 and 4: Cox proportional-hazards models, formatted as a paper prints them.

    Parameters
    ----------
    cox : pandas.DataFrame
        ``cox_univariate.tsv`` or ``cox_adjusted.tsv`` (:func:`netpet.stats.cox.cox_table`,
        columns :data:`~netpet.stats.columns.COX_COLUMNS`), one row per parameter and coding.
        The adjusters are read from its ``covariates`` column.  Rows with
        ``method == "firth_profile"`` are marked with :data:`~netpet.report.format.FIRTH_MARK`
        and print the penalised likelihood-ratio p (:func:`netpet.stats.cox.reported_p`);
        ``"not_estimable"`` rows print "not estimable".
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
        Default: "Table 3. Univariate Cox ... of PFS" or "Table 4. Cox ... of PFS adjusted for
        WHO grade" depending on the ``covariates`` column
        (:func:`netpet.report.labels.adjustment_label`).
    number : int, optional
        Table number used in the default caption.
    time_col, event_col : str, optional
        Survival columns the models were fitted to; they name the endpoint in the caption
        (:func:`netpet.report.labels.endpoint`).
    categorical : collection of str, optional
        Adjusters that entered dummy-coded (:func:`netpet.stats.cox.is_categorical`), the
        others as numbers; the footnote says which.  Default: all of them.

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
    covariates, covariate_notes = parse_covariates(data.covariates)
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
            "p": [format_p(reported_p(r.method, r.p_wald, r.p_lr)) for r in data.itertuples()],
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
    if covariates:
        footnotes.append(
            f"Adjusted for {_adjustment_text(covariates, categorical)}."
            + "".join(f" {note}." for note in covariate_notes)
        )
    if caption is None:
        end = labels.endpoint(time_col, event_col)
        models = f"Cox proportional-hazards models of {end.abbreviation}"
        caption = (
            f"Table {number}. {models} adjusted for {labels.adjustment_label(covariates)}"
            if covariates
            else f"Table {number}. Univariate {models}"
        )
    return Table(data=data, display=display, caption=caption, footnotes=tuple(footnotes))


_CATEGORICAL_TEXT = "categorical, dummy-coded; lowest level reference"
_NUMERIC_TEXT = "continuous, per unit"


def _adjustment_text(covariates: Sequence[str], categorical: Collection[str] | None) -> str:
    """``"WHO grade (categorical, dummy-coded; lowest level reference)"``, and how others enter.

    Adjusters of one kind share the description: ``"WHO grade and sex (categorical, ...)"``;
    mixed kinds each have theirs: ``"WHO grade (categorical, ...) and Ki-67 (continuous, per
    unit)"``.
    """
    kinds = [
        _CATEGORICAL_TEXT if categorical is None or c in categorical else _NUMERIC_TEXT
        for c in covariates
    ]
    if len(set(kinds)) == 1:
        return f"{labels.adjustment_label(covariates)} ({kinds[0]})"
    return labels.join_words(
        [f"{labels.covariate_label(c)} ({kind})" for c, kind in zip(covariates, kinds, strict=True)]
    )


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


def _coding_text(row) -> str:
    if row.coding == "dichotomised":
        cut = getattr(row, "cutpoint", np.nan)
        return dichotomy_label(cut) if np.isfinite(cut) else "dichotomised"
    unit = labels.unit_of(row.parameter)
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
