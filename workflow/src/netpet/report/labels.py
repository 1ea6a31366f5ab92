"""How the study's columns, endpoint and adjusters are named in tables and figures.

Every printed name is derived here from what the data and the config say: a PET parameter
from its patient-table column (:func:`parameter_label`, column names as
:mod:`netpet.stats.columns` builds them), the survival endpoint from the configured time and
event columns (:func:`endpoint`: ``pfs_months`` -> "PFS", ``os_months`` -> "OS"), the
adjusters of the Cox models from their column names (:func:`adjustment_label`), and the SUV
normalisation from the ``suv_type`` of the scans (:func:`suv_parameter_name`).

(Organ label numbers are :mod:`netpet.labels`; this module is about printed text.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netpet.errors import InputError
from netpet.stats.columns import parse_column

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

#: Parameters in SUV units, whose printed name says the SUV normalisation
#: (:func:`suv_parameter_name`); ratios of SUVs (TLR) do not depend on it.
SUV_PARAMETERS = ("suvmax", "suvmean", "suvpeak", "liver_suvmean", "tre")

#: How clinical covariates (Cox adjusters) are printed.
COVARIATE_LABELS = {"who_grade": "WHO grade", "age_years": "age", "sex": "sex", "ki67": "Ki-67"}

#: Printed names of the cut-point p-values (columns of ``cutpoints.tsv``).
CUTPOINT_P_LABELS = {
    "p_naive": "naive log-rank",
    "p_lau92": "Lausen-Schumacher 1992",
    "p_lau94": "Lausen-Sauerbrei-Schumacher 1994",
    "p_exact": "exact (Gaussian process)",
    "p_permutation": "permutation",
    "p_altman": "Altman-corrected",
}

#: SUV normalisation (``suv_type`` of ``scans.tsv``; the types of
#: :data:`netpet.imaging.suv.SUV_TYPES`, which a test checks) -> (name of the SUV, footnote
#: defining it).  Lean-body-mass SUV is SUL (Wahl et al. 2009, PERCIST).
SUV_NAMES = {
    "bw": ("SUVbw", "SUVbw, standardised uptake value normalised to body weight."),
    "lbm": ("SUL", "SUL, standardised uptake value normalised to lean body mass (Janmahasatian)."),
    "bsa": (
        "SUVbsa",
        "SUVbsa, standardised uptake value normalised to body surface area (Du Bois).",
    ),
}


def parse_parameter(column: str) -> tuple[str, str | None, str | None]:
    """Split a patients-table column into (parameter, timepoint, follow-up of a change).

    :func:`netpet.stats.columns.parse_column` with the parameters of :data:`PARAMETER_LABELS`.

    Examples
    --------
    >>> parse_parameter("wtv_ml_basal")
    ('wtv_ml', 'basal', None)
    >>> parse_parameter("tre_change_interim_pct")
    ('tre', None, 'interim')
    >>> parse_parameter("age_years")
    ('age_years', None, None)
    """
    return parse_column(column, PARAMETER_LABELS)


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


def unit_of(column: str) -> str:
    """Unit of a patients-table column: ``"%"`` for changes, else :data:`PARAMETER_UNITS`."""
    param, _, followup = parse_parameter(column)
    if followup is not None:
        return "%"
    return PARAMETER_UNITS.get(param, "")


def suv_parameter_name(parameter: str, suv_type: str | None = None) -> str:
    """Printed name of a PET parameter with its unit, saying the SUV normalisation.

    Parameters
    ----------
    parameter : str
        A parameter name (``suvmax``, ``wtv_ml``, ...).
    suv_type : {"bw", "lbm", "bsa"}, optional
        SUV normalisation of the scans; None (not recorded) prints the names without it.

    Examples
    --------
    >>> suv_parameter_name("suvmax"), suv_parameter_name("suvmax", "bw")
    ('SUVmax', 'SUVmax (SUVbw)')
    >>> suv_parameter_name("liver_suvmean", "lbm"), suv_parameter_name("tre", "lbm")
    ('Liver SULmean', 'TRE (mL·SUL)')
    >>> suv_parameter_name("wtv_ml", "bw")
    'WTV (mL)'
    """
    name = PARAMETER_LABELS.get(parameter, parameter)
    unit = PARAMETER_UNITS.get(parameter, "")
    if suv_type is not None and parameter in SUV_PARAMETERS:
        suv = SUV_NAMES[_check_suv_type(suv_type)][0]
        if unit:
            unit = unit.replace("SUV", suv)
        elif suv_type == "lbm":
            name = name.replace("SUV", suv)
        else:
            name = f"{name} ({suv})"
    return name + (f" ({unit})" if unit else "")


def suv_footnote(suv_type: str) -> str:
    """Footnote defining the SUV of ``suv_type``, e.g. "SUL, standardised uptake value ..."."""
    return SUV_NAMES[_check_suv_type(suv_type)][1]


def _check_suv_type(suv_type: str) -> str:
    if suv_type not in SUV_NAMES:
        raise InputError(
            f"SUV type {suv_type!r} is not one of {', '.join(SUV_NAMES)} (column suv_type of "
            "results/features/scans.tsv; config suv.type)"
        )
    return suv_type


def covariate_label(column: str) -> str:
    """Printed name of a clinical covariate: :data:`COVARIATE_LABELS`, else with spaces."""
    return COVARIATE_LABELS.get(column, column.replace("_", " "))


def join_words(words: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def adjustment_label(covariates: Sequence[str]) -> str:
    """What Cox models are adjusted for, in words.

    Examples
    --------
    >>> adjustment_label(["who_grade"])
    'WHO grade'
    >>> adjustment_label(["who_grade", "ki67"])
    'WHO grade and Ki-67'
    >>> adjustment_label([])
    'no covariate'
    """
    if not covariates:
        return "no covariate"
    return join_words([covariate_label(c) for c in covariates])


#: Survival endpoints known by the stem of their time column: abbreviation, name, and what
#: counts as an event.
KNOWN_ENDPOINTS = {
    "pfs": ("PFS", "progression-free survival", "progression or death"),
    "os": ("OS", "overall survival", "death"),
    "ttp": ("TTP", "time to progression", "progression"),
    "dss": ("DSS", "disease-specific survival", "death from the disease"),
}

#: Time units recognised as the suffix of a time column (``pfs_months``); months otherwise.
TIME_UNITS = ("months", "days", "weeks", "years")


@dataclass(frozen=True)
class Endpoint:
    """How the survival endpoint of the statistics is named in print.

    Attributes
    ----------
    time_col, event_col : str
        The survival time and event columns (config ``stats.time`` and ``stats.event``).
    abbreviation : str
        E.g. "PFS", "OS".
    name : str
        E.g. "progression-free survival"; equals ``abbreviation`` for an unknown endpoint.
    events : str
        What counts as an event, e.g. "progression or death".
    event : str
        One event as a legend names it, e.g. "progression", "death" (from ``event_col``).
    time_unit : str
        Unit of the time column, e.g. "months".
    """

    time_col: str
    event_col: str
    abbreviation: str
    name: str
    events: str
    event: str
    time_unit: str

    @property
    def survival_label(self) -> str:
        """Axis label of a survival curve: "Progression-free survival", "Overall survival"."""
        if self.name != self.abbreviation:
            return self.name[0].upper() + self.name[1:]
        return f"Survival without {self.event}"

    @property
    def event_labels(self) -> dict[int, str]:
        """Legend of patients with (1) and without (0) an event (:func:`event_labels`)."""
        return event_labels(self.event_col)

    def time_axis_label(self, time_origin: str) -> str:
        """``"Time since start of PRRT (months)"``."""
        return f"Time since {time_origin} ({self.time_unit})"


def event_labels(event_col: str) -> dict[int, str]:
    """Legend of patients with (1) and without (0) an event, named after the event column.

    Examples
    --------
    >>> event_labels("progression")
    {1: 'Progression', 0: 'No progression'}
    >>> event_labels("death")
    {1: 'Death', 0: 'No death'}
    """
    event = event_col.replace("_", " ")
    return {1: event[0].upper() + event[1:], 0: f"No {event}"}


def endpoint(time_col: str = "pfs_months", event_col: str = "progression") -> Endpoint:
    """The :class:`Endpoint` named by a time and an event column.

    The stem of the time column (``pfs`` of ``pfs_months``) picks a known endpoint
    (:data:`KNOWN_ENDPOINTS`); an unknown stem prints in capitals (``efs_months`` -> "EFS").
    The suffix is the time unit (:data:`TIME_UNITS`, months when there is none).

    Examples
    --------
    >>> e = endpoint("os_months", "death")
    >>> e.abbreviation, e.name, e.events, e.time_unit, e.event_labels[1]
    ('OS', 'overall survival', 'death', 'months', 'Death')
    """
    stem, _, suffix = time_col.rpartition("_")
    if suffix not in TIME_UNITS or not stem:
        stem, suffix = time_col, "months"
    event = event_col.replace("_", " ")
    known = KNOWN_ENDPOINTS.get(stem.lower())
    if known:
        abbreviation, name, events = known
    else:
        abbreviation = stem.upper() if len(stem) <= 4 else stem.replace("_", " ")
        name, events = abbreviation, event
    return Endpoint(
        time_col=time_col,
        event_col=event_col,
        abbreviation=abbreviation,
        name=name,
        events=events,
        event=event,
        time_unit=suffix,
    )
