"""Outcome statistics of each response criterion: ORR, PFS rates, log-rank, Cox HR, C-index.

Reads the criteria table of :func:`netpet.stats.criteria.response_criteria`
(``results/stats/criteria.tsv``) and the clinical survival columns, and compares the criteria
(STUDY.md section 2, routine PRRT reporting):

- objective response rate (ORR) = share of CR + PR (for ``early_sst_tv_reduction``: of "yes")
  among the patients with a class, with the exact Clopper-Pearson 95 % CI (R ``binom.test``):
  it never falls below its nominal coverage, which matters at the small n of a PRRT cohort
  and is what trials report for ORR;
- Kaplan-Meier PFS rates at fixed times with 95 % CIs on R's default "log" scale
  (:func:`netpet.stats.survival.survival_at`, equal to R's ``summary(survfit(...), times)``);
  a rate is empty when nobody was followed to that time while the curve is still above 0;
- log-rank p (R ``survdiff``) between the two groups of the HR (responders vs
  non-responders, or PD vs the rest: :class:`OutcomeSettings`) and across all classes present;
- Cox HR of those two groups with its 95 % Wald CI and Harrell's C (R ``coxph``, Efron ties;
  :func:`netpet.stats.cox.cox_table`, with its Firth fallback when a group has no events);
- Kaplan-Meier by response class (:func:`criteria_km_table`): median PFS and PFS rates per
  class, per group and overall.

Response is assessed at a follow-up scan while PFS usually counts from the start of PRRT, so
patients who progressed or were censored before that scan enter the comparison with a
guarantee-time bias; a landmark analysis needs the scan dates, which the tables do not hold.

Degenerate comparisons (fewer than ``min_patients`` patients, all in one group, no events) give
rows with empty values and the reason in ``note``, never an exception.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from netpet.errors import InputError
from netpet.stats.columns import (
    EARLY_SST_TV_COLUMN,
    RESPONDER_CLASSES,
    RESPONSE_CLASSES,
    RESPONSE_CRITERIA,
    criteria_km_columns,
    criteria_outcome_columns,
    join_notes,
    pfs_rate_column,
)
from netpet.stats.cox import cox_table, reported_p
from netpet.stats.survival import kaplan_meier, km_quantile, logrank_test, survival_at

#: ``hr_groups`` choices: HR of CR+PR vs SD+PD, or of PD vs CR+PR+SD.
HR_GROUPS = ("responders", "progression")

#: Classes of ``early_sst_tv_reduction``, the "responding" one first.
EARLY_CLASSES = ("yes", "no")

#: Confidence level of every interval of this module (ORR, PFS rates, HR).
CONF_LEVEL = 0.95


@dataclass(frozen=True)
class OutcomeSettings:
    """Settings of the criteria comparison (config section ``criteria.outcomes``).

    Attributes
    ----------
    pfs_rate_months : tuple of float
        Times (months, the unit of the survival column) of the reported PFS rates.
    hr_groups : {"responders", "progression"}
        Two groups compared by log-rank and Cox: ``responders`` = HR of CR+PR versus SD+PD
        (``early_sst_tv_reduction``: yes vs no); ``progression`` = HR of PD versus CR+PR+SD
        (early: no vs yes).
    min_patients : int
        Fewer patients with a class give no survival statistics (the ORR is still given).
    """

    pfs_rate_months: tuple = (11.0, 14.0)
    hr_groups: str = "responders"
    min_patients: int = 3

    def __post_init__(self) -> None:
        where = "config criteria.outcomes"
        months = self.pfs_rate_months
        if isinstance(months, str | bytes) or not all(
            isinstance(m, int | float) and not isinstance(m, bool) and m > 0 for m in months
        ):
            raise InputError(
                f"{where}.pfs_rate_months: a list of times > 0 (months), got {months!r}"
            )
        object.__setattr__(self, "pfs_rate_months", tuple(float(m) for m in months))
        if self.hr_groups not in HR_GROUPS:
            raise InputError(f"{where}.hr_groups: {self.hr_groups!r} is not one of {HR_GROUPS}")
        if isinstance(self.min_patients, bool) or not isinstance(self.min_patients, int):
            raise InputError(f"{where}.min_patients: an integer >= 2, got {self.min_patients!r}")
        if self.min_patients < 2:
            raise InputError(f"{where}.min_patients: an integer >= 2, got {self.min_patients}")

    @classmethod
    def from_config(cls, section: Mapping | None) -> OutcomeSettings:
        """Settings from ``config["criteria"]["outcomes"]``; missing keys take the defaults.

        Raises
        ------
        InputError
            An unknown key or a bad value (the message names the key).
        """
        values = dict(section or {})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(
                f"config criteria.outcomes: unknown key(s) {unknown}; known keys: {known}"
            )
        return cls(**values)


def orr_confint(n_responders: int, n: int) -> tuple[float, float]:
    """Exact Clopper-Pearson 95 % CI of a proportion, as R's ``binom.test(k, n)$conf.int``.

    Limits are the ``alpha/2`` quantile of Beta(k, n - k + 1) and the ``1 - alpha/2`` quantile
    of Beta(k + 1, n - k) (0 when k = 0, 1 when k = n; Clopper & Pearson, Biometrika
    1934;26:404).  NaN for n = 0.
    """
    if n == 0:
        return float("nan"), float("nan")
    ci = stats.binomtest(int(n_responders), int(n)).proportion_ci(CONF_LEVEL, method="exact")
    return float(ci.low), float(ci.high)


def _criterion_groups(criterion: str, hr_groups: str):
    """Classes, the responding classes, the HR's exposed classes and the groups' label."""
    if criterion == EARLY_SST_TV_COLUMN:
        classes, responding = EARLY_CLASSES, ("yes",)
        exposed, label = (
            (("yes",), "yes vs no") if hr_groups == "responders" else (("no",), "no vs yes")
        )
    else:
        classes, responding = RESPONSE_CLASSES, RESPONDER_CLASSES
        if hr_groups == "responders":
            exposed, label = RESPONDER_CLASSES, "CR+PR vs SD+PD"
        else:
            exposed, label = ("PD",), "PD vs CR+PR+SD"
    return classes, responding, exposed, label


def _survival_data(
    criteria: pd.DataFrame, clinical: pd.DataFrame, time_col: str, event_col: str
) -> pd.DataFrame:
    """The criteria table with the patients' ``time`` and ``event`` (NaN when unknown)."""
    for source, table, needed in (
        ("criteria table", criteria, ["patient_id", "timepoint"]),
        ("clinical table", clinical, ["patient_id", time_col, event_col]),
    ):
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise InputError(
                f"{source}: missing column(s) {missing} (the survival columns are stats.time "
                "and stats.event in the config)"
            )
    survival = pd.DataFrame(
        {
            "patient_id": clinical["patient_id"].astype(str),
            "time": pd.to_numeric(clinical[time_col], errors="coerce"),
            "event": pd.to_numeric(clinical[event_col], errors="coerce"),
        }
    )
    dup = sorted(set(survival["patient_id"][survival["patient_id"].duplicated()]))
    if dup:
        raise InputError(f"clinical table: patient_id {dup} listed more than once")
    bad_event = survival["event"].notna() & ~survival["event"].isin([0, 1])
    bad = survival["patient_id"][bad_event | (survival["time"] < 0)].tolist()
    if bad:
        raise InputError(
            f"clinical table: {time_col!r} must be >= 0 and {event_col!r} 0 or 1; fix "
            f"patient(s) {bad}"
        )
    data = criteria.assign(patient_id=criteria["patient_id"].astype(str))
    return data.merge(survival, on="patient_id", how="left", validate="many_to_one")


