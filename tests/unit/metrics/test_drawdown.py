"""Drawdown (negative fraction), its duration in bars, Calmar; agreement with empyrical."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pytest

from cappuccino_core.data.timeframes import bars_per_year
from cappuccino_core.metrics import (
    annualized_return,
    calmar_ratio,
    drawdown_series,
    equity_from_returns,
    max_drawdown,
    max_drawdown_duration,
)


def test_hand_example() -> None:
    # [100, 110, 99, 108.9]: running peak 100, 110, 110, 110 -> dd 0, 0, 99/110-1 = -0.1, 108.9/110-1 = -0.01
    eq = [100.0, 110.0, 99.0, 108.9]
    np.testing.assert_allclose(drawdown_series(eq), [0.0, 0.0, -0.1, -0.01], atol=1e-12)
    assert max_drawdown(eq) == pytest.approx(-0.10, rel=1e-12)
    # Peak at bar 1, never recovered: bar 1 -> bar 3 = 2 bars.
    assert max_drawdown_duration(eq) == 2
    # Recovered at bar 4 (111 >= 110): bar 1 -> bar 4 = 3 bars.
    assert max_drawdown_duration([*eq, 111.0]) == 3


def test_longest_is_not_the_deepest() -> None:
    # Deepest: 100 -> 90 (-10%), recovered after 2 bars. Longest: peak at bar 2, recovered at bar 7: 5 bars.
    eq = [100, 90, 100, 99, 98, 97, 96, 100]
    assert max_drawdown(eq) == pytest.approx(-0.10)
    assert max_drawdown_duration(eq) == 5


def test_no_drawdown() -> None:
    eq = [1.0, 2.0, 2.0, 3.0]  # a flat bar at the peak is not under water
    assert max_drawdown(eq) == 0.0
    assert max_drawdown_duration(eq) == 0
    assert math.isnan(calmar_ratio(eq, "1h"))


def test_wipe_out_is_minus_one() -> None:
    assert max_drawdown([100.0, 50.0, 0.0]) == -1.0


def test_calmar_hand_example() -> None:
    # 3 bars a year, equity 100 -> 121 over 3 bars: CAGR = 21%. Max drawdown 120 -> 90: -25%.
    # Calmar = 0.21 / 0.25 = 0.84
    eq = [100.0, 120.0, 90.0, 121.0]
    assert annualized_return(eq, 3) == pytest.approx(0.21)
    assert max_drawdown(eq) == pytest.approx(-0.25)
    assert calmar_ratio(eq, 3) == pytest.approx(0.84)


def test_batched() -> None:
    eq = np.array([[100.0, 110.0, 99.0, 108.9], [100.0, 90.0, 100.0, 101.0]])
    np.testing.assert_allclose(max_drawdown(eq), [-0.1, -0.1])
    np.testing.assert_array_equal(max_drawdown_duration(eq), [2, 2])
    assert drawdown_series(eq).shape == eq.shape


@pytest.fixture(scope="module")
def returns() -> np.ndarray:
    return np.random.default_rng(7).normal(0.0003, 0.01, size=(4, 2000))


def test_agrees_with_empyrical(returns: np.ndarray) -> None:
    ann = bars_per_year("1h")
    for r in returns:
        eq = equity_from_returns(r, start=1000.0)
        assert max_drawdown(eq) == pytest.approx(empyrical.max_drawdown(r), rel=1e-10)
        assert annualized_return(eq, "1h") == pytest.approx(
            empyrical.annual_return(r, annualization=ann), rel=1e-9
        )
        assert calmar_ratio(eq, "1h") == pytest.approx(empyrical.calmar_ratio(r, annualization=ann), rel=1e-9)
