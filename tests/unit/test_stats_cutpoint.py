"""Unit tests of netpet.stats.cutpoint on hand-computed and simulated references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from netpet.stats.cutpoint import (
    CUTPOINT_COLUMNS,
    candidate_splits,
    chain_correlations,
    cutpoint_curves,
    cutpoint_table,
    logrank_scores,
    maxstat_test,
    p_altman,
    p_exact_gauss,
    standardised_statistics,
)


def test_logrank_scores_hand_computed_with_ties():
    # max ranks 1, 3, 3, 4; terms 1/4, 1/2, 0, 1 -> cumulative 1/4, 3/4, 3/4, 7/4
    scores = logrank_scores([1, 2, 2, 3], [1, 1, 0, 1])
    np.testing.assert_allclose(scores, [0.75, 0.25, -0.75, -0.75], rtol=0, atol=1e-15)


def test_candidate_splits_use_floor_of_n_times_minprop():
    x = np.array([1, 2, 2, 3, 4, 5, 6, 7, 8, 9], dtype=float)
    np.testing.assert_array_equal(
        candidate_splits(x, minprop=0.1, maxprop=0.9), [1, 3, 4, 5, 6, 7, 8, 9]
    )
    np.testing.assert_array_equal(candidate_splits(x, minprop=0.25, maxprop=0.75), [3, 4, 5, 6, 7])


def test_standardised_statistic_hand_computed():
    # scores sorted by x: -0.75, -0.75, 0.25, 0.75; sum -0.5; sum of squares 1.75
    cuts, m, stat = standardised_statistics(
        [0.75, 0.25, -0.75, -0.75], [4, 3, 2, 1], minprop=0, maxprop=1
    )
    # minprop = 0, maxprop = 1: all distinct values but the first split (m = 0) and the largest
    np.testing.assert_array_equal(cuts, [1.0, 2.0])
    np.testing.assert_array_equal(m, [1, 2])
    # m = 1: S = -0.75, E = -0.125, V = 3/48 * 6.75; m = 2: S = -1.5, E = -0.25, V = 4/48 * 6.75
    np.testing.assert_allclose(stat, [0.625 / math.sqrt(0.421875), 1.25 / 0.75], rtol=1e-14)


def test_chain_correlation_equals_permutation_correlation():
    """Enumerate all permutations of 6 scores: corr(S_i, S_j) = sqrt(mi(n-mj)/(mj(n-mi)))."""
    scores = np.array([0.9, -0.3, -0.3, 0.5, -1.2, 0.4])
    n = len(scores)
    sums = np.array([np.cumsum(p)[:-1] for p in itertools.permutations(scores)])
    corr = np.corrcoef(sums.T)
    m = np.arange(1, n)
    np.testing.assert_allclose(np.diag(corr, 1), chain_correlations(n, m), rtol=1e-12)
    # Markov: the correlation of non-neighbours is the product along the chain
    rho = chain_correlations(n, m)
    assert corr[0, 3] == pytest.approx(rho[0] * rho[1] * rho[2], rel=1e-12)


def test_exact_gauss_two_cutpoints_against_bivariate_normal():
    n, m, b = 30, np.array([8, 15]), 2.1
    rho = chain_correlations(n, m)[0]
    inside = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(
        [b, b], lower_limit=[-b, -b]
    )
    assert p_exact_gauss(b, n, m) == pytest.approx(1 - inside, abs=2e-6)


def test_exact_gauss_single_cutpoint_is_two_sided_normal():
    assert p_exact_gauss(1.7, 20, [10]) == pytest.approx(2 * stats.norm.sf(1.7), rel=1e-14)


def test_exact_gauss_against_monte_carlo():
    n = 40
    m = np.arange(4, 37)
    b = 2.6
    corr = np.sqrt(
        np.minimum.outer(m, m)
        * (n - np.maximum.outer(m, m))
        / (np.maximum.outer(m, m) * (n - np.minimum.outer(m, m)))
    )
    rng = np.random.default_rng(11)
    draws = rng.standard_normal((200_000, len(m))) @ np.linalg.cholesky(corr).T
    p_mc = np.mean(np.abs(draws).max(axis=1) >= b)
    se = math.sqrt(p_mc * (1 - p_mc) / len(draws))
    assert abs(p_exact_gauss(b, n, m) - p_mc) < 4 * se


def test_altman_correction_values():
    p = 0.01
    assert p_altman(p, minprop=0.1) == pytest.approx(-1.63 * p * (1 + 2.35 * math.log(p)))
    assert p_altman(p, minprop=0.1) == pytest.approx(0.160101, abs=1e-6)
    assert p_altman(p, minprop=0.05) == pytest.approx(0.206534, abs=1e-6)
    assert math.isnan(p_altman(p, minprop=0.2))
    assert p_altman(0.5, minprop=0.1) == 1.0  # beyond the approximation's maximum


def _toy(seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    time = rng.exponential(np.exp(-0.8 * (x > 0.3)))
    event = (rng.uniform(size=n) < 0.8).astype(int)
    return pd.DataFrame({"t": time, "e": event, "a": x, "b": np.round(x, 1), "const": 1.0})


def test_maxstat_is_seeded_and_groups_low_le_cut():
    d = _toy()
    r1 = maxstat_test(d.t, d.e, d.a, n_permutations=500, seed=3)
    r2 = maxstat_test(d.t, d.e, d.a, n_permutations=500, seed=3)
    assert r1.p_permutation == r2.p_permutation
    assert r1.n_low == int((d.a <= r1.cutpoint).sum())
    assert r1.n_low + r1.n_high == len(d)
    # ties for the maximum go to the smallest cut: the chosen one is the first maximum
    k = int(np.flatnonzero(r1.statistics == r1.statistics.max())[0])
    assert r1.cutpoint == r1.candidates[k]
    # the search makes the naive p too small
    assert r1.p_naive < r1.p_exact


def test_cutpoint_table_and_curves():
    d = _toy()
    table = cutpoint_table(d, ["a", "b", "const"], "t", "e", n_permutations=200, seed=1)
    assert tuple(table.columns) == CUTPOINT_COLUMNS
    assert table["parameter"].tolist() == ["a", "b", "const"]
    # no cut-point: empty group sizes (not a made-up 0) and the reason
    assert table.loc[2, ["n_low", "n_high"]].isna().all()
    assert math.isnan(table.loc[2, "cutpoint"])
    assert table.loc[2, "note"].startswith("single value")
    assert table.loc[0, "note"] == ""
    curves = cutpoint_curves(d, ["a"], "t", "e")
    assert curves["statistic"].max() == pytest.approx(table.loc[0, "statistic"])


@pytest.mark.parametrize(
    ("time", "event", "x", "minprop", "note"),
    [
        ([1, 2, 3, 4], [0, 0, 0, 0], [1, 2, 3, 4], 0.1, "no events"),
        ([1, 2, 3, 4], [1, 0, 1, 0], [7, 7, 7, 7], 0.1, "single value (7)"),
        ([1, 2, 3, 4], [1, 0, 1, 0], [np.nan] * 4, 0.1, "no patient with a value"),
        # floor(3 x 0.4) = 1 <= m <= floor(3 x 0.6) = 1, but the values split 2/1 only
        (
            [1, 2, 3],
            [1, 0, 1],
            [5, 5, 6],
            0.4,
            "no cut-point leaves minprop = 0.4 of the 3 patients on each side",
        ),
        # every patient has an event at the same time: all log-rank scores are equal
        ([2, 2, 2, 2], [1, 1, 1, 1], [1, 2, 3, 4], 0.1, "the log-rank scores do not vary"),
    ],
)
def test_no_cutpoint_is_empty_with_the_reason(time, event, x, minprop, note):
    res = maxstat_test(time, event, x, minprop=minprop, n_permutations=10)
    assert math.isnan(res.cutpoint) and math.isnan(res.statistic) and math.isnan(res.p_exact)
    assert res.n_low is None and res.n_high is None
    assert res.note.startswith(note)