def _subsets(data: pd.DataFrame, settings: OutcomeSettings):
    """(criterion, timepoint, usable rows, notes, group definitions) of every comparison."""
    for criterion in (*RESPONSE_CRITERIA, EARLY_SST_TV_COLUMN):
        if criterion not in data.columns:
            raise InputError(f"criteria table: missing column {criterion!r}")
        for timepoint in dict.fromkeys(data["timepoint"].astype(str)):
            rows = data[data["timepoint"].astype(str) == timepoint]
            groups = _criterion_groups(criterion, settings.hr_groups)
            classes = rows[criterion]
            notes = []
            unknown = sorted(set(classes.dropna()) - set(groups[0]))
            if unknown:
                raise InputError(
                    f"criteria table: column {criterion!r} holds {unknown}; expected "
                    f"{list(groups[0])} or empty"
                )
            no_class = int(classes.isna().sum())
            if no_class:
                notes.append(f"{no_class} patient(s) without a class")
            has_class = rows[classes.notna()]
            no_survival = int((has_class["time"].isna() | has_class["event"].isna()).sum())
            if no_survival:
                notes.append(f"{no_survival} patient(s) without PFS data")
            usable = has_class.dropna(subset=["time", "event"])
            yield criterion, timepoint, usable, notes, groups


