"""Kaplan-Meier and log-rank on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netpet.errors import InputError
from netpet.stats.survival import kaplan_meier, logrank_test, numbers_at_risk, survival_at

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
