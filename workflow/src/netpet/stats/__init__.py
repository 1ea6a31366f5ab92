"""Survival statistics of the study (STUDY.md section 4), checked against R.

Modules, in the order of the analysis:

- :mod:`netpet.stats.columns`: the names of every column the statistics write, and how their
  ``note`` and ``covariates`` cells are built and read back;
- :mod:`netpet.stats.patients`: one row per patient, parameters per time point and changes;
- :mod:`netpet.stats.descriptive`: median (IQR) and the paired Wilcoxon test of the tables;
- :mod:`netpet.stats.survival`: Kaplan-Meier (R's "log" CI) and its median, numbers at risk,
  log-rank test;
- :mod:`netpet.stats.cutpoint`: maximally selected log-rank cut-point with corrected p-values;
- :mod:`netpet.stats.cox`: Cox (Efron), Firth fallback, concordance, PH test;
- :mod:`netpet.stats.validation`: bootstrap optimism of the data-driven cut-point.

Small or degenerate cohorts give results, not exceptions: a value that cannot be computed is
NaN and the ``note`` column of the table says why (:class:`EstimationError` carries the reason
of a model that cannot be fitted).
"""

from netpet.lazy import lazy_exports

# Where each public name lives.  Loaded on first use (PEP 562), so a step that needs only the
# column names does not import lifelines, statsmodels and scipy.stats (about 0.8 s per job).
_SOURCES = {
    "columns": (
        "BOOTSTRAP_COLUMNS",
        "COX_COLUMNS",
        "CUTPOINT_COLUMNS",
        "change_column",
        "value_column",
    ),
    "cox": ("EstimationError", "cox_table", "cox_zph", "fit_cox", "fit_firth", "fit_model"),
    "cutpoint": ("cutpoint_curves", "cutpoint_table", "maxstat_test"),
    "descriptive": ("median_iqr", "wilcoxon_signed_rank_p"),
    "patients": ("build_patient_table",),
    "survival": (
        "kaplan_meier",
        "km_quantile",
        "logrank_test",
        "median_survival",
        "numbers_at_risk",
        "survival_at",
    ),
    "validation": ("bootstrap_cutpoint", "bootstrap_table"),
}
__all__, __getattr__ = lazy_exports(__name__, _SOURCES)
