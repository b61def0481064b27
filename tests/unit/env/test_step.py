"""Hand-computed single steps: fills, fees, slippage, action mappings, lots, minimum order value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import default_rules
from cappuccino_core.env.toy import dataset_from_prices
from tests.env_presets import NO_BAND

COSTS = CostsConfig(
    taker_fee=0.012, maker_fee=0.006, execution="taker", slippage_bps=5.0, slippage_vol_mult=0.1
)
ENV = EnvConfig(
    **NO_BAND,
    initial_cash=10_000.0,
    position_cap=1.0,
    cash_reserve=0.0,
    min_order_value=10.0,
    reward="log_return",
)


def kernel(prices, env=ENV, costs=COSTS, vol=0.0, **kw) -> TradingKernel:
    k = TradingKernel(dataset_from_prices(prices, volatility=vol), env, costs, 1, **kw)
    k.reset(starts=np.array([0]), ends=np.array([len(prices) - 1]))
    return k


def test_one_buy_with_fee_and_slippage_is_exact() -> None:
    # s = 5 bps + 0.1 x vol 0.02 = 0.0025; target 0.5 x 10,000 / 100 = 50 units at px = 100 x 1.0025.
    k = kernel([100.0, 110.0], vol=0.02, record=True)
    r = k.step(np.array([[0.5]]))
    assert k.holdings[0, 0] == 50.0
    assert k.cash[0] == pytest.approx(10_000 - 50 * 100.25 - 0.012 * 50 * 100.25, rel=1e-15)  # 4927.35
    assert k.cash[0] == pytest.approx(4927.35, rel=1e-15)
    row = k.recorder.episode(0)
    assert row.fees[1] == pytest.approx(60.15, rel=1e-15)
    assert row.slippage[1] == pytest.approx(12.5, rel=1e-15)
    assert r.equity[0] == pytest.approx(4927.35 + 50 * 110, rel=1e-15)
    assert r.reward[0] == pytest.approx(100.0 * math.log(10_427.35 / 10_000), rel=1e-12)
    ledger = row.ledger.to_dicts()
    assert len(ledger) == 1
    assert ledger[0]["side"] == "buy" and ledger[0]["quantity"] == 50.0
    assert ledger[0]["price"] == pytest.approx(100.25) and ledger[0]["fee"] == pytest.approx(60.15)
    assert ledger[0]["liquidity"] == "taker" and ledger[0]["asset"] == "T0/USD"


def test_sell_pays_fee_and_slippage_on_the_way_out() -> None:
    k = kernel([100.0, 110.0, 110.0], vol=0.02)
    k.step(np.array([[0.5]]))
    k.step(np.array([[0.0]]))  # target weight 0: sell all 50 at 110 x (1 - 0.0025)
    proceeds = 50 * 109.725
    assert k.holdings[0, 0] == 0.0
    assert k.cash[0] == pytest.approx(4927.35 + proceeds - 0.012 * proceeds, rel=1e-14)


def test_maker_execution_charges_the_maker_fee() -> None:
    k = kernel(
        [100.0, 100.0], costs=COSTS.model_copy(update={"execution": "maker", "slippage_vol_mult": 0.0})
    )
    k.step(np.array([[0.5]]))
    assert k.cash[0] == pytest.approx(10_000 - 50 * 100.05 * 1.006, rel=1e-15)


def test_no_trade_no_fee() -> None:
    k = kernel([100.0, 101.0, 102.0], record=True)
    k.step(np.array([[-0.7]]))  # target 0 with nothing held: no order
    k.step(np.array([[0.0005]]))  # $5 order: under the $10 minimum, dropped
    rec = k.recorder.episode(0)
    assert k.cash[0] == 10_000.0 and k.holdings[0, 0] == 0.0
    assert rec.fees.sum() == 0.0 and rec.slippage.sum() == 0.0 and rec.ledger.height == 0


def test_lot_rounding_rounds_buys_down() -> None:
    env = ENV.model_copy(update={"lot_size": {"T0/USD": 0.1}, "initial_cash": 1000.0})
    k = kernel(
        [100.0, 100.0], env=env, costs=CostsConfig(taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
    )
    k.step(np.array([[0.333]]))  # 3.33 units -> 3.3
    assert k.holdings[0, 0] == pytest.approx(3.3, abs=1e-12)
    assert k.cash[0] == pytest.approx(1000 - 330, abs=1e-9)


def test_trade_fraction_mode() -> None:
    env = ENV.model_copy(update={"action_mode": "trade_fraction", "max_trade_fraction": 0.1})
    free = CostsConfig(taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
    k = kernel([100.0, 100.0, 100.0, 100.0], env=env, costs=free)
    k.step(np.array([[0.5]]))  # buy 0.5 x 0.1 x 10,000 = $500
    assert k.holdings[0, 0] == pytest.approx(5.0, abs=1e-12)
    k.step(np.array([[0.0]]))  # 0 = do nothing
    assert k.holdings[0, 0] == pytest.approx(5.0, abs=1e-12)
    k.step(np.array([[-1.0]]))  # sell $1,000 worth: only 5 units held, all of them go, no short
    assert k.holdings[0, 0] == 0.0
    assert k.cash[0] == pytest.approx(10_000.0, abs=1e-9)


def test_actions_outside_the_box_are_clipped() -> None:
    a = kernel([100.0, 100.0])
    b = kernel([100.0, 100.0])
    a.step(np.array([[7.0]]))
    b.step(np.array([[1.0]]))
    assert a.cash[0] == b.cash[0] and a.holdings[0, 0] == b.holdings[0, 0]


def test_sells_fund_buys_of_the_same_step() -> None:
    free = CostsConfig(taker_fee=0.01, slippage_bps=0.0, slippage_vol_mult=0.0)
    k = kernel(np.array([[100.0, 50.0]] * 3), costs=free)
    k.step(np.array([[1.0, 0.0]]))  # all in T0 (cap 1, no reserve): buys scaled to the cash after fees
    assert 0.0 <= k.cash[0] < 10.0
    k.step(np.array([[0.0, 1.0]]))  # sell T0; its proceeds pay for T1 in the same step
    assert k.holdings[0, 0] == 0.0
    assert 0.0 <= k.cash[0] < 10.0
    assert k.holdings[0, 1] * 50.0 == pytest.approx(10_000 * 0.99**3, rel=1e-3)


def test_equity_identity_over_a_step() -> None:
    k = kernel([100.0, 120.0, 90.0], vol=0.03, record=True)
    k.step(np.array([[0.8]]))
    h = k.holdings[0, 0]
    k.step(np.array([[0.2]]))
    rec = k.recorder.episode(0)
    # E2 - E1 = h_after_step2 x (90 - 120) - fees - slippage of step 2
    expected = rec.holdings[2, 0] * (90.0 - 120.0) - rec.fees[2] - rec.slippage[2]
    assert rec.equity[2] - rec.equity[1] == pytest.approx(expected, rel=1e-9)
    assert rec.holdings[1, 0] == h


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "rule classes"])
def test_non_finite_actions_are_refused_and_change_nothing(fused: bool) -> None:
    rules = None if fused else default_rules(ENV)
    k = TradingKernel(dataset_from_prices([100.0, 110.0, 120.0]), ENV, COSTS, 2, rules=rules, record=True)
    k.reset(starts=np.array([0, 0]), ends=np.array([2, 2]))
    assert k.fused is fused
    before = (k.cash.copy(), k.holdings.copy(), k.t.copy())
    with pytest.raises(ValueError, match=r"actions of episode 1 are not finite: \[nan\]"):
        k.step(np.array([[0.5], [np.nan]]))
    np.testing.assert_array_equal(k.cash, before[0])
    np.testing.assert_array_equal(k.holdings, before[1])
    np.testing.assert_array_equal(k.t, before[2])
    r = k.step(np.array([[0.5], [0.5]]))  # the kernel goes on from where it was
    assert np.all(k.holdings > 0) and r.reward[0] == r.reward[1]


def test_actions_of_the_wrong_shape_are_refused() -> None:
    k = kernel([100.0, 110.0])
    shape = r"actions must have shape \(episodes, assets\) = \(1, 1\), got \(2,\)"
    with pytest.raises(ValueError, match=shape):
        k.step(np.array([0.5, 0.5]))
