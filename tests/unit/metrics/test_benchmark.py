"""Equal-weight buy-and-hold and BTC hold, signs checked by hand (the predecessor inverted the EW return)."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.metrics import (
    alpha,
    beta,
    buy_and_hold,
    equal_weight_buy_and_hold,
    simple_returns,
    standard_benchmarks,
    total_return,
)


def test_equal_weight_sign_hand_example() -> None:
    # 1000 split 500 / 500 at bar 0. A: 100 -> 120 (+20%), B: 100 -> 90 (-10%).
    # Holdings 5 A and 5 B -> 5*120 + 5*90 = 1050: +5%.
    prices = np.array([[100.0, 100.0], [120.0, 90.0]])
    eq = equal_weight_buy_and_hold(prices, 1000.0)
    np.testing.assert_allclose(eq, [1000.0, 1050.0])
    assert total_return(eq) == pytest.approx(0.05)


def test_rising_market_gives_positive_return() -> None:
    prices = np.array([[10.0, 50.0, 2.0], [11.0, 55.0, 2.2]])  # every asset +10%
    assert total_return(equal_weight_buy_and_hold(prices)) == pytest.approx(0.10)
    assert total_return(equal_weight_buy_and_hold(prices[::-1])) == pytest.approx(1 / 1.1 - 1)


def test_equal_dollars_at_start_then_no_rebalancing() -> None:
    # A doubles then returns; B flat. Held quantities never change: 1 -> 1.5 -> 1.0.
    # (Rebalancing to 50/50 at bar 1 would end at 1.5 * (0.5 * 0.5 + 0.5) = 1.125 instead.)
    prices = np.array([[100.0, 100.0], [200.0, 100.0], [100.0, 100.0]])
    np.testing.assert_allclose(equal_weight_buy_and_hold(prices), [1.0, 1.5, 1.0])


def test_entry_fee_is_paid_once() -> None:
    prices = np.array([[100.0], [110.0]])
    np.testing.assert_allclose(equal_weight_buy_and_hold(prices, 1000.0, fee_rate=0.012), [988.0, 1086.8])


def test_btc_hold_is_picked_by_name_not_position() -> None:
    prices = np.array([[10.0, 100.0], [10.0, 150.0]])
    b = standard_benchmarks(prices, ["ETH/USD", "BTC/USD"], 1000.0)
    np.testing.assert_allclose(b["btc_hold"], [1000.0, 1500.0])
    np.testing.assert_allclose(b["equal_weight"], [1000.0, 1250.0])
    assert "btc_hold" not in standard_benchmarks(prices, ["ETH/USD", "LINK/USD"], 1000.0)
    np.testing.assert_allclose(buy_and_hold(prices[:, 1], 2.0), [2.0, 3.0])


def test_alpha_is_annualised_return_difference() -> None:
    # One bar = one year: strategy +21%, benchmark +10% -> alpha 0.11.
    assert alpha([100.0, 121.0], [100.0, 110.0], 1) == pytest.approx(0.11)
    assert alpha([100.0, 110.0], [100.0, 121.0], 1) == pytest.approx(-0.11)


def test_beta_of_a_levered_copy_is_two() -> None:
    rng = np.random.default_rng(0)
    rb = rng.normal(0, 0.01, 200)
    bench = 100 * np.cumprod(np.r_[1.0, 1 + rb])
    strat = 100 * np.cumprod(np.r_[1.0, 1 + 2 * simple_returns(bench)])
    assert beta(strat, bench) == pytest.approx(2.0)


def test_misaligned_benchmark_raises() -> None:
    with pytest.raises(ValueError, match="align"):
        alpha([1.0, 2.0, 3.0], [1.0, 2.0], "1h")


def test_bad_prices_raise() -> None:
    with pytest.raises(ValueError):
        equal_weight_buy_and_hold(np.array([[1.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError):
        equal_weight_buy_and_hold(np.array([1.0, 2.0]))
