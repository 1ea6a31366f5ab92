"""Data-driven cut-point of a continuous predictor: the maximally selected log-rank statistic.

This reproduces R's ``maxstat.test(Surv(time, event) ~ x, smethod = "LogRank", pmethod = ...)``
(package maxstat 0.7-25, Hothorn & Lausen 2003), which ``survminer::surv_cutpoint`` also uses,
and adds the p-values that correct for the search.

Definitions (all as maxstat's ``cmaxstat``):

- log-rank scores ``a_i`` of the survival times (exactRankTests ``cscores.Surv``, ties handled as
  Hothorn & Lausen 2003; see :func:`logrank_scores`);
- subjects sorted by the predictor ``x``; a candidate cut-point is a distinct observed value
  ``c`` other than the largest; ``m(c) = #{x <= c}`` is the size of the low group and the
  candidate is kept when ``max(1, floor(n minprop)) <= m <= floor(n maxprop)``
  (maxstat uses ``floor(n * minprop)``, not an empirical quantile);
- ``S_m = sum of the scores of the m lowest x``; under the permutation (conditional)
  distribution ``E = m/n sum a`` and ``V = m (n - m) / (n^2 (n - 1)) (n sum a^2 - (sum a)^2)``;
- standardised statistic ``T_m = |S_m - E| / sqrt(V)``, ``M = max_m T_m``; ties for the
  maximum go to the smallest cut-point.  Low group: ``x <= cut``; high group: ``x > cut``
  (a paper may print the boundary as ">= the next observed value").

``T_m^2`` is not survdiff's chi-square at that cut (different variance), which is why the naive
log-rank p at the chosen cut is reported separately (``p_naive``).

Without a cut-point (no events, a single value, no patient with a value, too few patients for
``minprop``) every number of the row is empty and ``note`` says why
(:func:`no_cutpoint_reason`); a p-value that is not computed has its reason there too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from netpet.errors import InputError
from netpet.stats.columns import CUTPOINT_COLUMNS, join_notes
from netpet.stats.survival import check_survival_data, logrank_test

#: Altman et al. (1994) corrections of the minimum p-value: minprop -> (a, b) in
#: ``p_cor = -a p (1 + b ln p)``.
ALTMAN_COEFFICIENTS = {0.1: (1.63, 2.35), 0.05: (3.13, 1.65)}

_SQRT_2PI = math.sqrt(2 * math.pi)


def logrank_scores(time, event) -> np.ndarray:
    """Log-rank scores of right-censored survival times, as exactRankTests ``cscores.Surv``.

    ``a_i = delta_i - sum_{j: t_j <= t_i} delta_j / (n - r_j + 1)`` where ``r_j`` is the rank of
    ``t_j`` with ties given the maximum rank (``#{t <= t_j}``), so all subjects tied at a time
    share the same cumulative term (Hothorn & Lausen 2003, Comput Stat Data Anal 43:121-137,
    section 2; without ties this is ``delta_i`` minus the Nelson-Aalen cumulative hazard).

    Parameters
    ----------
    time, event : array-like of shape (n,)

    Returns
    -------
    numpy.ndarray of shape (n,)
        Scores in the input order.
    """
    time, event = check_survival_data(time, event)
    n = len(time)
    order = np.argsort(time, kind="stable")
    max_rank = np.searchsorted(np.sort(time), time, side="right")  # #{t <= t_i}
    fact = event / (n - max_rank + 1.0)
    cum = np.cumsum(fact[order])
    return event - cum[max_rank - 1]


def candidate_splits(x_sorted: np.ndarray, *, minprop: float, maxprop: float) -> np.ndarray:
    """Low-group sizes ``m`` of the admissible cut-points of a sorted predictor.

    ``m`` runs over ``#{x < v}`` for every distinct value ``v`` (i.e. the size of the group
    ``x <= previous distinct value``), restricted to
    ``max(1, floor(n minprop)) <= m <= floor(n maxprop)`` (maxstat ``cmaxstat``; with
    ``minprop = 0`` and ``maxprop = 1`` the first and last are dropped instead).

    Returns
    -------
    numpy.ndarray of int
        Increasing low-group sizes; the cut-point of ``m`` is ``x_sorted[m - 1]``.
    """
    n = len(x_sorted)
    first = np.ones(n, dtype=bool)
    first[1:] = x_sorted[1:] != x_sorted[:-1]
    m = np.flatnonzero(first)  # 0-based index of each first occurrence = #{x < v}
    if minprop == 0 and maxprop == 1:
        return m[1:-1]
    lo = max(1, math.floor(n * minprop))
    hi = math.floor(n * maxprop)
    return m[(m >= lo) & (m <= hi)]


def standardised_statistics(scores, x, *, minprop: float = 0.1, maxprop: float | None = None):
    """Standardised statistics ``T_m`` over all admissible cut-points.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Scores of the response (e.g. :func:`logrank_scores`).
    x : array-like of shape (n,)
        Predictor, no missing values.
    minprop, maxprop : float
        Smallest and largest fraction of subjects in the low group; ``maxprop`` defaults to
        ``1 - minprop`` (as ``survminer::surv_cutpoint``; maxstat's own default is 0.9).

    Returns
    -------
    cuts : numpy.ndarray
        Candidate cut-points (increasing).
    m : numpy.ndarray of int
        Low-group size ``#{x <= cut}`` of each candidate.
    stat : numpy.ndarray
        ``|S_m - E_m| / sqrt(V_m)`` (see module docstring).
    """
    maxprop = 1 - minprop if maxprop is None else maxprop
    x = np.asarray(x, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ys = scores[order]
    n = len(xs)
    m = candidate_splits(xs, minprop=minprop, maxprop=maxprop)
    if len(m) == 0:
        return np.array([]), m, np.array([])
    total = ys.sum()
    expect = m / n * total
    var = m * (n - m) / (n**2 * (n - 1.0)) * (n * np.sum(ys**2) - total**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.abs((np.cumsum(ys)[m - 1] - expect) / np.sqrt(var))
    return xs[m - 1], m, stat


def p_lausen92(b: float, *, minprop: float = 0.1, maxprop: float = 0.9) -> float:
    """Lausen & Schumacher (1992) approximation of ``P(M >= b)``.

    ``p = 4 phi(b) / b + phi(b) (b - 1/b) log(maxprop (1 - minprop) / ((1 - maxprop) minprop))``,
    floored at 0; 1 for ``b < 1`` (maxstat ``pLausen92``).  Lausen B, Schumacher M (1992)
    Maximally selected rank statistics. Biometrics 48:73-85.
    """
    if b < 1:
        return 1.0
    db = stats.norm.pdf(b)
    ratio = (maxprop * (1 - minprop)) / ((1 - maxprop) * minprop)
    return max(4 * db / b + db * (b - 1 / b) * math.log(ratio), 0.0)


def p_lausen94(b: float, n: int, m) -> float:
    """Improved Bonferroni bound of Lausen, Sauerbrei & Schumacher (1994).

    ``p = 2 (1 - Phi(b)) + sum_i (1/pi) exp(-b^2/2) (t_i - (b^2/4 - 1) t_i^3 / 6)`` with
    ``t_i = sqrt(1 - m_i (n - m_{i+1}) / ((n - m_i) m_{i+1}))`` over consecutive admissible
    low-group sizes (maxstat ``pLausen94`` with ``m`` given).  Lausen B, Sauerbrei W,
    Schumacher M (1994) Classification and regression trees (CART) used for the exploration of
    prognostic factors measured on different scales. In: Dirschedl P, Ostermann R (eds)
    Computational Statistics, Physica, pp 483-496.
    """
    m = np.asarray(m, dtype=float)
    if len(m) <= 1:
        d = 0.0
    else:
        m1, m2 = m[:-1], m[1:]
        t = np.sqrt(1 - m1 * (n - m2) / ((n - m1) * m2))
        d = float(np.sum(1 / np.pi * np.exp(-(b**2) / 2) * (t - (b**2 / 4 - 1) * t**3 / 6)))
    return 1 - (stats.norm.cdf(b) - stats.norm.cdf(-b)) + d


def chain_correlations(n: int, m) -> np.ndarray:
    """Correlations of consecutive standardised statistics, ``rho_k = corr(T_k, T_{k+1})``.

    Under the permutation distribution the (signed) statistics at low-group sizes
    ``m_i < m_j`` have correlation ``sqrt(m_i (n - m_j) / ((n - m_i) m_j))``, whatever the scores
    (sampling without replacement; maxstat ``corrmsrs``).  This equals
    ``sqrt(s_i / s_j)`` with ``s = m / (n - m)``, the correlation of ``B(s)/sqrt(s)`` for a
    Brownian motion ``B``: the statistics form a Gauss-Markov chain and
    ``rho_ik = rho_ij rho_jk`` (Hothorn & Lausen 2003).
    """
    m = np.asarray(m, dtype=float)
    return np.sqrt(m[:-1] * (n - m[1:]) / ((n - m[:-1]) * m[1:]))


def _chain_probability(b: float, rho: np.ndarray, n_grid: int) -> float:
    """``P(|Z_1| <= b, ..., |Z_K| <= b)`` for the chain ``Z_{k+1} = rho_k Z_k + sqrt(1-rho_k^2) e``.

    The sub-density of ``Z_k`` on [-b, b] (killed outside) is carried on a uniform grid as a
    piecewise-linear function; each transition integrates that function against the Gaussian
    kernel in closed form (normal cdf/pdf), so the step is exact for the interpolant even when
    the kernel is much narrower than the grid.  Error is O(h^2) in the grid step h.
    """
    u = np.linspace(-b, b, n_grid + 1)
    h = u[1] - u[0]
    f = stats.norm.pdf(u)
    for r in rho:
        s = math.sqrt(max(1.0 - r * r, 0.0))
        if s == 0.0:
            continue  # identical statistics: nothing new is constrained
        # w = (r u - v) / s at the nodes, for every target v (rows) and node u (cols)
        w = (r * u[None, :] - u[:, None]) / s
        cdf = special.ndtr(w)
        sf = special.ndtr(-w)
        pdf = np.exp(-0.5 * w * w) / _SQRT_2PI
        # Phi(w_b) - Phi(w_a) per segment, on the side of 0 that avoids cancellation
        dphi = np.where(w[:, :-1] > 0, sf[:, :-1] - sf[:, 1:], cdf[:, 1:] - cdf[:, :-1])
        dpdf = pdf[:, 1:] - pdf[:, :-1]
        v = u[:, None]
        i0 = dphi / r  # integral of the kernel over the segment
        i1 = (v * dphi - s * dpdf) / r**2  # integral of u times the kernel
        # hat-function weights on segment [u_j, u_j+1]
        left = (u[None, 1:] * i0 - i1) / h
        right = (i1 - u[None, :-1] * i0) / h
        f = left @ f[:-1] + right @ f[1:]
    # trapezoid = exact integral of the piecewise-linear density
    return float(h * (f.sum() - 0.5 * (f[0] + f[-1])))


def p_exact_gauss(b: float, n: int, m, *, n_grid: int = 200) -> float:
    """Exact Gaussian-process p ``P(max_k |Z_k| >= b)``, computed deterministically.

    The standardised statistics are asymptotically multivariate normal with the correlation of
    :func:`chain_correlations` (Hothorn & Lausen 2003); R's ``pexactgauss`` integrates that
    multivariate normal with ``mvtnorm::pmvnorm`` (randomised quasi-Monte Carlo).  Here the
    Markov structure reduces the K-dimensional integral to K one-dimensional transitions
    (see ``_chain_probability``), done on grids of ``n_grid`` and ``2 n_grid`` intervals and
    combined by Richardson extrapolation (error O(h^4): relative error about 1e-8 with the
    default grid, checked against Miwa's algorithm in R and against Monte Carlo).

    Parameters
    ----------
    b : float
        Observed maximum statistic.
    n : int
        Number of subjects.
    m : array-like of int
        Admissible low-group sizes (:func:`candidate_splits`).
    """
    m = np.asarray(m)
    if len(m) == 0 or not np.isfinite(b):
        return float("nan")
    if len(m) == 1:
        return float(2 * stats.norm.sf(b))
    rho = chain_correlations(n, m)
    p1 = _chain_probability(b, rho, n_grid)
    p2 = _chain_probability(b, rho, 2 * n_grid)
    inside = (4 * p2 - p1) / 3
    return float(min(max(1.0 - inside, 0.0), 1.0))


def p_permutation(
    scores,
    x,
    m,
    b: float,
    *,
    n_permutations: int,
    seed: int,
    count_ties: bool = True,
    chunk: int = 2000,
) -> float:
    """Conditional Monte-Carlo (permutation) p-value of the maximally selected statistic.

    ``p = (1 + #{b: M*_b >= M}) / (B + 1)`` over ``B`` random permutations of the scores against
    the sorted predictor (Phipson & Smyth 2010, Stat Appl Genet Mol Biol 9:39), with a relative
    tolerance of 1e-9 for ties of the statistic.  R's ``pmethod = "condMC"`` instead counts
    ``M* > M`` and divides by ``B`` (``count_ties=False`` gives that).  The two agree within
    Monte-Carlo error unless the maximum is often tied exactly (tiny samples, a cut-point
    isolating one or two patients), where R's version is too small; the default is the valid,
    conservative one.

    Parameters
    ----------
    scores, x : array-like of shape (n,)
    m : array-like of int
        Admissible low-group sizes.
    b : float
        Observed maximum statistic.
    n_permutations : int
        Number of permutations ``B``.
    seed : int
        Seed of ``numpy.random.default_rng``.
    """
    if n_permutations <= 0 or len(m) == 0 or not np.isfinite(b):
        return float("nan")
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    m = np.asarray(m)
    total = scores.sum()
    expect = m / n * total
    sd = np.sqrt(m * (n - m) / (n**2 * (n - 1.0)) * (n * np.sum(scores**2) - total**2))
    rng = np.random.default_rng(seed)
    threshold = b * (1 - 1e-9) if count_ties else b * (1 + 1e-9)
    hits = 0
    done = 0
    while done < n_permutations:
        size = min(chunk, n_permutations - done)
        perm = rng.permuted(np.broadcast_to(scores, (size, n)), axis=1)
        sums = np.cumsum(perm, axis=1)[:, m - 1]
        stat = np.max(np.abs((sums - expect) / sd), axis=1)
        hits += int(np.sum(stat >= threshold if count_ties else stat > threshold))
        done += size
    if count_ties:
        return (1 + hits) / (n_permutations + 1)
    return hits / n_permutations


def p_altman(p_min: float, *, minprop: float) -> float:
    """Altman's correction of the minimum p-value for an optimally chosen cut-point.

    ``p_cor = -1.63 p (1 + 2.35 ln p)`` for ``minprop = 0.1`` and
    ``p_cor = -3.13 p (1 + 1.65 ln p)`` for ``minprop = 0.05`` (Altman DG, Lausen B,
    Sauerbrei W, Schumacher M (1994) Dangers of using "optimal" cutpoints in the evaluation
    of prognostic factors. J Natl Cancer Inst 86:829-835), with ``p = 2 (1 - Phi(M))`` the
    minimum naive p over the candidates.  The formula approximates small p (the paper gives
    it for p in 0.0001-0.1); it rises to a maximum and then falls, so beyond its maximiser the
    corrected p is reported as 1, and it is capped at 1.  NaN for other ``minprop`` (no
    published coefficients).
    """
    coef = next((v for k, v in ALTMAN_COEFFICIENTS.items() if math.isclose(k, minprop)), None)
    if coef is None or not np.isfinite(p_min):
        return float("nan")
    a, c = coef
    if p_min <= 0:
        return 0.0
    p_peak = math.exp(-1 - 1 / c)  # maximiser of -a p (1 + c ln p)
    if p_min >= p_peak:
        return 1.0
    return float(min(-a * p_min * (1 + c * math.log(p_min)), 1.0))


@dataclass(frozen=True)
class CutpointResult:
    """Result of :func:`maxstat_test`; the fields of :data:`CUTPOINT_COLUMNS` and more.

    ``n_low``/``n_high`` are None and ``note`` says why when there is no cut-point.
    """

    parameter: str
    cutpoint: float
    statistic: float
    p_naive: float
    p_lau92: float
    p_lau94: float
    p_exact: float
    p_permutation: float
    p_altman: float
    n_low: int | None
    n_high: int | None
    minprop: float
    maxprop: float
    n_permutations: int
    candidates: np.ndarray = field(repr=False)
    statistics: np.ndarray = field(repr=False)
    note: str = ""

    def row(self) -> dict:
        """The :data:`CUTPOINT_COLUMNS` fields as a dict (one table row)."""
        return {k: getattr(self, k) for k in CUTPOINT_COLUMNS}


def _complete(time, event, x, parameter: str):
    x = np.asarray(x, dtype=float)
    time, event = check_survival_data(time, event, source=f"cut-point search for {parameter!r}")
    keep = ~np.isnan(x)
    return time[keep], event[keep], x[keep]


def no_cutpoint_reason(event, x, *, minprop: float) -> str:
    """Why a predictor has no cut-point on these data (for the ``note`` column).

    Call it when :func:`standardised_statistics` gave no candidate or no finite statistic;
    ``event`` and ``x`` are the complete cases.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return "no patient with a value"
    if np.sum(event) == 0:
        return "no events"
    values = np.unique(x)
    if values.size == 1:
        return f"single value ({values[0]:g})"
    if n == 1 or not len(candidate_splits(np.sort(x), minprop=minprop, maxprop=1 - minprop)):
        return (
            f"no cut-point leaves minprop = {minprop:g} of the {n} "
            f"patient{'s' if n != 1 else ''} on each side"
        )
    return "the log-rank scores do not vary (all times tied)"


def search_cutpoint(
    time, event, x, *, minprop: float = 0.1, maxprop: float | None = None
) -> tuple[float, float]:
    """Cut-point and maximum statistic only (no p-values): the fast path for the bootstrap.

    Returns ``(cut, M)``, or ``(nan, nan)`` when no admissible cut-point exists or the scores
    have no variance (no events).
    """
    scores = logrank_scores(time, event)
    cuts, _, stat = standardised_statistics(scores, x, minprop=minprop, maxprop=maxprop)
    if len(cuts) == 0 or not np.any(np.isfinite(stat)):
        return float("nan"), float("nan")
    k = int(np.nanargmax(stat))  # first maximum = smallest cut-point
    return float(cuts[k]), float(stat[k])


def maxstat_test(
    time,
    event,
    x,
    *,
    parameter: str = "x",
    minprop: float = 0.1,
    maxprop: float | None = None,
    n_permutations: int = 10000,
    seed: int = 0,
) -> CutpointResult:
    """Maximally selected log-rank statistic with p-values that account for the search.

    Rows with missing ``x`` are dropped (R's default ``na.omit``).  See the module docstring
    for the statistic; p-values: :func:`p_lausen92`, :func:`p_lausen94`,
    :func:`p_exact_gauss`, :func:`p_permutation`, :func:`p_altman`, and ``p_naive``, the
    ordinary log-rank (``survdiff``) p comparing ``x <= cut`` with ``x > cut``, which ignores
    the search and is too small.

    Parameters
    ----------
    time, event, x : array-like of shape (n,)
        Survival time, event indicator (1/0) and the continuous predictor.
    parameter : str
        Name carried into the result.
    minprop, maxprop : float
        Admissible fraction of subjects in the low group (maxprop defaults to 1 - minprop).
    n_permutations : int
        Permutations for ``p_permutation`` (0 disables it).
    seed : int
        Seed of the permutations.

    Returns
    -------
    CutpointResult
        With NaN statistic/cut-point/p-values, no group sizes and the reason in ``note`` when
        there is no admissible cut-point (see :func:`no_cutpoint_reason`).
    """
    maxprop = 1 - minprop if maxprop is None else maxprop
    if not 0 <= minprop <= maxprop <= 1:
        raise InputError(
            f"minprop/maxprop must satisfy 0 <= minprop <= maxprop <= 1, got {minprop}, {maxprop}"
        )
    time, event, x = _complete(time, event, x, parameter)
    nan = float("nan")
    n = len(x)
    scores = logrank_scores(time, event) if n else np.array([])
    cuts, m, stat = standardised_statistics(scores, x, minprop=minprop, maxprop=maxprop)
    if len(cuts) == 0 or not np.any(np.isfinite(stat)):
        return CutpointResult(
            parameter,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            None,
            None,
            minprop,
            maxprop,
            n_permutations,
            cuts,
            stat,
            note=no_cutpoint_reason(event, x, minprop=minprop),
        )
    k = int(np.nanargmax(stat))
    b = float(stat[k])
    cut = float(cuts[k])
    low = x <= cut
    p_naive = logrank_test(time, event, (~low).astype(int)).p
    p_min = float(2 * stats.norm.sf(b))
    p_alt = p_altman(p_min, minprop=minprop)
    notes = []
    if not n_permutations:
        notes.append("p_permutation not computed (no permutations asked for)")
    if not np.isfinite(p_alt):
        notes.append(f"p_altman: no published coefficients for minprop = {minprop:g}")
    return CutpointResult(
        parameter=parameter,
        cutpoint=cut,
        statistic=b,
        p_naive=p_naive,
        p_lau92=p_lausen92(b, minprop=minprop, maxprop=maxprop),
        p_lau94=p_lausen94(b, n, m),
        p_exact=p_exact_gauss(b, n, m),
        p_permutation=p_permutation(
            scores, np.sort(x), m, b, n_permutations=n_permutations, seed=seed
        )
        if n_permutations
        else nan,
        p_altman=p_alt,
        n_low=int(low.sum()),
        n_high=int((~low).sum()),
        minprop=minprop,
        maxprop=maxprop,
        n_permutations=n_permutations,
        candidates=cuts,
        statistics=stat,
        note=join_notes(notes),
    )


def require_columns(patients: pd.DataFrame, cols, what: str) -> None:
    """Raise InputError naming the columns of ``cols`` missing from the patients table."""
    missing = [c for c in cols if c not in patients.columns]
    if missing:
        raise InputError(
            f"patients table: missing column(s) {missing} needed for the {what}; "
            "check the parameter names in the config against the patients table"
        )


def cutpoint_table(
    patients: pd.DataFrame,
    parameters: list[str],
    time_col: str,
    event_col: str,
    *,
    minprop: float = 0.1,
    n_permutations: int = 10000,
    seed: int = 0,
) -> pd.DataFrame:
    """Maximally selected log-rank cut-point of each parameter (one row per parameter).

    Columns exactly :data:`CUTPOINT_COLUMNS`.  The permutation p of parameter ``i`` uses seed
    ``seed + i`` so that each row is reproducible on its own.  A parameter without an
    admissible cut-point gets a row of NaN, empty ``n_low``/``n_high`` (nullable integers) and
    the reason in ``note``.
    """
    require_columns(patients, [time_col, event_col, *parameters], "cut-point search")
    rows = []
    for i, name in enumerate(parameters):
        res = maxstat_test(
            patients[time_col],
            patients[event_col],
            patients[name],
            parameter=name,
            minprop=minprop,
            n_permutations=n_permutations,
            seed=seed + i,
        )
        rows.append(res.row())
    table = pd.DataFrame(rows, columns=list(CUTPOINT_COLUMNS))
    return table.astype({"n_low": "Int64", "n_high": "Int64", "note": str})


def cutpoint_curves(
    patients: pd.DataFrame,
    parameters: list[str],
    time_col: str,
    event_col: str,
    *,
    minprop: float = 0.1,
) -> pd.DataFrame:
    """Standardised log-rank statistic at every candidate cut-point (for the search figure).

    Returns a long table with columns ``parameter, candidate, statistic``.
    """
    require_columns(patients, [time_col, event_col, *parameters], "cut-point curves")
    frames = []
    for name in parameters:
        time, event, x = _complete(patients[time_col], patients[event_col], patients[name], name)
        cuts, _, stat = standardised_statistics(logrank_scores(time, event), x, minprop=minprop)
        frames.append(pd.DataFrame({"parameter": name, "candidate": cuts, "statistic": stat}))
    if not frames:
        return pd.DataFrame(columns=["parameter", "candidate", "statistic"])
    return pd.concat(frames, ignore_index=True)
