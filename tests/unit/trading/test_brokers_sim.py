"""The sim broker fills with the kernel's cost model (hand-computed numbers) and honours the protocol."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.env.fills import CostModel, settle
from cappuccino_core.trading.brokers import Broker, Order
from cappuccino_core.venues.sim.broker import POST_ONLY_REJECT, SimBroker
from tests.env_presets import NO_BAND

COSTS = CostsConfig(
    maker_fee=0.001, taker_fee=0.002, execution="taker", slippage_bps=10.0, slippage_vol_mult=0.0
)
T = datetime(2024, 1, 1, tzinfo=UTC)


def sim(cash: float = 10_000.0) -> SimBroker:
    return SimBroker(COSTS, cash)


def test_is_a_broker_with_typed_orders() -> None:
    b = sim()
    assert isinstance(b, Broker)
    o = b.submit("c1", "BTC/USDT", "buy", 2.0, 100.0)
    assert o.status == "filled" and o.fee == pytest.approx(0.4004)


def test_market_buy_then_sell_hand_computed() -> None:
    b = sim()
    o = b.submit("c1", "BTC-USDT", "buy", 2.0, 100.0)
    # px = 100 * 1.001 = 100.1; fee = 0.002 * 2 * 100.1 = 0.4004; cash = 10000 - 200.2 - 0.4004
    assert o.avg_price == pytest.approx(100.1) and o.liquidity == "TAKER" and o.asset == "BTC/USDT"
    assert b.cash() == pytest.approx(9799.3996)
    s = b.submit("c2", "BTC/USDT", "sell", 2.0, 110.0)
    # px = 110 * 0.999 = 109.89; fee = 0.002 * 2 * 109.89 = 0.43956; cash += 219.78 - 0.43956
    assert s.avg_price == pytest.approx(109.89) and b.cash() == pytest.approx(9799.3996 + 219.78 - 0.43956)
    assert b.positions() == {}
    assert [f.qty for f in b.fills()] == [2.0, 2.0]


def test_same_arithmetic_as_the_kernel() -> None:
    b = sim()
    b.submit("c1", "ETH/USDT", "buy", 3.0, 2000.0)
    f = settle(
        np.array([[3.0]]),
        np.array([10_000.0]),
        np.array([[0.0]]),
        np.array([[2000.0]]),
        np.array([[0.001]]),
        0.002,
    )
    assert b.cash() == pytest.approx(float(f.cash[0]))
    assert b.fills()[0].fee == pytest.approx(float(f.fee[0, 0]))


def test_idempotent_on_client_order_id() -> None:
    b = sim()
    a = b.submit("c1", "BTC/USDT", "buy", 1.0, 100.0)
    again = b.submit("c1", "BTC/USDT", "buy", 1.0, 100.0)
    assert again == a and b.positions() == {"BTC/USDT": 1.0} and len(b.fills()) == 1


def test_rejections_are_orders_not_exceptions() -> None:
    b = sim(cash=50.0)
    assert b.submit("c1", "BTC/USDT", "buy", 1.0, 100.0).status == "rejected"
    assert b.submit("c2", "BTC/USDT", "sell", 1.0, 100.0).status == "rejected"  # no shorting
    with pytest.raises(ValueError, match="bad side"):
        b.submit("c3", "BTC/USDT", "buy", -1.0, 100.0)


def test_post_only_crossing_is_rejected_and_resting_limit_fills_on_bar() -> None:
    b = sim()
    r = b.submit("c1", "BTC/USDT", "buy", 1.0, 100.0, order_type="limit", limit_price=101.0, post_only=True)
    assert r.status == "rejected" and r.reason == POST_ONLY_REJECT
    rest = b.submit("c2", "BTC/USDT", "buy", 1.0, 100.0, order_type="limit", limit_price=95.0, post_only=True)
    assert rest.status == "open"
    assert b.on_bar(T, {"BTC/USDT": 97.0}, high={"BTC/USDT": 99.0}, low={"BTC/USDT": 96.0}) == []
    fills = b.on_bar(T, {"BTC/USDT": 96.0}, high={"BTC/USDT": 97.0}, low={"BTC/USDT": 94.0})
    # fills at the limit, no slippage, fee 0.002 * 95
    assert [(f.price, f.liquidity) for f in fills] == [(95.0, "MAKER")] and fills[0].fee == pytest.approx(
        0.19
    )
    assert b.get_order("c2").status == "filled"  # type: ignore[union-attr]
    assert b.cash() == pytest.approx(10_000 - 95.19)


def test_cancel_and_cancel_all() -> None:
    b = sim()
    b.submit("a", "BTC/USDT", "buy", 1.0, 100.0, order_type="limit", limit_price=90.0)
    b.submit("b", "BTC/USDT", "buy", 1.0, 100.0, order_type="limit", limit_price=80.0)
    assert b.cancel("a").status == "canceled"  # type: ignore[union-attr]
    assert b.cancel_all() == ["b"] and b.cancel("zzz") is None


def test_ioc_limit_that_does_not_cross_is_canceled() -> None:
    o = sim().submit(
        "c", "BTC/USDT", "buy", 1.0, 100.0, order_type="limit", limit_price=90, time_in_force="ioc"
    )
    assert o.status == "canceled" and o.filled_qty == 0


def test_limit_caps_slippage() -> None:
    o = sim().submit("c", "BTC/USDT", "buy", 1.0, 100.0, order_type="limit", limit_price=100.05)
    assert o.status == "filled" and o.avg_price == pytest.approx(100.05)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0.01, 5.0), st.floats(10.0, 1000.0)), max_size=12))
def test_equity_only_leaks_costs(trades: list[tuple[bool, float, float]]) -> None:
    """Cash + holdings at the fill's reference price never grows, and cash never goes negative."""
    b = sim(cash=5_000.0)
    for i, (buy, qty, price) in enumerate(trades):
        before = b.cash() + sum(q * price for q in b.positions().values())
        o = b.submit(f"c{i}", "BTC/USDT", "buy" if buy else "sell", qty, price)
        after = b.cash() + sum(q * price for q in b.positions().values())
        assert b.cash() >= -1e-9
        assert after <= before + 1e-6
        assert isinstance(o, Order) and o.status in ("filled", "rejected")


