"""Risk rules on hand-computed cases: one account, small numbers."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.trading.risk.base import NS_PER_HOUR

OFF = dict(
    stop_loss=None, portfolio_trailing_stop=None, take_profit=None, daily_loss_limit=None,
    max_trades_per_day=None, loss_streak=None, max_trade_fraction=None, prop_max_daily_loss=None,
    prop_max_total_loss=None, max_signals_per_hour=None, max_position_fraction=1.0,
)  # fmt: skip
T0 = 20_000 * 24 * NS_PER_HOUR  # a UTC midnight


def ctx(price: list[float], cash: float, hold: list[float], hour: float = 0.0) -> OrderContext:
    a = len(price)
    return OrderContext(
        prices=np.array([price]), cash=np.array([cash]), holdings=np.array([hold]),
        slippage=np.zeros((1, a)), fee_rate=0.0, lot=np.full(a, 1e-8), min_order_value=1.0,
        time=np.array([T0 + int(hour * NS_PER_HOUR)], np.int64),
    )  # fmt: skip


def manager(**on: float | int) -> RiskManager:
    return RiskManager.from_config(RiskConfig(**{**OFF, **on}))  # type: ignore[arg-type]


def buy(rm: RiskManager, c: OrderContext, q: list[float]) -> np.ndarray:
    out = rm.apply(np.array([q]), c)
    rm.on_fill(out, c.prices, np.zeros_like(out), c.time)
    return out


def test_stop_loss_sells_all_at_ten_percent_below_entry() -> None:
    rm = manager(stop_loss=0.10)
    buy(rm, ctx([100.0], 1000.0, [0.0]), [2.0])  # entry 100
    assert rm.apply(np.array([[0.5]]), ctx([90.01], 800.0, [2.0], 1))[0, 0] == 0.5  # above the stop
    assert rm.apply(np.array([[0.5]]), ctx([90.0], 800.0, [2.0], 2))[0, 0] == -2.0  # at it: all out


def test_stop_loss_leaves_unsellable_dust_alone_and_lets_the_buy_through() -> None:
    """Dust under the minimum order value (1.0 here; what a fee kept in kind leaves after a full sell) at
    its stop: no sell can be sent for it, so the bar's buy passes instead of being replaced by that sell."""
    rm = manager(stop_loss=0.10, min_trade_value=0.0)
    assert buy(rm, ctx([100.0], 1000.0, [0.0]), [0.005])[0, 0] == 0.005  # entry 100; at 70 worth 0.35: dust
    assert rm.apply(np.array([[3.0]]), ctx([70.0], 999.5, [0.005], 1))[0, 0] == 3.0  # 30% down: buy passes
    rm = manager(stop_loss=0.10, min_trade_value=0.0)
    assert buy(rm, ctx([100.0], 1000.0, [0.0]), [0.02])[0, 0] == 0.02  # at 70 worth 1.40 >= 1.0: sellable
    assert rm.apply(np.array([[3.0]]), ctx([70.0], 998.0, [0.02], 1))[0, 0] == -0.02  # all out


def test_take_profit_sells_half_once() -> None:
    rm = manager(take_profit=0.03, take_profit_fraction=0.5)
    buy(rm, ctx([100.0], 1000.0, [0.0]), [4.0])
    c = ctx([103.0], 600.0, [4.0], 1)
    out = rm.apply(np.zeros((1, 1)), c)
    assert out[0, 0] == pytest.approx(-2.0)
    rm.on_fill(out, c.prices, np.zeros((1, 1)), c.time)
    assert rm.apply(np.zeros((1, 1)), ctx([110.0], 806.0, [2.0], 2))[0, 0] == 0.0  # once per position


def test_daily_loss_blocks_buys_until_next_day() -> None:
    rm = manager(daily_loss_limit=0.02)
    assert rm.apply(np.array([[1.0]]), ctx([100.0], 900.0, [1.0]))[0, 0] == 1.0  # equity 1000 opens the day
    assert rm.apply(np.array([[1.0]]), ctx([80.0], 900.0, [1.0], 1))[0, 0] == 0.0  # 980: -2% -> blocked
    assert rm.apply(np.array([[1.0]]), ctx([100.0], 900.0, [1.0], 2))[0, 0] == 0.0  # still that day
    assert rm.apply(np.array([[1.0]]), ctx([100.0], 900.0, [1.0], 24))[0, 0] == 1.0  # next day


def test_portfolio_trailing_stop_flattens() -> None:
    rm = manager(portfolio_trailing_stop=0.015)
    rm.apply(np.zeros((1, 2)), ctx([100.0, 50.0], 800.0, [1.0, 2.0]))  # peak 1000
    out = rm.apply(np.array([[0.0, 1.0]]), ctx([85.0, 50.0], 800.0, [1.0, 2.0], 1))  # 985: -1.5%
    assert out.tolist() == [[-1.0, -2.0]]


def test_cooldown_after_three_losses_lasts_four_hours() -> None:
    rm = manager(loss_streak=3, cooldown_hours=4.0)
    for h in range(3):
        buy(rm, ctx([100.0], 1000.0, [0.0], 2 * h), [1.0])
        buy(rm, ctx([99.0], 900.0, [1.0], 2 * h + 1), [-1.0])  # a loss of 1
    # last loss at hour 5: buys blocked until hour 9
    assert rm.apply(np.array([[1.0]]), ctx([100.0], 1000.0, [0.0], 8.5))[0, 0] == 0.0
    assert rm.apply(np.array([[1.0]]), ctx([100.0], 1000.0, [0.0], 9))[0, 0] == 1.0


def test_trade_fraction_and_min_value() -> None:
    rm = manager(max_trade_fraction=0.10, min_trade_value=10.0)
    out = rm.apply(np.array([[5.0, 0.05, -0.05]]), ctx([100.0, 100.0, 100.0], 900.0, [0.0, 0.0, 1.0]))
    assert out[0, 0] == pytest.approx(1.0)  # 10% of equity 1000 at 100
    assert out[0, 1] == 0.0 and out[0, 2] == 0.0  # $5 orders dropped


def test_trades_per_day_keeps_largest_buys_and_all_sells() -> None:
    rm = manager(max_trades_per_day=2)
    out = rm.apply(np.array([[0.1, 0.3, -1.0]]), ctx([100.0, 100.0, 100.0], 900.0, [0.0, 0.0, 1.0]))
    assert out.tolist() == [[0.0, 0.3, -1.0]]


def test_prop_total_loss_halts_for_good() -> None:
    rm = manager(prop_max_total_loss=0.10)
    rm.apply(np.zeros((1, 1)), ctx([100.0], 0.0, [10.0]))  # initial equity 1000
    assert rm.apply(np.zeros((1, 1)), ctx([90.0], 0.0, [10.0], 30))[0, 0] == -10.0
    assert rm.apply(np.array([[1.0]]), ctx([120.0], 900.0, [0.0], 24 * 9))[0, 0] == 0.0
