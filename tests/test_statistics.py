"""Student-t intervals against textbook values."""

from __future__ import annotations

import math

import pytest

from simdeploy.statistics import t_interval


def test_t_interval_matches_the_table() -> None:
    # n = 5, variance 2.5: t(0.975, 4) = 2.776445 (any t table), half-width t·sqrt(2.5 / 5)
    values = [8.0, 9.0, 10.0, 11.0, 12.0]
    mean, half = t_interval(values, 0.95)
    assert mean == pytest.approx(10.0)
    assert half == pytest.approx(2.776445 * math.sqrt(0.5), rel=1e-5)
    # 90 %: t(0.95, 4) = 2.131847
    assert t_interval(values, 0.90)[1] == pytest.approx(2.131847 * math.sqrt(0.5), rel=1e-5)


def test_one_value_has_no_interval_and_nan_is_left_out() -> None:
    assert t_interval([3.0])[0] == 3.0
    assert math.isnan(t_interval([3.0])[1])
    mean, half = t_interval([1.0, math.nan, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(12.706205 * math.sqrt(2) / math.sqrt(2), rel=1e-5)
    assert all(math.isnan(v) for v in t_interval([math.nan]))


def test_level_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="level"):
        t_interval([1.0, 2.0], 95)
