"""Bootstrap validation of the cut-point: determinism and internal consistency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netpet.stats.cox import fit_model
from netpet.stats.cutpoint import search_cutpoint
from netpet.stats.validation import (
    BOOTSTRAP_COLUMNS,
    bootstrap_cutpoint,
    bootstrap_table,
    dichotomy_log_hr,
)


def cohort(seed=4, n=30):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    time = rng.exponential(np.exp(-0.7 * x))
    event = (rng.uniform(size=n) < 0.75).astype(int)
    return pd.DataFrame({"t": time, "e": event, "x": x})


def test_bootstrap_is_deterministic_and_consistent():
    d = cohort()
    r1 = bootstrap_cutpoint(d.t, d.e, d.x, n_resamples=60, seed=5)
    r2 = bootstrap_cutpoint(d.t, d.e, d.x, n_resamples=60, seed=5)
    np.testing.assert_array_equal(r1.boot_cutpoints, r2.boot_cutpoints)
    assert r1.optimism == r2.optimism
    used = np.isfinite(r1.log_hr_boot)
    b, o = r1.log_hr_boot[used], r1.log_hr_orig[used]
    assert r1.optimism == pytest.approx(np.mean(np.abs(b) - np.sign(b) * o))
    a = r1.log_hr_apparent
    assert r1.log_hr_corrected == pytest.approx(np.sign(a) * (abs(a) - r1.optimism))
    # the apparent estimate is the Cox fit of the dichotomy at the searched cut-point
    cut, _ = search_cutpoint(d.t, d.e, d.x)
    fit = fit_model(d.t, d.e, (d.x > cut).to_numpy(float)[:, None])
    assert r1.log_hr_apparent == pytest.approx(fit.coef[0], rel=1e-8)
    # every chosen cut-point is an observed value; frequencies add up to the used resamples
    freq = r1.cut_frequencies()
    assert freq["count"].sum() == r1.n_used
    assert set(freq["cutpoint"]) <= set(d.x)


def test_search_makes_hr_optimistic_on_average():
    """With no true effect, the searched cut-point gives |log HR| > 0 and optimism shrinks it."""
    rng = np.random.default_rng(9)
    n = 40
    d = pd.DataFrame({"t": rng.exponential(size=n), "e": np.ones(n, int), "x": rng.normal(size=n)})
    res = bootstrap_cutpoint(d.t, d.e, d.x, n_resamples=80, seed=2)
    assert abs(res.log_hr_corrected) < abs(res.log_hr_apparent)


def test_bootstrap_table_columns():
    d = cohort()
    summary, freq = bootstrap_table(d, ["x"], "t", "e", n_resamples=20, seed=1)
    assert tuple(summary.columns) == BOOTSTRAP_COLUMNS
    assert summary.loc[0, "n_resamples"] == 20
    assert freq["fraction"].sum() == pytest.approx(1.0)


def test_dichotomy_log_hr_nan_without_contrast():
    assert np.isnan(dichotomy_log_hr([1, 2, 3], [1, 0, 1], [1, 1, 1]))
