"""Cohort-level steps: patient table, statistics, paper tables and figures, file in / file out.

One function per workflow rule; each reads TSV tables, calls :mod:`netpet.stats`,
:mod:`netpet.report.tables` or :mod:`netpet.figures`, and writes its outputs atomically.

The survival columns (config ``stats.time`` and ``stats.event``) and the adjusters of the Cox
models (``stats.adjust_for``) are honoured everywhere, labels included: the printed endpoint
("PFS", "OS") is derived from the time column and the printed adjustment ("adjusted for WHO
grade") from the adjusted Cox table (:mod:`netpet.report.labels`).

Small or degenerate cohorts (no or one event, a handful of patients, a constant parameter, no
follow-up values) never stop a step: statistics rows carry a ``note`` saying why a value is
empty, and every figure and table is still written (saying what could not be shown).

The statistics modules are imported inside the steps: the workflow imports this module for
its column names, in every Snakemake process (scipy.stats alone is about 1 s).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from netpet.config import load_sheet
from netpet.errors import InputError
from netpet.io import write_tsv
from netpet.stats.columns import (
    SUV_TYPE_COLUMN,
    change_column,
    note_text,
    parse_covariates,
    value_column,
)


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
        columns += [value_column(parameter, timepoint) for timepoint in (baseline, *followups)]
    return columns


def figure_columns(figure_parameters: Sequence[str], *, followups: Sequence[str]) -> list[str]:
    """Columns with Kaplan-Meier, waterfall and cut-point figures: changes to the first follow-up.

    Config ``report.figure_parameters`` (e.g. ``[wtv_ml, tre]``) ->
    ``["wtv_ml_change_interim_pct", "tre_change_interim_pct"]``.
    """
    return [change_column(parameter, followups[0]) for parameter in figure_parameters]


def patients_step(
    *,
    scans_path: str | os.PathLike,
    clinical_path: str | os.PathLike,
    baseline: str,
    followups: Sequence[str],
    parameters: Sequence[str],
    time_col: str,
    event_col: str,
    out: str | os.PathLike,
    heterogeneity_path: str | os.PathLike | None = None,
) -> None:
    """``patients.tsv``: clinical columns, every PET parameter per time point, and changes.

    ``time_col`` and ``event_col`` (config ``stats.time``, ``stats.event``) are checked in the
    clinical sheet.  With ``heterogeneity_path`` (``results/longitudinal/patients.tsv``) the
    lesion-level response of each follow-up joins as columns such as
    ``heterogeneous_interim`` and ``n_new_interim``.
    """
    from netpet.stats.patients import build_patient_table

    clinical = load_sheet(clinical_path, "clinical")
    table = build_patient_table(
        _read(scans_path),
        clinical,
        baseline=baseline,
        followups=list(followups),
        parameters=list(parameters),
        time_col=time_col,
        event_col=event_col,
        scans_source=str(scans_path),
        clinical_source=str(clinical_path),
    )
    if heterogeneity_path is not None:
        from netpet.longitudinal.heterogeneity import heterogeneity_wide

        wide = heterogeneity_wide(_read(heterogeneity_path), followups=list(followups))
        table = table.merge(wide, on="patient_id", how="left")
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
    from netpet.stats.cutpoint import cutpoint_curves, cutpoint_table

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
    from netpet.stats.cox import cox_table

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
    from netpet.stats.validation import bootstrap_table

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
    scans_path: str | os.PathLike | None = None,
) -> None:
    """Tables 1-4 and S1 (cut-points), each as TSV plus the formatted versions asked for.

    ``stems`` maps ``table1``, ``table2``, ``table3``, ``table4``, ``tableS1`` to output
    paths without suffix.  ``scans_path`` (``scans.tsv``), when given, tells Table 2 the SUV
    normalisation of the scans (column ``suv_type``; its names stay plain without it).
    """
    from netpet.report import tables
    from netpet.report.render import write_table
    from netpet.stats.cox import is_categorical

    patients = _read(patients_path)
    cutpoints = _read(cutpoints_path)
    cox_adjusted = _read(cox_adjusted_path)
    adjusters, _ = parse_covariates(cox_adjusted["covariates"])
    survival = {"time_col": time_col, "event_col": event_col}
    built = {
        "table1": tables.patient_characteristics(patients, **survival),
        "table2": tables.pet_parameters(
            patients,
            baseline=baseline,
            followups=list(followups),
            parameters=list(parameters),
            suv_type=None if scans_path is None else study_suv_type(_read(scans_path), scans_path),
        ),
        "table3": tables.cox_table(
            _read(cox_univariate_path),
            cutpoints=cutpoints,
            corrected_p=corrected_p,
            bootstrap=_read(bootstrap_path),
            number=3,
            **survival,
        ),
        "table4": tables.cox_table(
            cox_adjusted,
            cutpoints=cutpoints,
            corrected_p=corrected_p,
            number=4,
            categorical=[c for c in adjusters if c in patients and is_categorical(c, patients[c])],
            **survival,
        ),
        "tableS1": tables.cutpoint_summary(cutpoints),
    }
    for name, table in built.items():
        write_table(table, stems[name], formats=formats)


def study_suv_type(scans: pd.DataFrame, source: str | os.PathLike = "scans table") -> str | None:
    """The SUV normalisation of the study's scans (column ``suv_type``), None when not recorded.

    Raises
    ------
    InputError
        When the scans do not share one normalisation: their SUVs cannot be compared.
    """
    if SUV_TYPE_COLUMN not in scans.columns:
        return None
    types = sorted(set(scans[SUV_TYPE_COLUMN].dropna().astype(str)))
    if len(types) > 1:
        raise InputError(
            f"{source}: column {SUV_TYPE_COLUMN!r} holds {', '.join(types)}; the scans of one "
            "study must share one SUV normalisation (config suv.type): rerun the SUV stage"
        )
    return types[0] if types else None


def km_step(
    *,
    patients_path: str | os.PathLike,
    cutpoints_path: str | os.PathLike,
    cox_univariate_path: str | os.PathLike,
    column: str,
    time_col: str,
    event_col: str,
    time_origin: str,
    confidence_band: bool,
    out: str | os.PathLike,
):
    """Kaplan-Meier curves of the low and high groups of one dichotomised column.

    Without a cut-point (e.g. no events) the figure shows all patients and the reason.  The
    time axis says ``time_origin`` (config ``stats.time_origin``) and the unit of
    ``time_col``; the survival axis names the endpoint of ``time_col``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure written to ``out``.
    """
    from netpet.figures.survival import km_figure
    from netpet.report.labels import endpoint

    cutpoints = _read(cutpoints_path).set_index("parameter")
    if column not in cutpoints.index:
        raise InputError(
            f"{cutpoints_path}: no row for {column!r}; the cut-point search must include every "
            "figure parameter (check stats.parameters and report.figure_parameters in the config)"
        )
    cox = _read(cox_univariate_path)
    cox_row = cox[(cox["parameter"] == column) & (cox["coding"] == "dichotomised")]
    fig, _ = km_figure(
        _read(patients_path),
        column,
        float(cutpoints.loc[column, "cutpoint"]),
        note=note_text(cutpoints.loc[column].get("note")),
        time_col=time_col,
        event_col=event_col,
        cox_row=cox_row.iloc[0].to_dict() if len(cox_row) else None,
        ci=confidence_band,
        time_label=endpoint(time_col, event_col).time_axis_label(time_origin),
        path=out,
    )
    return fig


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
) -> dict:
    """Forest plot of hazard ratios, waterfall plots and cut-point search curves.

    The forest plot's second panel is titled after the adjusters of the adjusted Cox table
    ("Adjusted for WHO grade"); waterfall bars are coloured by ``event_col``.

    Returns
    -------
    dict
        ``forest``, ``waterfall``, ``cutpoints``: the figures written.
    """
    from netpet.figures.cutpoint import cutpoint_figure
    from netpet.figures.forest import forest_plot
    from netpet.figures.waterfall import waterfall_figure
    from netpet.report.labels import adjustment_label

    patients = _read(patients_path)
    cutpoints = _read(cutpoints_path)
    cox_adjusted = _read(cox_adjusted_path)
    adjusters, _ = parse_covariates(cox_adjusted["covariates"])
    forest, _ = forest_plot(
        {
            "Univariate": _read(cox_univariate_path),
            f"Adjusted for {adjustment_label(adjusters)}": cox_adjusted,
        },
        cutpoints=cutpoints,
        path=forest_out,
    )
    waterfall, _ = waterfall_figure(
        patients,
        list(columns),
        cutpoints=cutpoints,
        event_col=event_col,
        clip_pct=clip_pct,
        path=waterfall_out,
    )
    search, _ = cutpoint_figure(
        _read(curves_path),
        cutpoints,
        list(columns),
        patients=patients,
        event_col=event_col,
        corrected_p=corrected_p,
        minprop=minprop,
        path=cutpoints_out,
    )
    return {"forest": forest, "waterfall": waterfall, "cutpoints": search}


def mip_step(
    *,
    patient_id: str,
    timepoints: Sequence[str],
    pet_suv_paths: Sequence[str | os.PathLike],
    lesion_paths: Sequence[str | os.PathLike],
    suv_provenance_paths: Sequence[str | os.PathLike],
    suv_max: float,
    out: str | os.PathLike,
) -> None:
    """Maximum-intensity projections of one patient's PET at every time point.

    ``suv_max`` (the window's top, SUVbw) is converted to the configured SUV type with the
    baseline scan's SUV / SUVbw ratio (suv.json), one window for every panel.
    """
    import json
    from pathlib import Path

    import SimpleITK as sitk

    from netpet.figures.mip import mip_timepoints_figure

    ratio = json.loads(Path(suv_provenance_paths[0]).read_text()).get("suv_per_suvbw", 1.0)
    mip_timepoints_figure(
        [sitk.ReadImage(str(path)) for path in pet_suv_paths],
        list(timepoints),
        patient_id=patient_id,
        labels=[sitk.ReadImage(str(path)) for path in lesion_paths] or None,
        suv_max=suv_max * ratio,
        path=out,
    )