def criteria_outcomes(
    criteria: pd.DataFrame,
    clinical: pd.DataFrame,
    *,
    time_col: str = "pfs_months",
    event_col: str = "progression",
    settings: OutcomeSettings | None = None,
) -> pd.DataFrame:
    """One row per criterion and follow-up comparing the criteria (module docstring).

    Parameters
    ----------
    criteria : pandas.DataFrame
        :func:`netpet.stats.criteria.response_criteria` output (``criteria.tsv``).
    clinical : pandas.DataFrame
        ``patient_id``, ``time_col`` (months, >= 0) and ``event_col`` (1 event, 0 censored).
    time_col, event_col : str
        Config ``stats.time`` and ``stats.event``.
    settings : OutcomeSettings, optional

    Returns
    -------
    pandas.DataFrame
        Columns :func:`netpet.stats.columns.criteria_outcome_columns`: ``n`` patients with a
        class and PFS data, the count of each class (empty for ``early_sst_tv_reduction``),
        ``n_responders`` and ``orr`` (share, 0-1) with its Clopper-Pearson CI, ``events``,
        the PFS rates (0-1) with their CIs, ``groups`` (the two groups compared, exposed
        first), ``logrank_p`` between them, ``logrank_p_classes`` across every class
        present, the Cox ``hr`` of the exposed group with its CI, ``hr_p`` (Wald; penalised
        likelihood-ratio for Firth fits), ``hr_method`` (``cox_efron``/``firth_profile``),
        ``concordance`` (Harrell's C) and ``note``.
    """
    settings = settings or OutcomeSettings()
    data = _survival_data(criteria, clinical, time_col, event_col)
    columns = criteria_outcome_columns(settings.pfs_rate_months)
    rows = []
    for criterion, timepoint, usable, notes, groups in _subsets(data, settings):
        _, responding, exposed, label = groups
        row = dict.fromkeys(columns)
        row.update(criterion=criterion, timepoint=timepoint, groups=label)
        cls = usable[criterion]
        n = len(usable)
        k = int(cls.isin(responding).sum())
        row.update(n=n, n_responders=k, orr=k / n if n else np.nan)
        if criterion != EARLY_SST_TV_COLUMN:
            for c in RESPONSE_CLASSES:
                row[f"n_{c.lower()}"] = int((cls == c).sum())
        row["orr_ci_low"], row["orr_ci_high"] = orr_confint(k, n)
        row["events"] = int(usable["event"].sum())
        if n == 0:
            notes.append("no patient with a class and PFS data")
        elif n < settings.min_patients:
            notes.append(
                f"{n} patient(s) with a class and PFS data (< {settings.min_patients}): "
                "no survival statistics"
            )
        else:
            time, event = usable["time"].to_numpy(float), usable["event"].to_numpy(int)
            row.update(_pfs_rates(time, event, settings.pfs_rate_months, notes))
            row.update(_comparisons(usable, criterion, exposed, label, notes))
        row["note"] = join_notes(notes)
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(columns))
    for col in ("n", "n_cr", "n_pr", "n_sd", "n_pd", "n_responders", "events"):
        out[col] = out[col].astype("Int64")
    return out


def _pfs_rates(time, event, months, notes: list, *, prefix_notes: str = "") -> dict:
    """Kaplan-Meier PFS rates at ``months`` with their 95 % "log" CIs (R's default)."""
    at = survival_at(time, event, months, conf_level=CONF_LEVEL, conf_type="log")
    out = {}
    for m, r in zip(months, at.itertuples(), strict=True):
        name = pfs_rate_column(m)
        values = (r.survival, r.ci_low, r.ci_high)
        if r.n_risk == 0 and r.survival > 0 and time.max() < m:
            notes.append(f"{prefix_notes}{name}: nobody followed to {m:g} months")
            values = (np.nan, np.nan, np.nan)
        out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = values
    return out


