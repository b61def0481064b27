"""The turnover controls, hand-computed: hold region, no-trade band, minimum order share, reserve hysteresis.

Equity 10,000 in every case below; prices 100 unless said; no costs where only the mapping is tested.
"""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import desired_orders, weights_to_actions
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import CashReserve, OrderContext
from cappuccino_core.env.toy import dataset_from_prices

FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
CTRL = EnvConfig(
    position_cap=0.3, cash_reserve=0.05, hold_band=0.1, rebalance_band=0.02, min_order_fraction=0.002
)


def orders(actions, holdings, env=CTRL, cash=None, prices=None):
    h = np.atleast_2d(np.asarray(holdings, dtype=float))
    p = np.full(h.shape, 100.0) if prices is None else np.atleast_2d(np.asarray(prices, dtype=float))
    equity = np.array([10_000.0])
    return desired_orders(np.atleast_2d(np.asarray(actions, dtype=float)), env, equity, h, p)[0]


def test_actions_inside_the_hold_region_send_nothing() -> None:
    # |a| <= 0.1: keep as is, whatever is held (nothing, or 25 units = 25% of equity).
    assert orders([0.05, -0.1], [0.0, 25.0]).tolist() == [0.0, 0.0]


def test_outside_the_hold_region_actions_are_rescaled_to_the_target_under_the_band() -> None:
    # a = 0.55 -> a' = (0.55 - 0.1) / 0.9 = 0.5 -> w = 0.5 x (0.3 - 0.02) = 0.14 -> 14 units at 100.
    # a = 1 -> w = 0.28 (the band's room under the 30% cap) -> 28 units.
    q = orders([0.55, 1.0], [0.0, 0.0])
    assert q[0] == pytest.approx(14.0, rel=1e-12) and q[1] == pytest.approx(28.0, rel=1e-12)


def test_the_no_trade_band_ignores_small_target_changes() -> None:
    # Held: 13 units = 13%. Target 14% is within 2 points: no order. Target 28%: buy 15 units.
    q = orders([0.55, 1.0], [13.0, 13.0])
    assert q[0] == 0.0 and q[1] == pytest.approx(15.0, rel=1e-12)


def test_an_exit_always_passes_the_band_and_the_minimum_share() -> None:
    # 0.1 unit is worth 10 = 0.1% of equity: under the 0.2% minimum share and inside the 2-point band.
    assert orders([-1.0], [0.1]).tolist() == [-0.1]


def test_orders_under_the_minimum_share_of_equity_are_not_sent() -> None:
    env = CTRL.model_copy(update={"rebalance_band": 0.0, "hold_band": 0.0})
    # Target 0.1 x 0.3 = 3% = 3 units; 2.9 held -> 0.1 unit = 10 < 20 (0.2% of equity): dropped.
    assert orders([0.1], [2.9], env=env).tolist() == [0.0]
    # 2.7 held -> 0.3 unit = 30 >= 20: sent.
    assert orders([0.1], [2.7], env=env)[0] == pytest.approx(0.3, rel=1e-9)


def test_weights_to_actions_inverts_the_mapping() -> None:
    current = np.array([[0.0, 0.1, 0.2, 0.05]])
    target = np.array([[0.14, 0.1, 0.0, 0.28]])
    a = weights_to_actions(target, current, CTRL)
    assert a[0, 1] == 0.0  # unchanged target: hold
    assert a[0, 2] == -1.0  # zero target: exit
    q = orders(a[0], current[0] * 100.0)  # weights x equity / price = units
    assert q[0] == pytest.approx(14.0, rel=1e-9) and q[1] == 0.0
    assert q[2] == pytest.approx(-20.0, rel=1e-9) and q[3] == pytest.approx(23.0, rel=1e-9)


def reserve_ctx(cash: float, holdings: list[float]) -> OrderContext:
    p = np.array([[100.0, 100.0]])
    return OrderContext(
        prices=p, cash=np.array([cash]), holdings=np.array([holdings]), slippage=np.zeros((1, 2)),
        fee_rate=0.0, lot=np.full(2, 1e-8), min_order_value=10.0, time=np.zeros(1, dtype=np.int64),
    )  # fmt: skip


def test_reserve_hysteresis_buys_stop_over_the_band_and_drift_inside_it_forces_nothing() -> None:
    rule = CashReserve(0.05, band=0.02)
    # Equity 10,000 all in cash: buys of 100 units (all of it) are scaled so that 7% stays in cash.
    q = rule.apply(np.array([[50.0, 50.0]]), reserve_ctx(10_000.0, [0.0, 0.0]))
    assert q.sum() * 100.0 == pytest.approx(9_300.0, rel=1e-9)
    # Cash 6% of equity (prices rose): inside the band, no buys, but nothing is sold either.
    q = rule.apply(np.array([[5.0, 0.0]]), reserve_ctx(600.0, [47.0, 47.0]))
    assert q.tolist() == [[0.0, 0.0]]
    # Cash 4%: below the reserve: sold pro rata back to 7% (700 of 10,000): 3 units in all.
    q = rule.apply(np.zeros((1, 2)), reserve_ctx(400.0, [48.0, 48.0]))
    assert q[0, 0] == pytest.approx(q[0, 1]) and q.sum() == pytest.approx(
        -3.0, abs=2e-8
    )  # lots round sells up


def churn(env: EnvConfig) -> int:
    """Orders sent by a constant action (0.8 on each of 3 assets) over 300 bars of a random walk."""
    rng = np.random.default_rng(3)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (300, 3)), axis=0))
    k = TradingKernel(dataset_from_prices(prices), env, FREE, 1, record=True)
    k.reset(starts=np.array([0]), ends=np.array([299]))
    for _ in range(299):
        k.step(np.full((1, 3), 0.8))
    assert k.recorder is not None
    return k.recorder.episode(0).ledger.height


def test_a_constant_action_no_longer_retrades_every_bar() -> None:
    classic = churn(
        CTRL.model_copy(update={"hold_band": 0.0, "rebalance_band": 0.0, "min_order_fraction": 0.0})
    )
    controlled = churn(CTRL)
    # Classic re-targeting trades each asset on almost every bar (3 x 299 possible); the band leaves the
    # first buys plus a rebalance whenever a weight drifts 2 points (8 here).
    assert classic > 800
    assert controlled < 30
