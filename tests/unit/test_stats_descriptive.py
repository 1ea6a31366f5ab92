"""Descriptive statistics of the tables: by hand and against R (tests/fixtures/r/wilcoxon.tsv)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from netpet.stats.descriptive import median_iqr, wilcoxon_signed_rank_p

FIXTURES = Path(__file__).parents[1] / "fixtures" / "r"
#: R's wilcox.test method -> ours.
R_METHODS = {
    "Wilcoxon signed rank exact test": "exact",
    "Wilcoxon signed rank test with continuity correction": "normal approximation",
}


def test_wilcoxon_exact_by_hand():
    """Differences 2 -5 3 -20 -10 6: ranks of |d| 1 3 2 6 5 4, W+ = 1 + 2 + 4 = 7.

    Of the 64 sign patterns, 18 give W+ <= 7 (subsets of 1..6 with sum <= 7), so the exact
    two-sided p = 2 x 18 / 64 = 0.5625.
    """
    p, method = wilcoxon_signed_rank_p([12, 15, 33, 20, 40, 66], [10, 20, 30, 40, 50, 60])
    assert method == "exact"
    assert p == pytest.approx(0.5625, abs=1e-12)


def test_wilcoxon_with_ties_uses_corrected_normal_approximation():
    """As R: wilcox.test(c(1, 2, 2, 3, -1, 4)) gives p = 0.07313980 (normal, ties, correct)."""
    p, method = wilcoxon_signed_rank_p([1, 2, 2, 3, -1, 4], [0] * 6)
    assert method == "normal approximation"
    assert p == pytest.approx(0.0731398, rel=1e-5)


def test_wilcoxon_without_differences_is_not_computed():
    p, method = wilcoxon_signed_rank_p([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    assert np.isnan(p) and method == "not computed"


@pytest.mark.parametrize("case", pd.read_csv(FIXTURES / "wilcoxon.tsv", sep="\t")["case"].tolist())
def test_wilcoxon_matches_r(case):
    """wilcox.test(after, before, paired = TRUE) of R 4.2: p to 1e-10 and the same method.

    Covers the exact test, ties, a zero difference (R then uses the normal approximation),
    a missing pair and 60 pairs.
    """
    data = pd.read_csv(FIXTURES / "wilcoxon_data.tsv", sep="\t")
    data = data[data["case"] == case]
    ref = pd.read_csv(FIXTURES / "wilcoxon.tsv", sep="\t").set_index("case").loc[case]
    p, method = wilcoxon_signed_rank_p(data["after"], data["before"])
    assert method == R_METHODS[ref["method"]]
    assert p == pytest.approx(ref["p"], rel=1e-10)


def test_median_iqr_type_7_quartiles():
    """1 2 5 10 25 (NaN dropped): median 5, quartiles 2 and 10 (R quantile type 7)."""
    out = median_iqr([2, 5, 10, 25, 1, np.nan])
    assert out == {"n": 5, "median": 5.0, "q1": 2.0, "q3": 10.0, "integer": True}
    # -50 -25 -20 10 10.5 20: quartiles -25 + 0.25 x 5 and 10 + 0.75 x 0.5
    out = median_iqr([20, -25, 10, -50, -20, 10.5])
    assert (out["median"], out["q1"], out["q3"], out["integer"]) == (-5.0, -23.75, 10.375, False)
    assert median_iqr([np.nan])["n"] == 0