def _logrank_p(time, event, group, what: str, notes: list) -> float:
    """Log-rank p, or NaN with a note when the test is not defined."""
    if event.sum() == 0:
        return np.nan  # the "no events" note is written once by the caller
    try:
        return logrank_test(time, event, group).p
    except np.linalg.LinAlgError:
        notes.append(f"{what}: log-rank variance is 0 (no event while both groups at risk)")
        return np.nan


def _comparisons(usable: pd.DataFrame, criterion: str, exposed, label: str, notes: list) -> dict:
    """Log-rank p (two groups and all classes) and the Cox HR of the exposed group."""
    time, event = usable["time"].to_numpy(float), usable["event"].to_numpy(int)
    cls = usable[criterion].to_numpy(dtype=object)
    x = np.isin(cls, exposed).astype(float)
    out = {}
    if event.sum() == 0:
        notes.append("no events: no log-rank test or Cox model")
        return out
    present = sorted(set(cls), key=list(RESPONSE_CLASSES + EARLY_CLASSES).index)
    if len(present) > 1:
        out["logrank_p_classes"] = _logrank_p(time, event, cls.astype(str), "classes", notes)
    if x.min() == x.max():
        side = label.split(" vs ")[0 if x[0] else 1]
        notes.append(f"all patients {side}: no comparison of {label}")
        return out
    out["logrank_p"] = _logrank_p(time, event, x, label, notes)
    table = pd.DataFrame({"time": time, "event": event, label: x})
    cox = cox_table(table, [label], time_col="time", event_col="event", codings=("continuous",))
    fit = cox.iloc[0]
    if fit["method"] != "not_estimable":
        out.update(
            hr=fit["hr"],
            hr_ci_low=fit["ci_low"],
            hr_ci_high=fit["ci_high"],
            hr_p=reported_p(fit["method"], fit["p_wald"], fit["p_lr"]),
            hr_method=fit["method"],
            concordance=fit["concordance"],
        )
    if isinstance(fit["note"], str) and fit["note"]:
        notes.append(f"Cox: {fit['note']}")
    return out


def criteria_km_table(
    criteria: pd.DataFrame,
    clinical: pd.DataFrame,
    *,
    time_col: str = "pfs_months",
    event_col: str = "progression",
    settings: OutcomeSettings | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier PFS by response class of every criterion and follow-up.

    Groups, each when it has a patient: ``all``, every class present (CR, PR, SD, PD; yes, no),
    and for the four-class criteria ``responders`` (CR+PR) and ``non_responders`` (SD+PD).
    Median PFS with its 95 % CI (R's ``survfit`` print, "log" CI; empty = not reached) and the
    PFS rates of :class:`OutcomeSettings`.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`netpet.stats.columns.criteria_km_columns`.
    """
    settings = settings or OutcomeSettings()
    data = _survival_data(criteria, clinical, time_col, event_col)
    columns = criteria_km_columns(settings.pfs_rate_months)
    rows = []
    for criterion, timepoint, usable, _, groups in _subsets(data, settings):
        classes = groups[0]
        cls = usable[criterion]
        members = {"all": cls.notna()}
        members.update({c: cls == c for c in classes})
        if criterion != EARLY_SST_TV_COLUMN:
            members["responders"] = cls.isin(RESPONDER_CLASSES)
            members["non_responders"] = ~cls.isin(RESPONDER_CLASSES)
        for group, mask in members.items():
            if not mask.any():
                continue
            sub = usable[mask.to_numpy()]
            time, event = sub["time"].to_numpy(float), sub["event"].to_numpy(int)
            notes: list = []
            median = km_quantile(kaplan_meier(time, event, conf_type="log"))
            row = dict.fromkeys(columns)
            row.update(
                criterion=criterion,
                timepoint=timepoint,
                group=group,
                n=len(sub),
                events=int(event.sum()),
                median_pfs=median["median"],
                median_pfs_ci_low=median["ci_low"],
                median_pfs_ci_high=median["ci_high"],
                **_pfs_rates(time, event, settings.pfs_rate_months, notes),
            )
            if not np.isfinite(median["median"]):
                notes.append("median PFS not reached")
            row["note"] = join_notes(notes)
            rows.append(row)
    out = pd.DataFrame(rows, columns=list(columns))
    for col in ("n", "events"):
        out[col] = out[col].astype("Int64")
    return out
