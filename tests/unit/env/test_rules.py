"""Order rules on broker units: cap, reserve, no short, lots, minimum order, dust, custom rules."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import (
    CashReserve,
    OrderContext,
    OrderRule,
    PositionCap,
    apply_rules,
    default_rules,
)
from cappuccino_core.env.toy import dataset_from_prices
from tests.env_presets import NO_BAND

COSTS = CostsConfig()  # Coinbase entry tier: 1.2% taker, 5 bps + 0.1 x vol slippage


def ctx(prices, cash, holdings, *, fee=0.012, slip=0.0005, lot=1e-8, min_value=10.0) -> OrderContext:
    p = np.atleast_2d(np.asarray(prices, dtype=float))
    return OrderContext(
        prices=p,
        cash=np.atleast_1d(np.asarray(cash, dtype=float)),
        holdings=np.atleast_2d(np.asarray(holdings, dtype=float)),
        slippage=np.full(p.shape, slip),
        fee_rate=fee,
        lot=np.full(p.shape[1], lot),
        min_order_value=min_value,
        time=np.zeros(p.shape[0], dtype=np.int64),
    )


def test_rules_share_one_interface() -> None:
    rules = default_rules(EnvConfig(**NO_BAND))
    assert all(isinstance(r, OrderRule) for r in rules)
    assert [type(r).__name__ for r in rules] == [
        "NoShort",
        "LotRounding",
        "MinOrderValue",
        "CashReserve",
        "PositionCap",
    ]


def test_position_cap_cuts_a_buy_to_the_cap_after_fees() -> None:
    c = ctx([[100.0, 50.0]], 10_000.0, [[0.0, 0.0]])
    q = PositionCap(0.3).apply(np.array([[30.0, 0.0]]), c)  # $3,000 = 30% before fees: over after them
    fill = c.settle(q)
    assert q[0, 0] < 30.0
    assert fill.holdings[0, 0] * 100.0 <= 0.3 * fill.equity[0]
    assert fill.holdings[0, 0] * 100.0 == pytest.approx(0.3 * fill.equity[0], rel=1e-6)


def test_position_cap_sells_down_a_position_that_drifted_above_it() -> None:
    c = ctx([[200.0, 50.0]], 5_000.0, [[30.0, 0.0]])  # 6,000 of 11,000 = 55%
    q = PositionCap(0.3).apply(np.zeros((1, 2)), c)
    fill = c.settle(q)
    assert q[0, 0] < 0
    assert fill.holdings[0, 0] * 200.0 <= 0.3 * fill.equity[0]
    assert fill.holdings[0, 0] * 200.0 == pytest.approx(0.3 * fill.equity[0], rel=1e-6)


def test_cap_holds_when_many_assets_are_sold_down_at_once() -> None:
    # Every forced sale costs fees, which lowers equity and so every other asset's cap.
    prices = np.array([[10.0, 20.0, 30.0, 40.0, 50.0]])
    c = ctx(prices, 0.0, [[100.0, 50.0, 40.0, 30.0, 20.0]], fee=0.05, slip=0.01)
    q = PositionCap(0.15).apply(np.zeros((1, 5)), c)
    fill = c.settle(q)
    assert np.all(fill.holdings * prices <= 0.15 * fill.equity[:, None])


def test_cash_reserve_scales_buys_and_counts_sell_proceeds() -> None:
    c = ctx([[100.0, 100.0]], 1_000.0, [[20.0, 0.0]])
    rule = CashReserve(0.1)
    q = rule.apply(np.array([[-20.0, 40.0]]), c)  # sells 2,000, wants 4,000 of buys: scaled
    fill = c.settle(q)
    assert q[0, 0] == -20.0 and 0 < q[0, 1] < 40.0
    assert fill.cash[0] >= 0.1 * fill.equity[0]
    assert fill.cash[0] == pytest.approx(0.1 * fill.equity[0], rel=1e-6)


def test_cash_reserve_sells_pro_rata_when_prices_ate_it() -> None:
    c = ctx([[100.0, 100.0]], 100.0, [[50.0, 50.0]])  # cash 1% of 10,100 < 20%
    q = CashReserve(0.2).apply(np.zeros((1, 2)), c)
    fill = c.settle(q)
    assert fill.cash[0] >= 0.2 * fill.equity[0]
    assert q[0, 0] == pytest.approx(q[0, 1], rel=1e-6) and q[0, 0] < 0


def test_dust_cannot_be_sold() -> None:
    c = ctx([[100.0]], 0.0, [[0.05]], min_value=10.0)  # $5 position, all equity
    q = apply_rules(
        default_rules(EnvConfig(**NO_BAND, cash_reserve=0.5, position_cap=0.3)), np.array([[-0.05]]), c
    )
    assert q[0, 0] == 0.0  # no broker takes a $5 order


def test_no_short_by_default_and_short_capped_when_allowed() -> None:
    c = ctx([[100.0]], 10_000.0, [[0.0]])
    assert apply_rules(default_rules(EnvConfig(**NO_BAND)), np.array([[-10.0]]), c)[0, 0] == 0.0
    env = EnvConfig(**NO_BAND, allow_short=True, position_cap=0.3)
    q = apply_rules(default_rules(env), np.array([[-50.0]]), c)  # short $5,000: capped at 30%
    fill = c.settle(q)
    assert q[0, 0] < 0
    assert -fill.holdings[0, 0] * 100.0 <= 0.3 * fill.equity[0]
    assert -fill.holdings[0, 0] * 100.0 == pytest.approx(0.3 * fill.equity[0], rel=1e-6)


def test_a_custom_rule_plugs_into_the_kernel() -> None:
    class NoBuys:
        def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
            return np.minimum(qty, 0.0)

    data = dataset_from_prices([100.0, 101.0, 102.0])
    env = EnvConfig(**NO_BAND, initial_cash=1_000.0)
    k = TradingKernel(data, env, COSTS, 1, rules=[*default_rules(env), NoBuys()])
    k.reset(starts=np.array([0]), ends=np.array([2]))
    k.step(np.ones((1, 1)))
    assert k.holdings[0, 0] == 0.0 and k.cash[0] == 1_000.0


def test_rules_on_a_live_account_use_broker_units() -> None:
    # One account (N=1), a real-looking BTC price and lot: quantities stay in BTC, notional in USD.
    c = ctx([[64_000.0]], 25_000.0, [[0.1]], lot=1e-8)
    q = apply_rules(
        default_rules(EnvConfig(**NO_BAND, position_cap=0.3, cash_reserve=0.05)), np.array([[0.5]]), c
    )
    fill = c.settle(q)
    assert q[0, 0] == pytest.approx(round(q[0, 0], 8), abs=1e-15)  # whole satoshis
    assert fill.holdings[0, 0] * 64_000.0 <= 0.3 * fill.equity[0]
    assert fill.cash[0] >= 0.05 * fill.equity[0]
