"""Kaplan-Meier and log-rank on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netpet.errors import InputError
from netpet.stats.survival import (
    kaplan_meier,
    km_quantile,
    logrank_test,
    median_survival,
    numbers_at_risk,
    survival_at,
)

TIME = [1, 2, 2, 3, 4]
EVENT = [1, 1, 0, 1, 0]
Z = 1.959963984540054


def test_kaplan_meier_hand_computed():
    km = kaplan_meier(TIME, EVENT)
    np.testing.assert_allclose(km["survival"], [0.8, 0.6, 0.3, 0.3])
    np.testing.assert_array_equal(km["n_risk"], [5, 4, 2, 1])
    varhaz = np.cumsum([1 / 20, 1 / 12, 1 / 2, 0])
    np.testing.assert_allclose(km["std_err"], np.sqrt(varhaz))
    # R's default "log" interval, upper capped at 1
    assert km["ci_low"][0] == pytest.approx(0.8 * math.exp(-Z * math.sqrt(0.05)))
    assert km["ci_high"][0] == 1.0
    assert km["ci_low"][2] == pytest.approx(0.3 * math.exp(-Z * math.sqrt(varhaz[2])))


def test_log_log_interval_inside_unit_interval():
    km = kaplan_meier(TIME, EVENT, conf_type="log-log")
    s, se = 0.6, math.sqrt(1 / 20 + 1 / 12)
    low = math.exp(-math.exp(math.log(-math.log(s)) - Z * se / math.log(s)))
    assert km["ci_low"][1] == pytest.approx(low)
    assert (km["ci_high"] <= 1).all()


def test_survival_at_and_numbers_at_risk():
    out = survival_at(TIME, EVENT, [0.5, 2, 3.5])
    np.testing.assert_allclose(out["survival"], [1.0, 0.6, 0.3])
    np.testing.assert_array_equal(out["n_risk"], [5, 4, 1])
    assert out["std_err"][1] == pytest.approx(0.6 * math.sqrt(1 / 20 + 1 / 12))
    np.testing.assert_array_equal(numbers_at_risk(TIME, [0, 2, 5]), [5, 4, 0])


def test_logrank_hand_computed():
    # E0 = 1/2 + 1/3 + 1/2; V = 1/4 + 2/9 + 1/4
    res = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], [0, 1, 0, 1])
    assert res.expected[0] == pytest.approx(4 / 3)
    assert res.chisq == pytest.approx((2 / 3) ** 2 / (0.5 + 2 / 9))
    assert res.df == 1


def test_bad_event_indicator_is_an_input_error():
    with pytest.raises(InputError, match="0 \\(censored\\) or 1"):
        kaplan_meier([1, 2], [1, 2])


@pytest.mark.parametrize(
    ("time", "event", "expected"),
    [
        # R 4.x survival 3.x: quantile(survfit(Surv(time, event) ~ 1), 0.5)
        ([3, 5, 6, 8, 20, 15], [1, 1, 0, 1, 0, 1], (8.0, 5.0, np.nan)),
        # S = 0.5 exactly from 8 to 15: the midpoint 11.5, as R.
        ([3, 5, 8, 12, 15, 20], [1, 1, 1, 0, 1, 0], (11.5, 5.0, np.nan)),
        # Reverse Kaplan-Meier of the first data set (follow-up).
        ([3, 5, 6, 8, 20, 15], [0, 0, 1, 0, 1, 0], (20.0, 6.0, np.nan)),
        # Never below 0.5: not reached.
        ([1, 2, 3, 4], [1, 0, 0, 0], (np.nan, 1.0, np.nan)),
    ],
)
def test_km_quantile_matches_r(time, event, expected):
    got = km_quantile(kaplan_meier(time, event))
    np.testing.assert_equal((got["median"], got["ci_low"], got["ci_high"]), expected)


def test_median_survival_is_the_log_ci_median():
    """The Table 1 example: median 8, CI 5 to not reached; reverse KM (follow-up) median 20."""
    time, event = [3, 5, 6, 8, 20, 15], np.array([1, 1, 0, 1, 0, 1])
    got = median_survival(time, event)
    np.testing.assert_equal((got["median"], got["ci_low"], got["ci_high"]), (8.0, 5.0, np.nan))
    assert median_survival(time, 1 - event)["median"] == 20.0
