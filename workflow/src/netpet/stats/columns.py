"""Names of the columns the study writes, and how their cells are read back.

One place for each name.  The patient table (``patients.tsv``) holds every PET parameter at
every time point as :func:`value_column` (``wtv_ml_basal``) and its proportional change from
baseline as :func:`change_column` (``wtv_ml_change_interim_pct``); :func:`parse_column` reads
either back.  The statistics tables have fixed columns (:data:`CUTPOINT_COLUMNS`,
:data:`COX_COLUMNS`, :data:`BOOTSTRAP_COLUMNS`); two of their cells have a small grammar of
their own, built and parsed here: ``note`` (reasons joined by :data:`NOTE_SEPARATOR`) and the
Cox table's ``covariates`` (:func:`covariates_cell`, :func:`parse_covariates`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

#: Column of the patient table listing why a change could not be computed.
CHANGE_NOTES_COLUMN = "change_notes"

#: Column of the scans table (``results/features/scans.tsv``) naming each scan's SUV
#: normalisation (bw, lbm, bsa); the report prints it (Table 2).
SUV_TYPE_COLUMN = "suv_type"

_CHANGE_INFIX = "_change_"
_CHANGE_SUFFIX = "_pct"
_CHANGE_RE = re.compile(
    rf"^(?P<parameter>.+){re.escape(_CHANGE_INFIX)}(?P<followup>.+){re.escape(_CHANGE_SUFFIX)}$"
)

#: Columns of :func:`netpet.stats.cutpoint.cutpoint_table` (``cutpoints.tsv``), in order.
CUTPOINT_COLUMNS = (
    "parameter",
    "cutpoint",
    "statistic",
    "p_naive",
    "p_lau92",
    "p_lau94",
    "p_exact",
    "p_permutation",
    "p_altman",
    "n_low",
    "n_high",
    "note",
)

#: Columns of :func:`netpet.stats.cox.cox_table` (``cox_univariate.tsv``, ``cox_adjusted.tsv``).
COX_COLUMNS = (
    "parameter",
    "coding",
    "covariates",
    "n",
    "events",
    "hr",
    "ci_low",
    "ci_high",
    "p_wald",
    "p_lr",
    "concordance",
    "method",
    "ph_p",
    "note",
)

#: Columns of the summary of :func:`netpet.stats.validation.bootstrap_table` (``bootstrap.tsv``).
BOOTSTRAP_COLUMNS = (
    "parameter",
    "cutpoint",
    "hr_apparent",
    "optimism_log_hr",
    "hr_corrected",
    "n_resamples",
    "n_used",
    "n_skipped_no_cutpoint",
    "n_skipped_not_estimable",
    "cut_stability",
    "note",
)

#: Separator of the reasons in a ``note`` cell.
NOTE_SEPARATOR = "; "

#: ``covariates`` cell of an unadjusted Cox model.
NO_COVARIATES = "none"


def value_column(parameter: str, timepoint: str) -> str:
    """Column of a PET parameter at a time point, e.g. ``wtv_ml_basal``."""
    return f"{parameter}_{timepoint}"


def change_column(parameter: str, followup: str) -> str:
    """Column of the proportional change from baseline, e.g. ``wtv_ml_change_interim_pct``.

    The change is (follow-up - baseline) / baseline x 100, in percent
    (:func:`netpet.stats.patients.proportional_change_pct`).
    """
    return f"{parameter}{_CHANGE_INFIX}{followup}{_CHANGE_SUFFIX}"


def is_change_column(column: str) -> bool:
    """Whether ``column`` is named as :func:`change_column` names changes (unit: %)."""
    return _CHANGE_RE.match(column) is not None


def parse_column(column: str, parameters: Collection[str]) -> tuple[str, str | None, str | None]:
    """Split a patient-table column into (parameter, time point, follow-up of a change).

    Parameters
    ----------
    column : str
        A column of the patient table.
    parameters : collection of str
        The PET parameter names that may occur; the longest matching name wins, so that
        ``liver_suvmean_basal`` is not read as ``suvmean``.

    Returns
    -------
    tuple
        ``(parameter, timepoint, None)`` for :func:`value_column` names, ``(parameter, None,
        followup)`` for :func:`change_column` names and ``(column, None, None)`` for any other
        column (clinical data).

    Examples
    --------
    >>> parse_column("wtv_ml_basal", ["wtv_ml"])
    ('wtv_ml', 'basal', None)
    >>> parse_column("tre_change_interim_pct", ["tre"])
    ('tre', None, 'interim')
    >>> parse_column("age_years", ["wtv_ml"])
    ('age_years', None, None)
    """
    match = _CHANGE_RE.match(column)
    if match and match["parameter"] in parameters:
        return match["parameter"], None, match["followup"]
    for parameter in sorted(parameters, key=len, reverse=True):
        if column.startswith(parameter + "_"):
            return parameter, column[len(parameter) + 1 :], None
    return column, None, None


def join_notes(reasons: Iterable[str]) -> str:
    """A ``note`` cell from its reasons ("" when there is none)."""
    return NOTE_SEPARATOR.join(reasons)


def note_text(value) -> str:
    """A ``note`` cell as text: "" when empty (a TSV reader gives NaN for an empty cell)."""
    return value if isinstance(value, str) else ""


def split_notes(value) -> list[str]:
    """The reasons of a ``note`` cell (:func:`join_notes` read back)."""
    return [part for part in note_text(value).split(NOTE_SEPARATOR) if part]


def covariates_cell(adjust_for: Sequence[str], notes: Sequence[str] = ()) -> str:
    """The ``covariates`` cell of a Cox row.

    ``"none"`` or the adjusters joined by ``", "``, followed by notes on their coding in
    brackets, e.g. ``"who_grade [who_grade: G3 (1 patient) merged into G2]"``.
    """
    text = ", ".join(adjust_for) if adjust_for else NO_COVARIATES
    return text + (f" [{join_notes(notes)}]" if notes else "")


def parse_covariates(values: Iterable) -> tuple[list[str], list[str]]:
    """Adjusters and notes of a Cox table's ``covariates`` cells (:func:`covariates_cell`).

    Returns
    -------
    names : list of str
        Distinct adjusters in order of appearance (empty for unadjusted models).
    notes : list of str
        Distinct bracketed notes in order of appearance.
    """
    names: list[str] = []
    notes: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        base, _, note = value.partition(" [")
        for name in base.split(","):
            name = name.strip()
            if name and name.lower() != NO_COVARIATES and name not in names:
                names.append(name)
        note = note.rstrip("]").strip()
        if note and note not in notes:
            notes.append(note)
    return names, notes


# --- Response criteria (netpet.stats.criteria, netpet.stats.criteria_outcomes) -------------------

#: Scans-table column: SUL per SUVbw of the scan (Janmahasatian lean body mass / body weight,
#: from suv.json), NaN when height or sex is missing.  SULpeak = SUVbw peak x this.
SUL_PER_SUVBW_COLUMN = "sul_per_suvbw"

#: Scans-table column (optional): the scan's SUV of its ``suv_type`` per SUVbw (suv.json).
SUV_PER_SUVBW_COLUMN = "suv_per_suvbw"

#: Table of new lesions per follow-up (from the lesion tracks): its count column.
N_NEW_COLUMN = "n_new"

#: Response criteria with classes CR/PR/SD/PD (for PERCIST and EORTC they stand for the
#: metabolic CMR/PMR/SMD/PMD), one column each in ``criteria.tsv``.
RESPONSE_CRITERIA = ("percist", "eortc", "sst_tv", "sstr_density", "recist", "choi")

#: Column of ``criteria.tsv``: "yes"/"no" early SST-TV reduction.
EARLY_SST_TV_COLUMN = "early_sst_tv_reduction"

#: Response classes, best first, and those counted as objective response.
RESPONSE_CLASSES = ("CR", "PR", "SD", "PD")
RESPONDER_CLASSES = ("CR", "PR")

#: Columns of :func:`netpet.stats.criteria.response_criteria` (``criteria.tsv``), in order:
#: the classes, then the values they were decided on, then the note.
CRITERIA_COLUMNS = (
    "patient_id",
    "timepoint",
    "percist",
    "eortc",
    "sst_tv",
    EARLY_SST_TV_COLUMN,
    "sstr_density",
    "recist",
    "choi",
    "lesion_count_baseline",
    "lesion_count_followup",
    N_NEW_COLUMN,
    "percist_quantity",
    "percist_baseline",
    "percist_followup",
    "percist_change_pct",
    "percist_change_abs",
    "eortc_baseline",
    "eortc_followup",
    "eortc_change_pct",
    "sst_tv_baseline_ml",
    "sst_tv_followup_ml",
    "sst_tv_change_pct",
    "sstr_density_parameter",
    "sstr_density_baseline",
    "sstr_density_followup",
    "sstr_density_change_pct",
    "recist_baseline_mm",
    "recist_followup_mm",
    "recist_nadir_mm",
    "recist_change_pct",
    "recist_change_nadir_pct",
    "recist_change_nadir_mm",
    "choi_density_source",
    "choi_density_baseline_hu",
    "choi_density_followup_hu",
    "choi_density_change_pct",
    "note",
)


def recist_sum_column(timepoint: str) -> str:
    """Clinical column of the RECIST 1.1 sum of target-lesion diameters (mm) at a time point.

    e.g. ``recist_sum_mm_basal``; Choi's size criterion uses the same sums.
    """
    return f"recist_sum_mm_{timepoint}"


def choi_hu_column(timepoint: str) -> str:
    """Clinical column of the tumour CT density for Choi (mean HU) at a time point.

    e.g. ``choi_hu_basal``.
    """
    return f"choi_hu_{timepoint}"


def pfs_rate_column(months: float) -> str:
    """Column of the Kaplan-Meier PFS rate at ``months``, e.g. ``pfs_rate_11m``."""
    return f"pfs_rate_{months:g}m"


def _pfs_rate_columns(pfs_rate_months: Iterable[float]) -> tuple[str, ...]:
    return tuple(
        f"{pfs_rate_column(m)}{suffix}"
        for m in pfs_rate_months
        for suffix in ("", "_ci_low", "_ci_high")
    )


def criteria_outcome_columns(pfs_rate_months: Iterable[float]) -> tuple[str, ...]:
    """Columns of :func:`netpet.stats.criteria_outcomes.criteria_outcomes`, in order.

    One row per criterion and follow-up; one rate with its CI per time of ``pfs_rate_months``.
    """
    return (
        "criterion",
        "timepoint",
        "n",
        "n_cr",
        "n_pr",
        "n_sd",
        "n_pd",
        "n_responders",
        "orr",
        "orr_ci_low",
        "orr_ci_high",
        "events",
        *_pfs_rate_columns(pfs_rate_months),
        "groups",
        "logrank_p",
        "logrank_p_classes",
        "hr",
        "hr_ci_low",
        "hr_ci_high",
        "hr_p",
        "hr_method",
        "concordance",
        "note",
    )


def criteria_km_columns(pfs_rate_months: Iterable[float]) -> tuple[str, ...]:
    """Columns of :func:`netpet.stats.criteria_outcomes.criteria_km_table`, in order."""
    return (
        "criterion",
        "timepoint",
        "group",
        "n",
        "events",
        "median_pfs",
        "median_pfs_ci_low",
        "median_pfs_ci_high",
        *_pfs_rate_columns(pfs_rate_months),
        "note",
    )
