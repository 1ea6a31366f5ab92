"""Cohort-level steps: patient table, statistics, paper tables and figures, file in / file out.

One function per workflow rule; each reads TSV tables, calls :mod:`netpet.stats`,
:mod:`netpet.report.tables` or :mod:`netpet.figures`, and writes its outputs atomically.

Small or degenerate cohorts (no or one event, a handful of patients, a constant parameter, no
follow-up values) never stop a step: statistics rows carry a ``note`` saying why a value is
empty, and every figure and table is still written (saying what could not be shown).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from netpet.config import load_sheet
from netpet.errors import InputError
from netpet.io import write_tsv
from netpet.stats.cox import cox_table
from netpet.stats.cutpoint import cutpoint_curves, cutpoint_table
from netpet.stats.patients import build_patient_table, change_column
from netpet.stats.validation import bootstrap_table


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def analysed_columns(
    parameters: Sequence[str], *, baseline: str, followups: Sequence[str]
) -> list[str]:
    """Columns of the patient table that the statistics analyse, in report order.

    For each PET parameter: its change from baseline to every follow-up first (the study's
    question), then its value at the baseline and at every follow-up.
    """
    columns = []
    for parameter in parameters:
        columns += [change_column(parameter, followup) for followup in followups]
        columns += [f"{parameter}_{timepoint}" for timepoint in (baseline, *followups)]
    return columns


def patients_step(
    *,
    scans_path: str | os.PathLike,
    clinical_path: str | os.PathLike,
    baseline: str,
    followups: Sequence[str],
    parameters: Sequence[str],
    out: str | os.PathLike,
) -> None:
    """``patients.tsv``: clinical columns, every PET parameter per time point, and changes."""
    clinical = load_sheet(clinical_path, "clinical")
    table = build_patient_table(
        _read(scans_path),
        clinical,
        baseline=baseline,
        followups=list(followups),
        parameters=list(parameters),
        scans_source=str(scans_path),
        clinical_source=str(clinical_path),
    )
    write_tsv(out, table)


def cutpoints_step(
    *,
    patients_path: str | os.PathLike,
    columns: Sequence[str],
    time_col: str,
    event_col: str,
    minprop: float,
    n_permutations: int,
    seed: int,
    out: str | os.PathLike,
    curves_out: str | os.PathLike,
) -> None:
    """Maximally selected log-rank cut-point of every analysed column, and its curve."""
    patients = _read(patients_path)
    table = cutpoint_table(
        patients,
        list(columns),
        time_col,
        event_col,
        minprop=minprop,
        n_permutations=n_permutations,
        seed=seed,
    )
    curves = cutpoint_curves(patients, list(columns), time_col, event_col, minprop=minprop)
    write_tsv(out, table)
    write_tsv(curves_out, curves)


def cox_step(
    *,
    patients_path: str | os.PathLike,
    cutpoints_path: str | os.PathLike,
    columns: Sequence[str],
    time_col: str,
    event_col: str,
    adjust_for: Sequence[str] | None,
    out: str | os.PathLike,
) -> None:
    """Cox models (Efron; Firth under separation) of every column, continuous and cut."""
    table = cox_table(
        _read(patients_path),
        list(columns),
        time_col=time_col,
        event_col=event_col,
        cutpoints=_read(cutpoints_path),
        adjust_for=list(adjust_for) if adjust_for else None,
    )
    write_tsv(out, table)


def bootstrap_step(
    *,
    patients_path: str | os.PathLike,
    columns: Sequence[str],
    time_col: str,
    event_col: str,
    minprop: float,
    n_resamples: int,
    seed: int,
    out: str | os.PathLike,
    frequencies_out: str | os.PathLike,
) -> None:
    """Bootstrap of the search-then-fit procedure: optimism-corrected HRs, cut frequencies."""
    summary, frequencies = bootstrap_table(
        _read(patients_path),
        list(columns),
        time_col,
        event_col,
        minprop=minprop,
        n_resamples=n_resamples,
        seed=seed,
    )
    write_tsv(out, summary)
    write_tsv(frequencies_out, frequencies)


def tables_step(
    *,
    patients_path: str | os.PathLike,
    cutpoints_path: str | os.PathLike,
    cox_univariate_path: str | os.PathLike,
    cox_adjusted_path: str | os.PathLike,
    bootstrap_path: str | os.PathLike,
    baseline: str,
    followups: Sequence[str],
    parameters: Sequence[str],
    time_col: str,
    event_col: str,
    corrected_p: str,
    formats: Sequence[str],
    stems: dict[str, str],
) -> None:
    """Tables 1-4 and S1 (cut-points), each as TSV plus the formatted versions asked for.

    ``stems`` maps ``table1``, ``table2``, ``table3``, ``table4``, ``tableS1`` to output
    paths without suffix.
    """
    from netpet.report import tables

    patients = _read(patients_path)
    cutpoints = _read(cutpoints_path)
    built = {
        "table1": tables.patient_characteristics(patients, time_col=time_col, event_col=event_col),
        "table2": tables.pet_parameters(
            patients, baseline=baseline, followups=list(followups), parameters=list(parameters)
        ),
        "table3": tables.cox_table(
            _read(cox_univariate_path),
            cutpoints=cutpoints,
            corrected_p=corrected_p,
            bootstrap=_read(bootstrap_path),
            number=3,
        ),
        "table4": tables.cox_table(
            _read(cox_adjusted_path), cutpoints=cutpoints, corrected_p=corrected_p, number=4
        ),
        "tableS1": tables.cutpoint_summary(cutpoints),
    }
    for name, table in built.items():
        tables.write_table(table, stems[name], formats=formats)


def km_step(
    *,
    patients_path: str | os.PathLike,
    cutpoints_path: str | os.PathLike,
    cox_univariate_path: str | os.PathLike,
    column: str,
    time_col: str,
    event_col: str,
    time_label: str,
    confidence_band: bool,
    out: str | os.PathLike,
) -> None:
    """Kaplan-Meier curves of the low and high groups of one dichotomised column.

    Without a cut-point (e.g. no events) the figure shows all patients and the reason.
    """
    from netpet.figures.survival import km_figure
    from netpet.report.tables import note_text

    cutpoints = _read(cutpoints_path).set_index("parameter")
    if column not in cutpoints.index:
        raise InputError(
            f"{cutpoints_path}: no row for {column!r}; the cut-point search must include every "
            "figure parameter (check stats.parameters and report.figure_parameters in the config)"
        )
    cox = _read(cox_univariate_path)
    cox_row = cox[(cox["parameter"] == column) & (cox["coding"] == "dichotomised")]
    km_figure(
        _read(patients_path),
        column,
        float(cutpoints.loc[column, "cutpoint"]),
        note=note_text(cutpoints.loc[column].get("note")),
        time_col=time_col,
        event_col=event_col,
        cox_row=cox_row.iloc[0].to_dict() if len(cox_row) else None,
        ci=confidence_band,
        time_label=time_label,
        path=out,
    )


def summary_figures_step(
    *,
    patients_path: str | os.PathLike,
    cutpoints_path: str | os.PathLike,
    curves_path: str | os.PathLike,
    cox_univariate_path: str | os.PathLike,
    cox_adjusted_path: str | os.PathLike,
    columns: Sequence[str],
    event_col: str,
    corrected_p: str,
    minprop: float,
    clip_pct: float,
    forest_out: str | os.PathLike,
    waterfall_out: str | os.PathLike,
    cutpoints_out: str | os.PathLike,
) -> None:
    """Forest plot of hazard ratios, waterfall plots and cut-point search curves."""
    from netpet.figures.cutpoint import cutpoint_figure
    from netpet.figures.forest import forest_plot
    from netpet.figures.waterfall import waterfall_figure

    patients = _read(patients_path)
    cutpoints = _read(cutpoints_path)
    forest_plot(
        {
            "Univariate": _read(cox_univariate_path),
            "Adjusted for WHO grade": _read(cox_adjusted_path),
        },
        cutpoints=cutpoints,
        path=forest_out,
    )
    waterfall_figure(
        patients,
        list(columns),
        cutpoints=cutpoints,
        event_col=event_col,
        clip_pct=clip_pct,
        path=waterfall_out,
    )
    cutpoint_figure(
        _read(curves_path),
        cutpoints,
        list(columns),
        patients=patients,
        event_col=event_col,
        corrected_p=corrected_p,
        minprop=minprop,
        path=cutpoints_out,
    )
