"""The bar loop with an in-memory broker: emergency stop, bad bars, restart without duplicate orders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.state.schema import OrderRow
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore
from cappuccino_core.trading.brokers.base import Order as VenueOrder
from cappuccino_core.trading.loop import BarLoop, bad_bar_reason
from cappuccino_core.trading.risk import RiskManager
from tests.broker_doubles import DoubleFlags, order_of
from tests.env_presets import NO_BAND

H = 3_600 * 10**9
T0 = 20_000 * 24 * H
TICKERS = ("BTC", "ETH")


class MemBroker(DoubleFlags):
    name, fee_rate = "mem", 0.0

    def __init__(self) -> None:
        self._cash, self._pos, self.orders = 10_000.0, {"BTC": 0.0, "ETH": 0.0}, {}  # type: ignore[var-annotated]

    def cash(self) -> float:
        return self._cash

    def positions(self) -> dict[str, float]:
        return dict(self._pos)

    def submit(self, coid: str, asset: str, side: str, qty: float, price: float) -> VenueOrder | None:
        assert coid not in self.orders, "duplicate client order id"
        sign = 1.0 if side == "buy" else -1.0
        self._pos[asset] += sign * qty
        self._cash -= sign * qty * price
        self.orders[coid] = {"status": "filled", "filled_qty": qty, "avg_price": price, "fee": 0.0}
        return order_of(coid, self.orders[coid])

    def get_order(self, coid: str) -> VenueOrder | None:
        return order_of(coid, self.orders.get(coid))


def make(tmp_path: Path, broker: MemBroker, actions: np.ndarray) -> tuple[BarLoop, StateStore]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, cash_reserve=0.0)
    loop = BarLoop(broker, store, RiskManager.from_config(RiskConfig()), env, TICKERS, lambda t: actions[t],
                   run_id="run1", bar_ns=H, max_age_s=7200.0)  # fmt: skip
    return loop, store


def test_bad_bar_reasons() -> None:
    ok = np.array([1.0, 2.0])
    assert bad_bar_reason(ok, T0, T0 - H, H, T0 + H, 7200) is None
    assert "NaN" in str(bad_bar_reason(np.array([1.0, np.nan]), T0, None, H, T0 + H, 7200))
    assert "gap" in str(bad_bar_reason(ok, T0, T0 - 3 * H, H, T0 + H, 7200))
    assert "stale" in str(bad_bar_reason(ok, T0, None, H, T0 + 4 * H, 7200))


def test_emergency_stop_blocks_orders_from_next_tick(tmp_path: Path) -> None:
    broker = MemBroker()
    acts = np.array([[0.1, 0.0], [0.2, 0.0], [0.3, 0.0]])
    loop, store = make(tmp_path, broker, acts)
    close = np.array([100.0, 10.0])
    assert loop.on_bar(0, T0, close, T0 + H).orders  # a buy of 3% of equity (max 10% per trade)
    store.set_flag(EMERGENCY_STOP, True, set_by="operator")
    n = len(broker.orders)
    for t in (1, 2):
        res = loop.on_bar(t, T0 + t * H, close, T0 + (t + 1) * H)
        assert res.skipped == "emergency stop" and not res.orders
    assert len(broker.orders) == n


def test_bad_bar_skipped_without_trading(tmp_path: Path) -> None:
    broker = MemBroker()
    loop, store = make(tmp_path, broker, np.array([[0.5, 0.5]]))
    res = loop.on_bar(0, T0, np.array([100.0, np.nan]), T0 + H)
    assert res.skipped and "NaN" in res.skipped and not broker.orders
    assert any(a.action == "skip_bar" for a in store.audit_log())


def test_restart_reconciles_and_places_no_duplicate(tmp_path: Path) -> None:
    broker = MemBroker()
    acts = np.array([[0.2, 0.2]])
    loop, store = make(tmp_path, broker, acts)
    close = np.array([100.0, 10.0])
    first = loop.on_bar(0, T0, close, T0 + H).orders
    assert len(first) == 2
    loop.close()  # the process ends (a killed one's lease is taken over by the restart: test_lease.py)
    with store.session() as s:  # crash after submit, before the status update
        for o in s.scalars(select(OrderRow)):
            o.status = "new"
    loop2, _ = make(tmp_path, broker, acts * 4)  # still wants to buy on the replayed bar
    assert loop2.reconcile() == 2
    again = loop2.on_bar(0, T0, close, T0 + H).orders  # the same bar replayed
    assert again == [] and len(broker.orders) == 2
    with store.session() as s:
        assert {o.status for o in s.scalars(select(OrderRow))} == {"filled"}


def test_emergency_stop_with_flatten_sells_everything_once(tmp_path: Path) -> None:
    broker = MemBroker()
    loop, store = make(tmp_path, broker, np.array([[1.0, 1.0]] * 3))
    close = np.array([100.0, 10.0])
    loop.on_bar(0, T0, close, T0 + H)
    assert broker.positions()["BTC"] > 0
    store.set_flag(EMERGENCY_STOP, True, set_by="operator")
    store.set_flag("emergency_flatten", True, set_by="operator")
    res = loop.on_bar(1, T0 + H, close, T0 + 2 * H)
    assert len(res.orders) == 2 and broker.positions() == {"BTC": 0.0, "ETH": 0.0}
    assert loop.on_bar(2, T0 + 2 * H, close, T0 + 3 * H).orders == []  # nothing left, nothing placed


def test_restart_with_sim_broker_places_no_second_order(tmp_path: Path) -> None:
    from cappuccino_core.config.costs import CostsConfig
    from cappuccino_core.venues.sim.broker import SimBroker

    sim = SimBroker(CostsConfig(), 10_000.0)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, cash_reserve=0.0)

    def loop(actions: np.ndarray) -> BarLoop:
        return BarLoop(sim, store, RiskManager.from_config(RiskConfig()), env, TICKERS, lambda t: actions[t],
                       run_id="run1", bar_ns=H, max_age_s=7200.0, assets=("BTC/USD", "ETH/USD"))  # fmt: skip

    close = np.array([100.0, 10.0])
    first = loop(np.array([[0.2, 0.2]]))
    assert len(first.on_bar(0, T0, close, T0 + H).orders) == 2
    first.close()  # the process ends (a killed one's lease is taken over by the restart: test_lease.py)
    n_fills = len(sim.fills())
    with store.session() as s:  # the crash: statuses never written
        for o in s.scalars(select(OrderRow)):
            o.status = "new"
    restarted = loop(np.array([[0.9, 0.9]]))
    assert restarted.reconcile() == 2
    assert restarted.on_bar(0, T0, close, T0 + H).orders == []  # the bar replayed after the restart
    assert len(sim.fills()) == n_fills
    with store.session() as s:
        assert {o.status for o in s.scalars(select(OrderRow))} == {"filled"}
