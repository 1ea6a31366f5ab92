"""Cox proportional-hazards models: Efron ties, Firth fallback, concordance, PH check.

The reference is R's ``survival::coxph(ties = "efron")``, ``concordance()`` and ``cox.zph()``
(survival 3.5); the tests compare coefficients, CIs, p-values, concordance and the PH test to at
least 4 significant digits.  The partial likelihood is maximised here by Newton-Raphson with
step halving (as coxph), to a much tighter tolerance than R's default, so both converge to the
same maximum.

With few patients a dichotomy may leave a group without events: the partial likelihood is then
monotone and the maximum-likelihood HR is 0 or infinite (R prints a HR of 1e-8 with CI 0-Inf
and a warning).  :func:`fit_model` detects this and refits with Firth's penalised likelihood
(Firth 1993; Heinze & Schemper 2001, R ``coxphf``), with profile penalised-likelihood CIs and
penalised likelihood-ratio p; such rows say ``method = "firth_profile"``.  The Firth fit uses
Breslow's handling of ties, as ``coxphf`` does.

Small or degenerate cohorts (no events, one event, a handful of patients, a constant parameter,
a Fisher information that is singular, a penalised fit that does not converge) are results,
not crashes: :func:`cox_table` writes the row with empty estimates and a ``note`` saying why
(see :data:`COX_COLUMNS`); warnings of the fitting libraries are turned into notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, stats

from netpet.errors import InputError
from netpet.stats.columns import COX_COLUMNS, covariates_cell, join_notes
from netpet.stats.patients import WHO_GRADE_LEVELS
from netpet.stats.survival import check_survival_data

#: Start of the ``note`` of a Cox row fitted by Firth's penalised likelihood.
FIRTH_NOTE = "Firth-penalised fit"


class EstimationError(RuntimeError):
    """A model cannot be estimated on these data (not bad input: a result of the cohort).

    The message says why, in words fit for the ``note`` column of a results table, e.g.
    ``"Firth fit not possible: Fisher information is rank deficient (1 event, 3
    coefficients)"``.
    """


class _RiskSets:
    """Risk-set bookkeeping of right-censored data, sorted once for repeated likelihood calls.

    Subjects are sorted by decreasing time so that each risk set ``{t_i >= t}`` is a prefix.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray):
        order = np.argsort(-time, kind="stable")
        self.order = order
        ts = time[order]
        es = event[order]
        self.event_times = np.unique(ts[es == 1])[::-1]  # decreasing
        self.end = np.searchsorted(-ts, -self.event_times, side="right") - 1
        self.death_pos = np.flatnonzero(es == 1)
        self.death_group = np.searchsorted(-self.event_times, -ts[self.death_pos])
        d = np.bincount(self.death_group, minlength=len(self.event_times))
        self.n_deaths = d
        # Efron: d rows per event time with weights k/d, k = 0..d-1
        self.rep = np.repeat(np.arange(len(d)), d)
        self.frac = np.concatenate([np.arange(k) / k for k in d]) if len(d) else np.array([])


