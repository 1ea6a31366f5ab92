"""Response criteria per patient and follow-up, side by side from one segmentation.

STUDY.md section 2 lists the criteria; this module decides each patient's response at each
follow-up from the scans table (``results/features/scans.tsv``), optionally the lesion table
(``results/features/lesions.tsv``, for Choi's CT density), the number of new lesions per
follow-up (from the lesion tracks) and clinical CT measurements.  Output: one row per patient
and follow-up, columns :data:`netpet.stats.columns.CRITERIA_COLUMNS`.

Classes are CR/PR/SD/PD in every criterion column; for the metabolic criteria (PERCIST,
EORTC, SSTR density) they stand for CMR/PMR/SMD/PMD.  ``early_sst_tv_reduction`` is yes/no.
Changes are ``(follow-up - baseline) / baseline x 100 %``
(:func:`netpet.stats.patients.proportional_change_pct`).  Every threshold is a
:class:`CriteriaSettings` value (config section ``criteria``); which edge belongs to which
class is part of each criterion's definition and fixed here:

``percist`` (Wahl et al., J Nucl Med 2009;50:122S) on the SULpeak of the hottest lesion (the
  scan's highest lesion SUVpeak, which may be a different lesion at each scan, as PERCIST
  says), ``SUL = SUVbw x sul_per_suvbw``: PR when the decrease is >= 30 % **and** >= 0.8 SUL;
  PD when the increase is > 30 % **and** > 0.8 SUL (strict), or new lesions.  Without SUL
  (height or sex missing: ``sul_per_suvbw`` NaN or absent) the SUVpeak of the table's SUV type
  is used for both scans, with a note (``percist.without_sul: suvpeak``; ``empty`` leaves the
  criterion empty instead): the relative change barely depends on the normalisation, the
  0.8 absolute threshold then is in that SUV's units.  PERCIST's measurability threshold
  (1.5 x liver SULmean + 2 SD) is not applied: SSTR-avid NET lesions are far above it.
``eortc`` (Young et al., Eur J Cancer 1999;35:1773) on the scan's SUVmax: PR when the change
  is <= -25 %, PD when >= +25 % or new lesions.
``sst_tv``: volumetric on the total tumour volume (SST-TV = ``wtv_ml``, which includes new
  lesions' volume): PR when <= -40 %, PD when >= +20 % or new lesions.
``early_sst_tv_reduction``: "yes" when SST-TV changed by <= -10 %.
``sstr_density``: the "SSTR density" response reported beside RECIST in routine PRRT
  (STUDY.md section 2), the change of the hottest lesion's SUVmax (``sstr_density.parameter``,
  or e.g. ``tlr``): PR when <= -25 %, PD when >= +25 %.  It is the receptor-density change
  alone: new lesions make it PD only with ``new_lesions_progression: true`` (the criterion it
  is reported beside, RECIST, counts them).
``recist`` (Eisenhauer et al., Eur J Cancer 2009;45:228) from the clinical columns
  :func:`~netpet.stats.columns.recist_sum_column` (sum of target-lesion diameters, mm): CR
  when the sum is 0; PR when <= -30 % from baseline; PD when >= +20 % **and** >= 5 mm above
  the nadir (smallest sum of the baseline and earlier follow-ups), or new lesions; a sum
  above 0 after an earlier CR (nadir 0) is PD.  A baseline sum of 0 (no target lesion) is
  not evaluable.  Lymph-node short axes and non-target lesions are the reader's business:
  CR here means a sum of 0.
``choi`` (Choi et al., J Clin Oncol 2007;25:1753): size = the same sums of diameters,
  density = mean HU of the tumour: from the clinical columns
  :func:`~netpet.stats.columns.choi_hu_column` (a radiologist's contrast-enhanced CT) or from
  the PET-defined lesions on the PET/CT's CT (volume-weighted mean of the lesions'
  ``ct_hu_mean``; usually low-dose and without contrast, unlike Choi's CT), per
  ``choi.density``.  CR when the sum is 0; PR when size <= -10 % **or** density <= -15 %; PD
  when size >= +10 % (and not PR by density), or new lesions.  Density changes need a
  baseline density > 0 HU.

Every criterion but ``sstr_density`` (by default) and ``early_sst_tv_reduction`` is PD when the
follow-up has new lesions (``n_new > 0``); the PET criteria are CR when no lesion is left
(``lesion_count`` 0), which also means no new lesion.  New lesions come from the lesion tracks
(table argument ``new_lesions``); without it they are not assessed (a note says so) except
when the baseline had no lesion: then every follow-up lesion is new.  Values within 1e-9 of a
threshold count as on it, so that exact edges survive floating point (a change from 10 to 7
is -30.000000000000004 %).

A class is empty only when the data cannot decide it, with the reason in ``note``
(reasons prefixed by the criterion): no baseline or follow-up scan, no lesion at baseline,
missing clinical columns (the criterion is left empty for every row, never an error), no CT.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netpet.errors import InputError
from netpet.stats.columns import (
    CRITERIA_COLUMNS,
    EARLY_SST_TV_COLUMN,
    N_NEW_COLUMN,
    SUL_PER_SUVBW_COLUMN,
    SUV_PER_SUVBW_COLUMN,
    SUV_TYPE_COLUMN,
    choi_hu_column,
    join_notes,
    recist_sum_column,
)
from netpet.stats.patients import proportional_change_pct

#: Values within this of a threshold (percentage points, or the criterion's unit) are on it.
EDGE_TOLERANCE = 1e-9

#: ``percist.without_sul`` choices: SUVpeak of the table's SUV type, or leave PERCIST empty.
WITHOUT_SUL_CHOICES = ("suvpeak", "empty")

#: ``choi.density`` choices: clinical columns when a patient has both values, else PET/CT;
#: only the clinical columns; only the PET-defined lesions on the PET/CT's CT.
CHOI_DENSITY_SOURCES = ("auto", "clinical", "pet_ct")

#: Scans-table columns every criterion run needs (besides ``sstr_density.parameter``).
SCAN_INPUTS = ("patient_id", "timepoint", "lesion_count", "wtv_ml", "suvmax", "suvpeak")


@dataclass(frozen=True)
class PercistSettings:
    """PERCIST thresholds (config ``criteria.percist``); decreases and increases as magnitudes.

    PR: decrease >= ``pr_decrease_pct`` % and >= ``pr_decrease_sul``; PD: increase >
    ``pd_increase_pct`` % and > ``pd_increase_sul`` (SUL units).  ``without_sul``: see
    :data:`WITHOUT_SUL_CHOICES`.
    """

    pr_decrease_pct: float = 30.0
    pr_decrease_sul: float = 0.8
    pd_increase_pct: float = 30.0
    pd_increase_sul: float = 0.8
    without_sul: str = "suvpeak"


@dataclass(frozen=True)
class ChangeSettings:
    """PR when the change is <= -``pr_decrease_pct`` %, PD when >= +``pd_increase_pct`` %."""

    pr_decrease_pct: float
    pd_increase_pct: float


@dataclass(frozen=True)
class EarlySstTvSettings:
    """Early SST-TV reduction: "yes" when SST-TV changed by <= -``min_decrease_pct`` %."""

    min_decrease_pct: float = 10.0


@dataclass(frozen=True)
class SstrDensitySettings:
    """SSTR density: change of the scans-table column ``parameter`` (default ``suvmax``)."""

    parameter: str = "suvmax"
    pr_decrease_pct: float = 25.0
    pd_increase_pct: float = 25.0
    new_lesions_progression: bool = False


@dataclass(frozen=True)
class RecistSettings:
    """RECIST 1.1: PR <= -``pr_decrease_pct`` % from baseline; PD >= +``pd_increase_pct`` %
    and >= ``pd_increase_mm`` above the nadir."""

    pr_decrease_pct: float = 30.0
    pd_increase_pct: float = 20.0
    pd_increase_mm: float = 5.0


@dataclass(frozen=True)
class ChoiSettings:
    """Choi: PR size <= -``pr_size_decrease_pct`` % or density <= -``pr_density_decrease_pct``
    %; PD size >= +``pd_size_increase_pct`` %; ``density``: :data:`CHOI_DENSITY_SOURCES`."""

    pr_size_decrease_pct: float = 10.0
    pr_density_decrease_pct: float = 15.0
    pd_size_increase_pct: float = 10.0
    density: str = "auto"


@dataclass(frozen=True)
class CriteriaSettings:
    """Thresholds of every criterion (config section ``criteria``; see the module docstring)."""

    percist: PercistSettings = field(default_factory=PercistSettings)
    eortc: ChangeSettings = field(default_factory=lambda: ChangeSettings(25.0, 25.0))
    sst_tv: ChangeSettings = field(default_factory=lambda: ChangeSettings(40.0, 20.0))
    early_sst_tv_reduction: EarlySstTvSettings = field(default_factory=EarlySstTvSettings)
    sstr_density: SstrDensitySettings = field(default_factory=SstrDensitySettings)
    recist: RecistSettings = field(default_factory=RecistSettings)
    choi: ChoiSettings = field(default_factory=ChoiSettings)

    @classmethod
    def from_config(cls, section: Mapping | None) -> CriteriaSettings:
        """Settings from the config's ``criteria`` section; missing keys take the defaults.

        The ``outcomes`` subsection belongs to
        :class:`netpet.stats.criteria_outcomes.OutcomeSettings` and is skipped here.

        Raises
        ------
        InputError
            An unknown key, a threshold that is not a number >= 0 (decreases < 100 %), or an
            unknown choice; the message names the key.
        """
        values = {k: v for k, v in dict(section or {}).items() if k != "outcomes"}
        defaults = cls()
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(
                f"config criteria: unknown key(s) {unknown}; known keys: {[*known, 'outcomes']}"
            )
        parts = {
            name: _subsection(getattr(defaults, name), values.get(name), f"criteria.{name}")
            for name in known
        }
        return cls(**parts)


def _subsection(default, values: Mapping | None, where: str):
    """``default`` with the keys of ``values`` replaced, each checked (see from_config)."""
    values = dict(values or {})
    known = [f.name for f in dataclasses.fields(default)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"config {where}: unknown key(s) {unknown}; known keys: {known}")
    out = dataclasses.replace(default, **values)
    choices = {
        "without_sul": WITHOUT_SUL_CHOICES,
        "density": CHOI_DENSITY_SOURCES,
    }
    for f in dataclasses.fields(out):
        value = getattr(out, f.name)
        key = f"{where}.{f.name}"
        if f.name in choices:
            if value not in choices[f.name]:
                raise InputError(f"config {key}: {value!r} is not one of {choices[f.name]}")
        elif f.name == "parameter":
            if not isinstance(value, str) or not value:
                raise InputError(f"config {key}: name a column of the scans table, e.g. suvmax")
        elif isinstance(getattr(default, f.name), bool):
            if not isinstance(value, bool):
                raise InputError(f"config {key}: must be true or false, got {value!r}")
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InputError(f"config {key}: must be a number >= 0, got {value!r}")
            if "decrease_pct" in f.name and value >= 100:
                raise InputError(
                    f"config {key}: a decrease of {value} % is beyond a change to 0; use < 100"
                )
    return out


# --- Decisions on one pair of values -------------------------------------------------------------


def _at_most(value: float, limit: float) -> bool:
    return bool(value <= limit + EDGE_TOLERANCE)


def _at_least(value: float, limit: float) -> bool:
    return bool(value >= limit - EDGE_TOLERANCE)


def _above(value: float, limit: float) -> bool:
    return bool(value > limit + EDGE_TOLERANCE)


def change_class(
    baseline: float,
    followup: float,
    *,
    pr_decrease_pct: float,
    pd_increase_pct: float,
    pr_decrease_abs: float = 0.0,
    pd_increase_abs: float = 0.0,
    strict_progression: bool = False,
) -> str | None:
    """PR, PD or SD from the change of one quantity (no new lesions, something left).

    PD when the change is ``>= +pd_increase_pct`` % and the rise ``>= pd_increase_abs``
    (with ``strict_progression``: ``>`` both, as PERCIST); PR when the change is
    ``<= -pr_decrease_pct`` % and the fall ``>= pr_decrease_abs``; else SD.  None when the
    change is undefined (a missing value or a baseline <= 0).

    Examples
    --------
    >>> change_class(10.0, 7.5, pr_decrease_pct=25, pd_increase_pct=25)
    'PR'
    >>> change_class(10.0, 13.0, pr_decrease_pct=30, pd_increase_pct=30, strict_progression=True)
    'SD'
    """
    if not (np.isfinite(baseline) and np.isfinite(followup)) or baseline <= 0:
        return None
    change = float(proportional_change_pct(baseline, followup))
    rise = followup - baseline
    if strict_progression:
        progression = _above(change, pd_increase_pct) and _above(rise, pd_increase_abs)
    else:
        progression = _at_least(change, pd_increase_pct) and _at_least(rise, pd_increase_abs)
    if progression:
        return "PD"
    if _at_most(change, -pr_decrease_pct) and _at_least(-rise, pr_decrease_abs):
        return "PR"
    return "SD"


# --- The table ------------------------------------------------------------------------------------


def response_criteria(
    scans: pd.DataFrame,
    *,
    baseline: str,
    followups: Sequence[str],
    lesions: pd.DataFrame | None = None,
    new_lesions: pd.DataFrame | None = None,
    clinical: pd.DataFrame | None = None,
    settings: CriteriaSettings | None = None,
) -> pd.DataFrame:
    """Response by every criterion for each patient at each follow-up (module docstring).

    Parameters
    ----------
    scans : pandas.DataFrame
        One row per scan (``results/features/scans.tsv``): :data:`SCAN_INPUTS`, the
        ``sstr_density.parameter`` column, and optionally ``suv_type``,
        ``sul_per_suvbw`` (SUL per SUVbw, NaN when unknown) and ``suv_per_suvbw``.
    baseline : str
        Time-point label of the baseline scan (config ``timepoints.baseline``).
    followups : sequence of str
        Follow-up labels in time order (config ``timepoints.followups``); the RECIST nadir is
        taken over the baseline and the earlier follow-ups.
    lesions : pandas.DataFrame, optional
        Lesion table (``results/features/lesions.tsv``) with ``patient_id``, ``timepoint``,
        ``volume_ml`` and ``ct_hu_mean``: the PET/CT density of Choi.
    new_lesions : pandas.DataFrame, optional
        ``patient_id``, ``timepoint``, ``n_new``: new lesions at each follow-up (lesion
        tracks).  None: new lesions not assessed (noted).
    clinical : pandas.DataFrame, optional
        One row per patient: ``patient_id`` and any of the columns ``recist_sum_mm_{tp}`` and
        ``choi_hu_{tp}`` (:func:`~netpet.stats.columns.recist_sum_column`,
        :func:`~netpet.stats.columns.choi_hu_column`).
    settings : CriteriaSettings, optional

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~netpet.stats.columns.CRITERIA_COLUMNS`; one row per patient of
        ``scans`` (in order of first appearance) and follow-up.

    Raises
    ------
    InputError
        A missing scans column, duplicate scans or new-lesion rows, or a table without
        ``patient_id``/``timepoint``.
    """
    settings = settings or CriteriaSettings()
    scans = _keyed(scans, "scans table", [*SCAN_INPUTS, settings.sstr_density.parameter])
    scan_rows = {key: row for key, row in scans.iterrows()}
    new_counts = None
    if new_lesions is not None:
        new_counts = _keyed(
            new_lesions, "new-lesions table", ["patient_id", "timepoint", N_NEW_COLUMN]
        )[N_NEW_COLUMN].to_dict()
    density, density_note = _pet_ct_density(lesions)
    clinical_rows = _clinical_rows(clinical)
    patients = list(dict.fromkeys(scans.index.get_level_values("patient_id")))
    rows = []
    for patient in patients:
        for index, followup in enumerate(followups):
            context = _Context(
                patient=patient,
                baseline=baseline,
                followup=followup,
                earlier=list(followups[:index]),
                base=scan_rows.get((patient, baseline)),
                fol=scan_rows.get((patient, followup)),
                new_counts=new_counts,
                clinical=clinical_rows.get(patient),
                clinical_given=clinical is not None,
                density=density,
                density_note=density_note,
                settings=settings,
            )
            rows.append(context.row())
    table = pd.DataFrame(rows, columns=list(CRITERIA_COLUMNS))
    for col in ("lesion_count_baseline", "lesion_count_followup", N_NEW_COLUMN):
        table[col] = table[col].astype("Int64")
    return table


def _keyed(table: pd.DataFrame, source: str, required: Sequence[str]) -> pd.DataFrame:
    """``table`` indexed by (patient_id, timepoint) as str, after checking its columns."""
    missing = [c for c in dict.fromkeys(["patient_id", "timepoint", *required]) if c not in table]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {missing} needed for the response criteria"
            + (
                " (sstr_density.parameter in the config names a scans column)"
                if source == "scans table"
                else ""
            )
        )
    table = table.copy()
    table["patient_id"] = table["patient_id"].astype(str)
    table["timepoint"] = table["timepoint"].astype(str)
    dup = table[table.duplicated(["patient_id", "timepoint"])]
    if len(dup):
        pairs = list(dup[["patient_id", "timepoint"]].itertuples(index=False, name=None))
        raise InputError(
            f"{source}: more than one row for (patient_id, timepoint) {pairs}; keep one per "
            "patient and time point"
        )
    return table.set_index(["patient_id", "timepoint"])


def _pet_ct_density(lesions: pd.DataFrame | None) -> tuple[dict, str]:
    """Mean HU of each scan's tumour: volume-weighted mean of its lesions' ``ct_hu_mean``.

    Equals the mean HU over all tumour voxels on one grid.  Lesions without a value (no CT)
    are left out; a scan with none has no entry.  Returns the dict keyed by (patient,
    timepoint) and a note when the lesion table cannot give densities at all.
    """
    if lesions is None:
        return {}, "no lesion table: no PET/CT density"
    needed = ["patient_id", "timepoint", "volume_ml", "ct_hu_mean"]
    missing = [c for c in needed if c not in lesions.columns]
    if missing:
        return {}, f"lesion table without {missing}: no PET/CT density"
    data = lesions[needed].dropna(subset=["ct_hu_mean", "volume_ml"])
    data = data.assign(
        patient_id=data["patient_id"].astype(str),
        timepoint=data["timepoint"].astype(str),
        weighted=data["ct_hu_mean"] * data["volume_ml"],
    )
    sums = data.groupby(["patient_id", "timepoint"])[["weighted", "volume_ml"]].sum()
    sums = sums[sums["volume_ml"] > 0]
    return (sums["weighted"] / sums["volume_ml"]).to_dict(), ""


def _clinical_rows(clinical: pd.DataFrame | None) -> dict:
    if clinical is None:
        return {}
    if "patient_id" not in clinical.columns:
        raise InputError("clinical table: missing column 'patient_id'")
    ids = clinical["patient_id"].astype(str)
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        raise InputError(f"clinical table: patient_id {dup} listed more than once")
    return {pid: row for pid, (_, row) in zip(ids, clinical.iterrows(), strict=True)}


def _value(row: pd.Series | None, column: str) -> float:
    """A number from a table row, NaN when the row, column or value is missing."""
    if row is None or column not in row.index:
        return float("nan")
    value = pd.to_numeric(pd.Series([row[column]]), errors="coerce").iloc[0]
    return float(value)


@dataclass
class _Context:
    """One patient at one follow-up: gathers the inputs and decides every criterion."""

    patient: str
    baseline: str
    followup: str
    earlier: list
    base: pd.Series | None
    fol: pd.Series | None
    new_counts: dict | None
    clinical: pd.Series | None
    clinical_given: bool
    density: dict
    density_note: str
    settings: CriteriaSettings
    notes: list = field(default_factory=list)
    count_fol: int = 0  # lesions at the follow-up
    n_new: float = float("nan")  # new lesions at the follow-up (NaN: unknown)

    def row(self) -> dict:
        out = dict.fromkeys(CRITERIA_COLUMNS)
        out["patient_id"], out["timepoint"] = self.patient, self.followup
        out["sstr_density_parameter"] = self.settings.sstr_density.parameter
        if self.base is None or self.fol is None:
            missing = self.baseline if self.base is None else self.followup
            self.notes.append(f"no {missing} scan")
            out["note"] = join_notes(self.notes)
            return out
        count_base = int(self.base["lesion_count"])
        count_fol = int(self.fol["lesion_count"])
        out["lesion_count_baseline"], out["lesion_count_followup"] = count_base, count_fol
        self.count_fol = count_fol
        self.n_new = self._new_lesions(count_base, count_fol)
        out[N_NEW_COLUMN] = None if np.isnan(self.n_new) else int(self.n_new)
        out.update(self._percist())
        out.update(self._pet("eortc", "suvmax", self.settings.eortc, "eortc"))
        out.update(self._pet("sst_tv", "wtv_ml", self.settings.sst_tv, "sst_tv", unit="_ml"))
        out[EARLY_SST_TV_COLUMN] = self._early(out)
        sstr = self.settings.sstr_density
        out.update(
            self._pet(
                "sstr_density",
                sstr.parameter,
                sstr,
                "sstr_density",
                new_lesions=sstr.new_lesions_progression,
            )
        )
        out.update(self._recist())
        out.update(self._choi(out))
        out["note"] = join_notes(self.notes)
        return out

    # -- shared inputs

    def _new_lesions(self, count_base: int, count_fol: int) -> float:
        """Number of new lesions at the follow-up (NaN: unknown), with notes."""
        if count_fol == 0:
            return 0.0
        if self.new_counts is not None:
            n_new = self.new_counts.get((self.patient, self.followup))
            if n_new is not None and np.isfinite(float(n_new)):
                return float(n_new)
            why = f"no {N_NEW_COLUMN} for this scan in the new-lesions table"
        else:
            why = "no lesion tracks"
        if count_base == 0:
            self.notes.append(f"new lesions: none at baseline, so all {count_fol} are new")
            return float(count_fol)
        self.notes.append(f"new lesions not assessed ({why}): PD by new lesions not applied")
        return float("nan")

    @property
    def has_new(self) -> bool:
        return bool(np.isfinite(self.n_new) and self.n_new > 0)

    def _decide(self, base_value, fol_value, *, new_lesions: bool = True, **thresholds):
        """Class of a PET criterion: PD by new lesions, CR when nothing is left, else change.

        None (not evaluable) when there was no lesion at baseline and none at follow-up.
        """
        if new_lesions and self.has_new:
            return "PD"
        if self.count_fol == 0:
            return "CR" if int(self.base["lesion_count"]) > 0 else None
        return change_class(base_value, fol_value, **thresholds)

    # -- criteria

    def _percist(self) -> dict:
        s = self.settings.percist
        factors = [self._sul_factor(self.base), self._sul_factor(self.fol)]
        quantity = "sulpeak"
        if not all(np.isfinite(f) for f in factors):
            if s.without_sul == "empty":
                self.notes.append("percist: no SUL (sul_per_suvbw unknown): not assessed")
                return {"percist_quantity": None}
            suv_type = self.base.get(SUV_TYPE_COLUMN, "bw")
            quantity = f"suvpeak_{suv_type}" if isinstance(suv_type, str) else "suvpeak"
            factors = [1.0, 1.0]
            self.notes.append(f"percist: no SUL (sul_per_suvbw unknown): on {quantity}")
        b = _value(self.base, "suvpeak") * factors[0]
        f = _value(self.fol, "suvpeak") * factors[1]
        cls = self._decide(
            b,
            f,
            pr_decrease_pct=s.pr_decrease_pct,
            pd_increase_pct=s.pd_increase_pct,
            pr_decrease_abs=s.pr_decrease_sul,
            pd_increase_abs=s.pd_increase_sul,
            strict_progression=True,
        )
        self._note_undecided("percist", cls, b)
        return {
            "percist": cls,
            "percist_quantity": quantity,
            "percist_baseline": b,
            "percist_followup": f,
            "percist_change_pct": float(proportional_change_pct(b, f)),
            "percist_change_abs": f - b,
        }

    def _sul_factor(self, row: pd.Series) -> float:
        """Factor from the table's SUV values to SUL (NaN: unknown)."""
        suv_type = row.get(SUV_TYPE_COLUMN, "bw")
        sul_per_bw = _value(row, SUL_PER_SUVBW_COLUMN)
        if suv_type == "lbm":
            return 1.0  # already SUL
        if SUV_PER_SUVBW_COLUMN in row.index:
            suv_per_bw = _value(row, SUV_PER_SUVBW_COLUMN)
        else:
            suv_per_bw = 1.0 if suv_type in ("bw", None) or pd.isna(suv_type) else float("nan")
        return sul_per_bw / suv_per_bw

    def _pet(self, name, column, s, prefix, *, unit="", new_lesions=True) -> dict:
        b, f = _value(self.base, column), _value(self.fol, column)
        cls = self._decide(
            b,
            f,
            new_lesions=new_lesions,
            pr_decrease_pct=s.pr_decrease_pct,
            pd_increase_pct=s.pd_increase_pct,
        )
        self._note_undecided(name, cls, b)
        return {
            name: cls,
            f"{prefix}_baseline{unit}": b,
            f"{prefix}_followup{unit}": f,
            f"{prefix}_change_pct": float(proportional_change_pct(b, f)),
        }

    def _note_undecided(self, name: str, cls, baseline_value: float) -> None:
        if cls is not None:
            return
        if int(self.base["lesion_count"]) == 0 or not baseline_value > 0:
            self.notes.append(f"{name}: no lesion (or value 0) at baseline")
        else:
            self.notes.append(f"{name}: missing value")

    def _early(self, out: dict) -> str | None:
        change = out["sst_tv_change_pct"]
        if not np.isfinite(change):
            return None
        return (
            "yes"
            if _at_most(change, -self.settings.early_sst_tv_reduction.min_decrease_pct)
            else "no"
        )

    def _sums(self) -> tuple[float, float, float, str]:
        """RECIST sums at baseline and follow-up, the nadir, and why they are missing."""
        columns = [recist_sum_column(tp) for tp in (self.baseline, self.followup)]
        if not self.clinical_given:
            return np.nan, np.nan, np.nan, "no clinical table"
        if self.clinical is None:
            return np.nan, np.nan, np.nan, "patient not in the clinical table"
        absent = [c for c in columns if c not in self.clinical.index]
        if absent:
            return np.nan, np.nan, np.nan, f"no clinical column(s) {absent}"
        b, f = (_value(self.clinical, c) for c in columns)
        if not (np.isfinite(b) and np.isfinite(f)):
            return b, f, np.nan, f"missing value in {columns}"
        earlier = [_value(self.clinical, recist_sum_column(tp)) for tp in self.earlier]
        nadir = float(np.nanmin([b, *earlier]))
        return b, f, nadir, ""

    def _recist(self) -> dict:
        s = self.settings.recist
        b, f, nadir, why = self._sums()
        out = {"recist_baseline_mm": b, "recist_followup_mm": f, "recist_nadir_mm": nadir}
        out["recist_change_pct"] = float(proportional_change_pct(b, f))
        out["recist_change_nadir_pct"] = float(proportional_change_pct(nadir, f))
        out["recist_change_nadir_mm"] = f - nadir
        cls = None
        # RECIST is read on CT: without the clinical sums the patient is not evaluable, and
        # lesions new on PET alone do not make RECIST progression.
        if why:
            self.notes.append(f"recist: {why}")
        elif self.has_new:
            cls = "PD"
        elif b == 0:
            self.notes.append("recist: no target lesion at baseline (sum 0): not evaluable")
        elif nadir == 0 and f > 0:
            cls = "PD"  # reappearance after a CR
        elif _at_least(out["recist_change_nadir_pct"], s.pd_increase_pct) and _at_least(
            f - nadir, s.pd_increase_mm
        ):
            cls = "PD"
        elif f == 0:
            cls = "CR"
        elif _at_most(out["recist_change_pct"], -s.pr_decrease_pct):
            cls = "PR"
        else:
            cls = "SD"
        out["recist"] = cls
        return out

    def _densities(self) -> tuple[float, float, str, str]:
        """Choi densities (HU) at baseline and follow-up, their source, and why missing."""
        source = self.settings.choi.density
        columns = [choi_hu_column(tp) for tp in (self.baseline, self.followup)]
        clinical = [_value(self.clinical, c) for c in columns]
        pet_ct = [
            self.density.get((self.patient, tp), np.nan) for tp in (self.baseline, self.followup)
        ]
        if source == "clinical" or (source == "auto" and all(np.isfinite(clinical))):
            if all(np.isfinite(clinical)):
                return *clinical, "clinical", ""
            return *clinical, "clinical", f"no clinical density ({columns})"
        if all(np.isfinite(pet_ct)):
            return *pet_ct, "pet_ct", ""
        why = self.density_note or "no CT density of the PET lesions (no CT, or no lesion)"
        return *pet_ct, "pet_ct", why

    def _choi(self, out: dict) -> dict:
        s = self.settings.choi
        b_hu, f_hu, source, why_hu = self._densities()
        density_change = float(proportional_change_pct(b_hu, f_hu)) if b_hu > 0 else np.nan
        result = {
            "choi_density_source": source if np.isfinite([b_hu, f_hu]).any() else None,
            "choi_density_baseline_hu": b_hu,
            "choi_density_followup_hu": f_hu,
            "choi_density_change_pct": density_change,
        }
        if np.isfinite(b_hu) and b_hu <= 0:
            why_hu = f"baseline density {b_hu:.3g} HU <= 0: relative change undefined"
        b, f = out["recist_baseline_mm"], out["recist_followup_mm"]
        size_change = out["recist_change_pct"]
        size_known = np.isfinite(size_change) or (np.isfinite(f) and f == 0)
        density_known = np.isfinite(density_change)
        _, _, _, why_size = self._sums()
        cls = None
        # Choi is read on CT, like RECIST: the sizes (clinical sums) are needed.
        if why_size:
            self.notes.append(f"choi: no size ({why_size}): not evaluable")
        elif self.has_new:
            cls = "PD"
        elif b == 0:
            self.notes.append("choi: no target lesion at baseline (sum 0): not evaluable")
        elif np.isfinite(f) and f == 0:
            cls = "CR"
        elif (size_known and _at_most(size_change, -s.pr_size_decrease_pct)) or (
            density_known and _at_most(density_change, -s.pr_density_decrease_pct)
        ):
            cls = "PR"
        elif not (density_known and size_known):
            missing = [f"size ({why_size})"] * (not size_known)
            missing += [f"density ({why_hu})"] * (not density_known)
            self.notes.append(f"choi: no {' and no '.join(missing)}: not decidable")
        elif _at_least(size_change, s.pd_size_increase_pct):
            cls = "PD"
        else:
            cls = "SD"
        result["choi"] = cls
        return result
