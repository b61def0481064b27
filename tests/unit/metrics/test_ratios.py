"""Sharpe / Sortino / volatility: hand-computed values and agreement with empyrical-reloaded."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pytest

from cappuccino_core.data.timeframes import bars_per_year
from cappuccino_core.metrics import (
    annualize_sharpe,
    annualized_volatility,
    deannualize_sharpe,
    downside_deviation,
    per_bar_rate,
    sharpe_per_bar,
    sharpe_ratio,
    sortino_ratio,
)

R = [0.1, -0.1, 0.1]  # returns of equity [100, 110, 99, 108.9]
# By hand:
#   mean = 0.1/3 = 0.0333333
#   deviations 0.0666667, -0.1333333, 0.0666667; squares sum to 0.0266667; / (n-1 = 2) = 0.0133333
#   std (ddof=1) = 0.1154701
#   per-bar Sharpe = 0.0333333 / 0.1154701 = 0.2886751 (= 1 / (2 sqrt 3))
#   1h: bars_per_year = 365.25 * 24 = 8766, sqrt(8766) = 93.626919
#   annualised Sharpe = 0.2886751 * 93.626919 = 27.027764
#   downside deviation = sqrt((0 + 0.01 + 0) / 3) = 0.0577350
#   Sortino per bar = 0.0333333 / 0.0577350 = 0.5773503
#   annualised Sortino = 0.5773503 * 93.626919 = 54.055527
#   annualised volatility = 0.1154701 * 93.626919 = 10.811105
SQRT_8766 = 93.62691920
SR_BAR = 1 / (2 * math.sqrt(3))


def test_sharpe_hand_example_1h() -> None:
    assert bars_per_year("1h") == 8766.0
    assert sharpe_per_bar(R) == pytest.approx(0.2886751, rel=1e-6)
    assert sharpe_ratio(R, "1h") == pytest.approx(27.027764, rel=1e-6)
    assert sharpe_ratio(R, "1h") == pytest.approx(SR_BAR * SQRT_8766, rel=1e-9)


def test_sharpe_uses_bar_interval_not_252_or_8760() -> None:
    # The predecessor scaled hourly Sharpes by sqrt(252), sqrt(8760) and sqrt(P/N) in different places.
    ratio = sharpe_ratio(R, "1h") / sharpe_per_bar(R)
    assert ratio == pytest.approx(math.sqrt(8766), rel=1e-12)
    assert ratio != pytest.approx(math.sqrt(252), rel=1e-3)
    assert ratio != pytest.approx(math.sqrt(8760), rel=1e-6)
    assert sharpe_ratio(R, "1d") / sharpe_per_bar(R) == pytest.approx(math.sqrt(365.25), rel=1e-12)
    assert sharpe_ratio(R, "5m") / sharpe_per_bar(R) == pytest.approx(math.sqrt(8766 * 12), rel=1e-12)


def test_sortino_and_volatility_hand_example() -> None:
    assert sortino_ratio(R, "1h") == pytest.approx(54.055527, rel=1e-6)
    assert downside_deviation(R, "1h") == pytest.approx(math.sqrt(0.01 / 3) * SQRT_8766, rel=1e-9)
    assert annualized_volatility(R, "1h") == pytest.approx(10.811105, rel=1e-6)


def test_risk_free_is_annual_and_compounded_per_bar() -> None:
    # 5% a year over 365.25 daily bars: 1.05 ** (1 / 365.25) - 1 per bar.
    rf_bar = 1.05 ** (1 / 365.25) - 1
    assert per_bar_rate(0.05, "1d") == pytest.approx(rf_bar, rel=1e-12)
    r = np.array([0.01, -0.005, 0.002, 0.003])
    expected = (r - rf_bar).mean() / (r - rf_bar).std(ddof=1) * math.sqrt(365.25)
    assert sharpe_ratio(r, "1d", risk_free=0.05) == pytest.approx(expected, rel=1e-12)


def test_degenerate_cases() -> None:
    # In cash all the time: no return, no risk -> 0 (a number a gate can compare), not NaN.
    assert sharpe_ratio(np.zeros(10), "1h") == 0.0
    assert sortino_ratio(np.zeros(10), "1h") == 0.0
    # Identical positive returns: zero dispersion -> +inf; negative -> -inf.
    assert sharpe_ratio(np.full(10, 0.001), "1h") == math.inf
    assert sharpe_ratio(np.full(10, -0.001), "1h") == -math.inf
    # No bar below target: Sortino is +inf.
    assert sortino_ratio([0.01, 0.02], "1h") == math.inf
    # Fewer than 2 returns: undefined.
    assert math.isnan(sharpe_ratio([0.01], "1h"))
    assert math.isnan(sortino_ratio([0.01], "1h"))


def test_nan_returns_raise() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        sharpe_ratio([0.01, np.nan, 0.02], "1h")


def test_unknown_timeframe_raises() -> None:
    with pytest.raises(ValueError, match="timeframe"):
        sharpe_ratio(R, "1x")


@pytest.fixture(scope="module")
def random_returns() -> np.ndarray:
    rng = np.random.default_rng(42)
    return rng.standard_t(4, size=(5, 3000)) * 0.004 + 0.0002


def test_sharpe_agrees_with_empyrical(random_returns: np.ndarray) -> None:
    ann = bars_per_year("1h")
    for row in random_returns:
        assert sharpe_ratio(row, "1h") == pytest.approx(
            empyrical.sharpe_ratio(row, annualization=ann), rel=1e-10
        )
    # Batched (S, T) along the last axis == empyrical column-wise on (T, S).
    np.testing.assert_allclose(
        sharpe_ratio(random_returns, "1h"),
        empyrical.sharpe_ratio(random_returns.T, annualization=ann),
        rtol=1e-10,
    )


def test_sortino_agrees_with_empyrical(random_returns: np.ndarray) -> None:
    ann = bars_per_year("1h")
    for row in random_returns:
        assert sortino_ratio(row, "1h") == pytest.approx(
            empyrical.sortino_ratio(row, annualization=ann), rel=1e-10
        )
        assert sortino_ratio(row, "1h", target=0.0001) == pytest.approx(
            empyrical.sortino_ratio(row, required_return=0.0001, annualization=ann), rel=1e-10
        )


def test_volatility_agrees_with_empyrical(random_returns: np.ndarray) -> None:
    ann = bars_per_year("1d")
    for row in random_returns:
        assert annualized_volatility(row, "1d") == pytest.approx(
            empyrical.annual_volatility(row, annualization=ann), rel=1e-10
        )


def test_batched_matches_rows(random_returns: np.ndarray) -> None:
    out = sharpe_ratio(random_returns, "1h")
    assert isinstance(out, np.ndarray) and out.shape == (5,)
    np.testing.assert_allclose(out, [sharpe_ratio(r, "1h") for r in random_returns])
    np.testing.assert_allclose(
        sortino_ratio(random_returns, "1h"), [sortino_ratio(r, "1h") for r in random_returns]
    )
    assert isinstance(sharpe_ratio(random_returns[0], "1h"), float)


def test_annualize_round_trip() -> None:
    assert deannualize_sharpe(annualize_sharpe(0.05, "1h"), "1h") == pytest.approx(0.05)
    assert annualize_sharpe(0.05, "1h") == pytest.approx(0.05 * math.sqrt(8766))