def test_cost_model_can_be_passed_directly() -> None:
    b = SimBroker(CostModel(0.0, "maker", 0.0, 0.0), 100.0)
    assert b.submit("c", "X/USD", "buy", 1.0, 100.0).avg_price == 100.0 and b.cash() == 0.0


def test_drives_the_bar_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The bar loop trades through the sim broker unchanged (Order answers the loop's dict access)."""
    from cappuccino_core.config.env import EnvConfig
    from cappuccino_core.config.risk import RiskConfig
    from cappuccino_core.state.store import StateStore
    from cappuccino_core.trading.loop import BarLoop
    from cappuccino_core.trading.risk import RiskManager

    h = 3_600 * 10**9
    t0 = 20_000 * 24 * h
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, cash_reserve=0.0)
    broker = sim()
    actions = np.array([[1.0, 1.0], [0.0, 0.0], [-1.0, -1.0]])
    loop = BarLoop(broker, store, RiskManager.from_config(RiskConfig()), env, ("BTC/USDT", "ETH/USDT"),
                   lambda t: actions[t], run_id="r", bar_ns=h, max_age_s=7200.0)  # fmt: skip
    placed = []
    for t in range(3):
        res = loop.on_bar(t, t0 + t * h, np.array([100.0, 10.0]), t0 + t * h + 60 * 10**9)
        placed += res.orders
    assert placed and all(broker.get_order(c) is not None for c in placed)
    assert len(broker.fills()) == len(placed) and loop.reconcile() == 0