def _efron(beta: np.ndarray, xs: np.ndarray, rs: _RiskSets, *, detail: bool = False):
    """Efron log partial likelihood, score and information at ``beta``.

    For an event time with death set D (d deaths) and risk set R, with ``r = exp(x beta)``:
    ``l += sum_D x beta - sum_{k=0}^{d-1} log(S0_R - k/d S0_D)`` and likewise for the score
    and information with the Efron-weighted means ``s1/s0`` and covariances
    (Efron B (1977) The efficiency of Cox's likelihood function for censored data.
    J Am Stat Assoc 72:557-565).

    ``xs`` is the design matrix already in ``rs.order``.
    """
    eta = xs @ beta
    c = eta.max() if len(eta) else 0.0
    r = np.exp(eta - c)
    rx = r[:, None] * xs
    rxx = rx[:, :, None] * xs[:, None, :]
    s0_r = np.cumsum(r)[rs.end]
    s1_r = np.cumsum(rx, axis=0)[rs.end]
    s2_r = np.cumsum(rxx, axis=0)[rs.end]
    k = len(rs.event_times)
    p = xs.shape[1]
    d0 = np.bincount(rs.death_group, weights=r[rs.death_pos], minlength=k)
    d1 = np.zeros((k, p))
    np.add.at(d1, rs.death_group, rx[rs.death_pos])
    d2 = np.zeros((k, p, p))
    np.add.at(d2, rs.death_group, rxx[rs.death_pos])
    f = rs.frac
    s0 = s0_r[rs.rep] - f * d0[rs.rep]
    s1 = s1_r[rs.rep] - f[:, None] * d1[rs.rep]
    s2 = s2_r[rs.rep] - f[:, None, None] * d2[rs.rep]
    xbar = s1 / s0[:, None]
    var = s2 / s0[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
    loglik = float(eta[rs.death_pos].sum() - np.sum(np.log(s0) + c))
    score = xs[rs.death_pos].sum(axis=0) - xbar.sum(axis=0)
    info = var.sum(axis=0)
    if detail:
        return loglik, score, info, xbar, var
    return loglik, score, info


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model (one row per coefficient in the arrays).

    ``ci_low``/``ci_high`` are on the log-hazard scale: Wald for ``cox_efron``, profile
    penalised likelihood for ``firth_profile``.  ``p_lr`` is the likelihood-ratio p of each
    coefficient (model without that column as reference).  ``notes`` say why a value of the
    fit is NaN (e.g. a profile-likelihood bound that was not found).
    """

    names: tuple
    coef: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_wald: np.ndarray
    p_lr: np.ndarray
    loglik: float
    n: int
    events: int
    concordance: float
    method: str
    converged: bool
    monotone_reason: str = ""
    cov: np.ndarray = field(default=None, repr=False)
    notes: tuple = ()

    @property
    def hr(self) -> np.ndarray:
        """Hazard ratios ``exp(coef)``."""
        return np.exp(self.coef)


def _newton_raphson(xs, rs, *, max_iter: int = 60, tol: float = 1e-10):
    """Maximise the Efron partial likelihood from ``beta = 0`` (Newton-Raphson, step halving).

    Converged when the largest step is below ``tol`` (absolute, log-hazard scale).
    Returns ``(beta, loglik, info, converged)``.
    """
    with np.errstate(all="ignore"):  # a diverging fit overflows; halving and the flag handle it
        return _newton_raphson_steps(xs, rs, max_iter=max_iter, tol=tol)


def _newton_raphson_steps(xs, rs, *, max_iter: int, tol: float):
    p = xs.shape[1]
    beta = np.zeros(p)
    loglik, score, info = _efron(beta, xs, rs)
    for _ in range(max_iter):
        try:
            with warnings.catch_warnings():
                # a diverging coefficient makes the information near-singular; that case is
                # reported through the convergence flag instead
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                step = linalg.solve(info, score, assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            return beta, loglik, info, False
        new = beta + step
        new_ll, new_score, new_info = _efron(new, xs, rs)
        halvings = 0
        while (not np.isfinite(new_ll) or new_ll < loglik - 1e-12 * abs(loglik)) and halvings < 30:
            step = step / 2
            new = beta + step
            new_ll, new_score, new_info = _efron(new, xs, rs)
            halvings += 1
        beta, loglik, score, info = new, new_ll, new_score, new_info
        if np.max(np.abs(step)) < tol:
            return beta, loglik, info, True
    return beta, loglik, info, False


def concordance_index(time, event, risk) -> float:
    """Harrell's C of a risk score, as R's ``concordance()`` reports it for a coxph fit.

    A pair is comparable when the subject with the shorter time had an event; for equal times,
    an event and a censoring are comparable (the censored subject was still at risk), two
    events are not.  Concordant when the shorter time has the higher risk; pairs tied on the
    risk score count one half: ``C = (concordant + tied/2) / (concordant + discordant + tied)``
    (Harrell FE, Lee KL, Mark DB (1996) Multivariable prognostic models. Stat Med
    15:361-387).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    risk = np.asarray(risk, dtype=float)
    ti, tj = time[:, None], time[None, :]
    comparable = (event[:, None] == 1) & ((ti < tj) | ((ti == tj) & (event[None, :] == 0)))
    ri, rj = risk[:, None], risk[None, :]
    conc = np.sum(comparable & (ri > rj))
    disc = np.sum(comparable & (ri < rj))
    tied = np.sum(comparable & (ri == rj))
    total = conc + disc + tied
    return float((conc + tied / 2) / total) if total else float("nan")


def _km_left(time, event) -> np.ndarray:
    """Kaplan-Meier estimate just before each subject's time, ``S(t-)``."""
    utimes = np.unique(time)
    n_risk = np.array([(time >= t).sum() for t in utimes], dtype=float)
    n_event = np.array([event[time == t].sum() for t in utimes], dtype=float)
    surv = np.cumprod(1 - n_event / n_risk)
    idx = np.searchsorted(utimes, time, side="left")  # number of distinct times < t
    return np.concatenate([[1.0], surv])[idx]


def cox_zph(time, event, x, beta, *, terms: list[list[int]] | None = None) -> pd.DataFrame:
    """Test of proportional hazards from scaled Schoenfeld residuals, as R's ``cox.zph``.

    Score test, at the fitted ``beta``, of the extra coefficients ``gamma`` in
    ``x beta + (x g(t)) gamma`` with ``g(t) = 1 - S_KM(t-)`` ("km" transform), centred on its
    mean over the events (Grambsch & Therneau 1994, Biometrika 81:515-526; survival >= 3.0
    ``cox.zph(transform = "km", terms = TRUE)``).  With Efron-weighted means ``xbar`` and
    covariances ``V`` at each event time, the score is
    ``U = sum_events g(t_i) (x_i - xbar)`` and the information is
    ``[[sum V, sum g V], [sum g V, sum g^2 V]]``; a term's statistic is
    ``u' I^{-1} u`` with ``u = (0, U_term)``, chi-square with the term's columns as df.

    Parameters
    ----------
    time, event : array-like of shape (n,)
    x : array-like of shape (n, p)
        Design matrix of the fit.
    beta : array-like of shape (p,)
        Fitted coefficients.
    terms : list of list of int, optional
        Columns forming each term (e.g. all grade dummies together); default one per column.

    Returns
    -------
    pandas.DataFrame
        ``term`` (index into ``terms``, then "GLOBAL"), ``chisq``, ``df``, ``p``.
    """
    time, event = check_survival_data(time, event)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    p = x.shape[1]
    terms = [[j] for j in range(p)] if terms is None else terms
    rs = _RiskSets(time, event)
    xs = x[rs.order]
    _, _, _, xbar, var = _efron(np.asarray(beta, dtype=float), xs, rs, detail=True)
    ttimes = 1 - _km_left(time, event)
    gtime = ttimes - ttimes[event == 1].mean()
    g_sorted = gtime[rs.order]
    g_death = g_sorted[rs.death_pos]
    g_row = g_death[np.searchsorted(rs.death_group, np.arange(len(rs.event_times)))][rs.rep]
    u2 = (g_death[:, None] * xs[rs.death_pos]).sum(axis=0) - (g_row[:, None] * xbar).sum(axis=0)
    i11 = var.sum(axis=0)
    i12 = (g_row[:, None, None] * var).sum(axis=0)
    i22 = (g_row[:, None, None] ** 2 * var).sum(axis=0)
    imat = np.block([[i11, i12], [i12, i22]])
    rows = []
    for name, cols in [*enumerate(terms), ("GLOBAL", list(range(p)))]:
        kk = list(range(p)) + [p + j for j in cols]
        u = np.concatenate([np.zeros(p), u2[cols]])
        chisq = float(u @ linalg.solve(imat[np.ix_(kk, kk)], u))
        rows.append(
            {
                "term": name,
                "chisq": chisq,
                "df": len(cols),
                "p": float(stats.chi2.sf(chisq, len(cols))),
            }
        )
    return pd.DataFrame(rows)


def monotone_likelihood(
    time, event, x, *, converged: bool = True, coef=None, se=None, names=None
) -> str:
    """Reason why the Cox partial likelihood is monotone (infinite estimate), or ``""``.

    Checks, in order: a binary column (e.g. a dichotomised parameter or a grade dummy) with
    no events in one of its two levels (Heinze & Schemper 2001: monotone likelihood occurs
    with small samples and a group without events); then, for a fit, Newton-Raphson that did
    not converge, or a coefficient or standard error beyond 10 per standard deviation of its
    column (a hazard ratio beyond e^10 per SD, or an information near 0, is a diverging
    estimate, e.g. when all events of one group happen after the other group has left the
    risk set).  ``names`` (one per column) name the column in the reason.
    """
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    event = np.asarray(event)
    for j in range(x.shape[1]):
        levels = np.unique(x[:, j])
        if len(levels) == 2:
            for level in levels:
                if event[x[:, j] == level].sum() == 0:
                    name = names[j] if names is not None else f"column {j}"
                    if set(levels) == {0.0, 1.0}:  # an indicator: name the group
                        return (
                            f"no events where {name}" if level else f"no events where not ({name})"
                        )
                    return f"no events where {name} = {level:g}"
    if not converged:
        return "Newton-Raphson did not converge (coefficient diverging)"
    sd = x.std(axis=0)
    if coef is not None and np.any(np.abs(np.asarray(coef)) * sd > 10):
        return "coefficient beyond 10 per SD (diverging)"
    if se is not None and np.any(~np.isfinite(se) | (np.asarray(se) * sd > 10)):
        return "standard error beyond 10 per SD (information near 0: diverging)"
    return ""


def fit_cox(time, event, x, *, names=None) -> CoxFit:
    """Cox proportional-hazards model with Efron ties, as R's ``coxph(ties = "efron")``.

    HR ``exp(beta)``, Wald 95 % CI ``exp(beta +/- 1.96 se)`` with ``se`` from the inverse
    observed information, Wald p ``2 (1 - Phi(|beta / se|))``, likelihood-ratio p of each
    coefficient ``chi2_1(2 (l_full - l_without_it))`` (Cox DR (1972) J R Stat Soc B 34:187-220;
    Efron 1977).  Concordance: :func:`concordance_index` of the linear predictor.

    Parameters
    ----------
    time, event : array-like of shape (n,)
    x : array-like of shape (n, p)
    names : sequence of str, optional

    Returns
    -------
    CoxFit
        ``method = "cox_efron"``; ``converged`` False and ``monotone_reason`` set when the
        likelihood is monotone (then the estimates are meaningless: use :func:`fit_model`).
    """
    time, event = check_survival_data(time, event)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    p = x.shape[1]
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    rs = _RiskSets(time, event)
    xs = x[rs.order]
    beta, loglik, info, converged = _newton_raphson(xs, rs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            cov = linalg.inv(info)
        with np.errstate(invalid="ignore"):  # a negative variance (diverging fit) gives NaN
            se = np.sqrt(np.diag(cov))
    except (linalg.LinAlgError, ValueError):
        cov = np.full((p, p), np.nan)
        se = np.full(p, np.nan)
    reason = monotone_likelihood(time, event, x, converged=converged, coef=beta, se=se, names=names)
    z = stats.norm.ppf(0.975)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_wald = 2 * stats.norm.sf(np.abs(beta / se))
    p_lr = np.empty(p)
    for j in range(p):
        rest = [k for k in range(p) if k != j]
        if rest:
            _, ll0, _, _ = _newton_raphson(xs[:, rest], rs)
        else:
            ll0 = _efron(np.zeros(0), xs[:, :0], rs)[0]
        p_lr[j] = stats.chi2.sf(max(2 * (loglik - ll0), 0.0), 1)
    return CoxFit(
        names=names,
        coef=beta,
        se=se,
        ci_low=beta - z * se,
        ci_high=beta + z * se,
        p_wald=p_wald,
        p_lr=p_lr,
        loglik=loglik,
        n=len(time),
        events=int(event.sum()),
        concordance=concordance_index(time, event, x @ beta),
        method="cox_efron",
        converged=converged and not reason,
        monotone_reason=reason,
        cov=cov,
    )


#: Newton step limits (log-hazard units) tried in turn by the Firth fit.  firthmodels steers
#: by the unpenalised information, which is half the curvature of the penalised likelihood
#: when the penalty dominates (a group without events), so a long first step can leave it
#: oscillating about the maximum; shorter steps approach it from one side.
FIRTH_MAX_STEPS = (5.0, 1.0, 0.25)


def _warning_texts(caught) -> list[str]:
    return list(dict.fromkeys(str(w.message).rstrip(".") for w in caught))


def firth_model(time, event, x):
    """Fitted ``firthmodels.FirthCoxPH`` (Breslow ties) and notes, or :class:`EstimationError`.

    Each step limit of :data:`FIRTH_MAX_STEPS` is tried until a fit converges by firthmodels'
    own criteria (penalised score below 1e-4 and last step below 1e-6).

    Returns
    -------
    model : firthmodels.FirthCoxPH
    notes : list of str
        Other warnings raised by the converged fit.

    Raises
    ------
    EstimationError
        When no attempt converges, e.g. because the Fisher information is singular (too few
        events for the coefficients).
    """
    from firthmodels import FirthCoxPH
    from sklearn.exceptions import ConvergenceWarning

    time = np.asarray(time, dtype=float)
    event = np.asarray(event)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    n_events, p = int(event.sum()), x.shape[1]
    size = f"{n_events} event{'s' if n_events != 1 else ''}, {p} coefficient{'s' if p != 1 else ''}"
    problem = ""
    for max_step in FIRTH_MAX_STEPS:
        model = FirthCoxPH(
            backend="numpy", max_iter=200, max_step=max_step, max_halfstep=30, gtol=1e-4, xtol=1e-6
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model.fit(x, (event.astype(bool), time))
            except (linalg.LinAlgError, ValueError) as error:
                problem = f"Firth fit not possible: {str(error).rstrip('.')}"
                continue
        failed = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        if model.converged_ and not failed and np.all(np.isfinite(model.coef_)):
            return model, _warning_texts(caught)
        problem = "Firth fit did not converge: " + (
            "; ".join(_warning_texts(failed)) or "no convergence"
        )
    raise EstimationError(f"{problem} ({size})")


def fit_firth(time, event, x, *, names=None, reason: str = "", all_terms: bool = False) -> CoxFit:
    """Firth-penalised Cox model (Heinze & Schemper 2001; R ``coxphf``), via ``firthmodels``.

    Maximises ``l(beta) + 1/2 log det I(beta)`` (Firth D (1993) Bias reduction of maximum
    likelihood estimates. Biometrika 80:27-38; Heinze G, Schemper M (2001) A solution to the
    problem of monotone likelihood in Cox regression. Biometrics 57:114-119) with Breslow's
    ties as coxphf.  CIs are profile penalised likelihood (the set of beta_j with
    ``2 (l*_max - l*_profile(beta_j)) <= chi2_1(0.95)``), p_lr the penalised likelihood-ratio
    test, p_wald from the penalised information.  The estimate stays finite under monotone
    likelihood.  The profile CI and LR test are computed for the first column only (the
    parameter of interest; the others are adjusters) unless ``all_terms``.

    A profile bound or LR test that cannot be computed is NaN, with the reason in
    ``CoxFit.notes``.

    Raises
    ------
    EstimationError
        When the penalised fit itself fails (:func:`firth_model`).
    """
    time, event = check_survival_data(time, event)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    p = x.shape[1]
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    model, notes = firth_model(time, event, x)
    features = list(range(p)) if all_terms else [0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.lrt(features=features)
        except (linalg.LinAlgError, ValueError) as error:
            notes.append(f"likelihood-ratio test not computable: {str(error).rstrip('.')}")
    notes += [f"likelihood-ratio test: {text}" for text in _warning_texts(caught)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ci = model.conf_int(alpha=0.05, method="pl", features=features, tol=1e-6, max_iter=200)
        except (linalg.LinAlgError, ValueError) as error:
            ci = np.full((p, 2), np.nan)
            notes.append(f"profile-likelihood CI not computable: {str(error).rstrip('.')}")
    notes += [f"profile-likelihood CI: {text}" for text in _warning_texts(caught)]
    beta = np.asarray(model.coef_, dtype=float)
    return CoxFit(
        names=names,
        coef=beta,
        se=np.asarray(model.bse_),
        ci_low=np.asarray(ci[:, 0], dtype=float),
        ci_high=np.asarray(ci[:, 1], dtype=float),
        p_wald=np.asarray(model.pvalues_),
        p_lr=np.asarray(model.lrt_pvalues_),
        loglik=float(model.loglik_),
        n=len(time),
        events=int(event.sum()),
        concordance=concordance_index(time, event, x @ beta),
        method="firth_profile",
        converged=bool(model.converged_),
        monotone_reason=reason,
        notes=tuple(notes),
    )


def fit_model(time, event, x, *, names=None, all_terms: bool = False) -> CoxFit:
    """Efron Cox fit, falling back to Firth's penalised fit under monotone likelihood.

    ``all_terms``: the Firth fallback profiles every coefficient, not only the first.

    Raises
    ------
    EstimationError
        When the Firth fallback cannot be fitted (see :func:`firth_model`).
    """
    reason = monotone_likelihood(time, event, x, names=names)
    if reason:
        return fit_firth(time, event, x, names=names, reason=reason, all_terms=all_terms)
    fit = fit_cox(time, event, x, names=names)
    if fit.monotone_reason:
        return fit_firth(
            time, event, x, names=names, reason=fit.monotone_reason, all_terms=all_terms
        )
    return fit


def categorical_design(
    values: pd.Series, *, name: str, levels=None, min_level_size: int = 2
) -> tuple[np.ndarray, list[str], str]:
    """Treatment (dummy) coding of a categorical covariate, first level as reference.

    Levels follow ``levels`` when given (e.g. ``WHO_GRADE_LEVELS``), else sorted order (R's
    ``factor`` default).  Absent levels are dropped.  A level with fewer than
    ``min_level_size`` patients cannot be estimated (its coefficient would rest on one
    patient), so it is merged into its neighbour in that order (the previous level; the next
    one for the first level).  The returned note says what was merged, e.g.
    ``"who_grade: G3 (1 patient) merged into G2"``.

    Returns
    -------
    x : numpy.ndarray of shape (n, k - 1)
    names : list of str
        Column names ``"{name}={level}"``.
    note : str
    """
    vals = values.astype(str).to_numpy()
    present = sorted(set(vals)) if levels is None else [lv for lv in levels if lv in set(vals)]
    unknown = sorted(set(vals) - set(present))
    if unknown:
        raise InputError(f"column {name!r}: unknown level(s) {unknown}; expected {list(levels)}")
    notes = []
    groups = [[lv] for lv in present]
    changed = True
    while changed and len(groups) > 1:
        changed = False
        for i, g in enumerate(groups):
            size = int(np.isin(vals, g).sum())
            if size < min_level_size:
                j = i - 1 if i > 0 else i + 1
                notes.append(
                    f"{'+'.join(g)} ({size} patient{'s' if size != 1 else ''}) merged into "
                    f"{'+'.join(groups[j])}"
                )
                groups[j] = sorted(groups[j] + g, key=present.index)
                del groups[i]
                changed = True
                break
    cols = [np.isin(vals, g).astype(float) for g in groups[1:]]
    names = [f"{name}={'+'.join(g)}" for g in groups[1:]]
    x = np.column_stack(cols) if cols else np.zeros((len(vals), 0))
    if len(groups) == 1:
        notes.append("single level: not adjusted")
    note = f"{name}: " + "; ".join(notes) if notes else ""
    return x, names, note


def is_categorical(name: str, values: pd.Series) -> bool:
    """Whether adjuster ``name`` enters a Cox model dummy-coded (else as a number).

    ``who_grade`` always (levels :data:`netpet.stats.patients.WHO_GRADE_LEVELS`, G1 the
    reference); any other column when it is not numeric.
    """
    return name == "who_grade" or not pd.api.types.is_numeric_dtype(values)


def reported_p(method: str, p_wald: float, p_lr: float) -> float:
    """The p-value reported for a Cox row: Wald, or the penalised LR p for Firth fits.

    A Firth fit's profile-likelihood CI and its likelihood-ratio test agree with each other;
    the Wald p of a penalised fit need not agree with either (Heinze & Schemper 2001).
    """
    return p_lr if method == "firth_profile" else p_wald


def _design(patients: pd.DataFrame, predictor: np.ndarray, adjust_for, *, name: str = "x"):
    """Design matrix: predictor column first, then the adjusters (dummy-coded if categorical).

    A numeric adjuster with a single value cannot be estimated and is left out (noted).
    """
    blocks = [predictor[:, None]]
    names = [name]
    terms = [[0]]
    notes = []
    for col in adjust_for or []:
        s = patients[col]
        if is_categorical(col, s):
            levels = WHO_GRADE_LEVELS if col == "who_grade" else None
            xd, nd, note = categorical_design(s, name=col, levels=levels)
        elif s.nunique() < 2 and len(s):
            xd, nd, note = np.zeros((len(s), 0)), [], f"{col}: single value: not adjusted"
        else:
            xd, nd, note = s.to_numpy(dtype=float)[:, None], [col], ""
        if xd.shape[1]:
            start = sum(b.shape[1] for b in blocks)
            terms.append(list(range(start, start + xd.shape[1])))
            blocks.append(xd)
            names.extend(nd)
        if note:
            notes.append(note)
    return np.column_stack(blocks), names, terms, notes


def cox_table(
    patients: pd.DataFrame,
    parameters: list[str],
    *,
    time_col: str,
    event_col: str,
    codings=("continuous", "dichotomised"),
    cutpoints: pd.DataFrame | None = None,
    adjust_for: list[str] | None = None,
) -> pd.DataFrame:
    """Cox model of each parameter, continuous and/or dichotomised, optionally adjusted.

    Continuous: HR per unit of the parameter.  Dichotomised: HR of ``x > cutpoint`` (high)
    versus ``x <= cutpoint`` (low), the cut-point taken from ``cutpoints`` (columns
    ``parameter, cutpoint``, optional ``note``, e.g.
    :func:`netpet.stats.cutpoint.cutpoint_table`).
    Adjusted models add ``adjust_for`` (``who_grade`` dummy-coded with G1 as reference; rare
    levels merged, see :func:`categorical_design`); the reported HR, CI and p are those of the
    parameter, ``p_lr`` compares the model with and without the parameter, ``concordance`` is
    that of the whole model's linear predictor.  Patients with a missing parameter or adjuster
    are left out of that model (``n`` says how many remain).  Under monotone likelihood the
    row is a Firth fit (``method = "firth_profile"``; see module docstring).  ``ph_p`` is the
    global p of :func:`cox_zph` (NaN for Firth fits, where the PH test is not defined).

    A model that cannot be estimated (no patient or no event left, a parameter with a single
    value, no cut-point, a singular information or a Firth fit that does not converge) gives
    ``method = "not_estimable"``, empty estimates and the reason in ``note``; ``note`` also
    says why any other value of a row is empty (a PH test or profile bound not computable)
    and which rows are Firth fits, and carries warnings of the fit.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COX_COLUMNS`; ``covariates`` is ``"none"`` or the adjusters, followed
        by any note on merged levels in brackets.
    """
    adjust_for = list(adjust_for or [])
    needed = [time_col, event_col, *parameters, *adjust_for]
    missing = [c for c in needed if c not in patients.columns]
    if missing:
        raise InputError(
            f"patients table: missing column(s) {missing} needed for the Cox models; "
            "check the parameter and adjuster names in the config"
        )
    codings = tuple(codings)
    bad = [c for c in codings if c not in ("continuous", "dichotomised")]
    if bad:
        raise InputError(f"unknown coding(s) {bad}: use 'continuous' and/or 'dichotomised'")
    cuts, cut_notes = {}, {}
    if "dichotomised" in codings:
        if cutpoints is None or not {"parameter", "cutpoint"} <= set(cutpoints.columns):
            raise InputError(
                "dichotomised Cox models need a cutpoints table with columns "
                "'parameter' and 'cutpoint'"
            )
        cuts = dict(zip(cutpoints["parameter"], cutpoints["cutpoint"], strict=True))
        if "note" in cutpoints.columns:
            cut_notes = dict(zip(cutpoints["parameter"], cutpoints["note"], strict=True))
    rows = []
    for name in parameters:
        for coding in codings:
            row = {"parameter": name, "coding": coding}
            data = patients.dropna(subset=[time_col, event_col, name, *adjust_for])
            x = data[name].to_numpy(dtype=float)
            reason = ""
            label = name
            if coding == "dichotomised":
                if name not in cuts:
                    raise InputError(f"cutpoints table has no row for parameter {name!r}")
                cut = float(cuts[name])
                if np.isfinite(cut):
                    label = f"{name} > {cut:g}"
                else:
                    why = cut_notes.get(name)
                    reason = f"no cut-point ({why})" if isinstance(why, str) and why else ""
                    reason = reason or "no cut-point"
                x = (x > cut).astype(float)
            xm, names, terms, notes = _design(data, x, adjust_for, name=label)
            row["covariates"] = covariates_cell(adjust_for, notes)
            fitted = _fit_row(
                data[time_col],
                data[event_col],
                xm,
                names,
                terms,
                reason=reason,
                dichotomised=coding == "dichotomised",
            )
            row.update(fitted)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COX_COLUMNS))


def _not_estimable_reason(time, event, x, *, dichotomised: bool) -> str:
    """Why no Cox model can be fitted at all, or ``""``."""
    if len(time) == 0:
        return "no patient with a value"
    if len(time) == 1:
        return "1 patient with a value"
    if event.sum() == 0:
        return "no events"
    if np.unique(x).size < 2:
        return (
            "all patients on one side of the cut-point"
            if dichotomised
            else (f"single value ({x[0]:g})")
        )
    return ""


def _fit_row(time, event, xm, names, terms, *, reason: str = "", dichotomised: bool = False):
    """One row of :func:`cox_table`; warnings of the fit become notes."""
    nan = float("nan")
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    empty = {
        "n": len(time),
        "events": int(np.nansum(event)),
        "hr": nan,
        "ci_low": nan,
        "ci_high": nan,
        "p_wald": nan,
        "p_lr": nan,
        "concordance": nan,
        "method": "not_estimable",
        "ph_p": nan,
    }
    reason = reason or _not_estimable_reason(time, event, xm[:, 0], dichotomised=dichotomised)
    if reason:
        return {**empty, "note": reason}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = fit_model(time, event, xm, names=names)
        except EstimationError as error:
            return {**empty, "note": str(error)}
    notes = [f"{FIRTH_NOTE}, monotone likelihood: {fit.monotone_reason}"] * (
        fit.method == "firth_profile"
    )
    notes += [*fit.notes, *(f"warning: {text}" for text in _warning_texts(caught))]
    if not np.isfinite(fit.concordance):
        notes.append("concordance not defined (no comparable pair of patients)")
    ph_p = nan
    if fit.method == "cox_efron":
        ph_p, ph_note = _ph_test_p(time, event, xm, fit.coef, terms)
        notes += [ph_note] * bool(ph_note)
    return {
        "n": fit.n,
        "events": fit.events,
        "hr": float(np.exp(fit.coef[0])),
        "ci_low": float(np.exp(fit.ci_low[0])),
        "ci_high": float(np.exp(fit.ci_high[0])),
        "p_wald": float(fit.p_wald[0]),
        "p_lr": float(fit.p_lr[0]),
        "concordance": fit.concordance,
        "method": fit.method,
        "ph_p": ph_p,
        "note": join_notes(notes),
    }


def _ph_test_p(time, event, xm, coef, terms) -> tuple[float, str]:
    """Global p of :func:`cox_zph`, or NaN and why (a singular information: too few events)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", linalg.LinAlgWarning)
            zph = cox_zph(time, event, xm, coef, terms=terms)
    except (linalg.LinAlgError, linalg.LinAlgWarning):
        events = int(np.sum(event))
        return float("nan"), (
            f"PH test not computable: singular information ({events} "
            f"event{'s' if events != 1 else ''})"
        )
    p = float(zph["p"].iloc[-1])
    return p, "" if np.isfinite(p) else "PH test not computable"
