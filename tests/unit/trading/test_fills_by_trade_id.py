"""Fills keyed by the venue's trade id: one row per execution, per-execution quantities; partial fills,
restarts and fills after a cancel reconcile to exactly the venue's quantity (no IntegrityError)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.state.schema import AuditLog, FillRow, OrderRow, PositionRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.brokers.base import Fill as VenueFill
from cappuccino_core.trading.brokers.base import Order as VenueOrder
from cappuccino_core.trading.loop import BarLoop
from cappuccino_core.trading.risk import RiskManager
from tests.broker_doubles import DoubleFlags, order_of

H = 3_600 * 10**9
T0 = 20_000 * 24 * H
CLOSE = np.array([100.0])


class Venue(DoubleFlags):
    """A venue double: orders fill in the steps the test dictates. ``execution_ids``: it reports each
    execution with a trade id (Coinbase); otherwise only cumulative quantity and average price (Alpaca)."""

    name, fee_rate = "venue", 0.001

    def __init__(self, execution_ids: bool, first_fraction: float = 0.4) -> None:
        self.execution_ids = execution_ids
        self.first = first_fraction
        self.orders: dict[str, dict[str, Any]] = {}
        self.execs: list[VenueFill] = []
        self.pos = 0.0
        self.cash_ = 100_000.0

    def cash(self) -> float:
        return self.cash_

    def positions(self) -> dict[str, float]:
        return {"BTC/USD": self.pos} if self.pos else {}

    def execute(self, coid: str, qty: float, price: float) -> None:
        o = self.orders[coid]
        value = o["filled_qty"] * (o["avg_price"] or 0.0) + qty * price
        o["filled_qty"] += qty
        o["avg_price"] = value / o["filled_qty"]
        o["fee"] += self.fee_rate * qty * price
        sign = 1.0 if o["side"] == "buy" else -1.0
        self.pos += sign * qty
        self.cash_ -= sign * qty * price + self.fee_rate * qty * price
        if o["status"] != "canceled":
            o["status"] = "filled" if o["filled_qty"] >= o["qty"] * (1 - 1e-12) else "partially_filled"
        t = datetime(2024, 1, 1, tzinfo=UTC)
        self.execs.append(
            VenueFill(f"T{len(self.execs)}", coid, o["asset"], o["side"], qty, price,
                      self.fee_rate * qty * price, "TAKER", t, o["broker_order_id"])
        )  # fmt: skip

    def submit(self, coid: str, asset: str, side: str, qty: float, price: float) -> VenueOrder | None:
        assert coid not in self.orders, "duplicate client order id"
        self.orders[coid] = {"status": "open", "filled_qty": 0.0, "avg_price": None, "fee": 0.0,
                             "qty": qty, "side": side, "asset": asset,
                             "broker_order_id": f"B{len(self.orders)}"}  # fmt: skip
        self.execute(coid, qty * self.first, price)
        return order_of(coid, self.orders[coid])

    def get_order(self, coid: str) -> VenueOrder | None:
        return order_of(coid, self.orders.get(coid))

    def fills(self, coid: str | None = None) -> list[VenueFill]:
        return [f for f in self.execs if coid is None or f.client_order_id == coid]


def loop_for(store: StateStore, venue: Venue) -> BarLoop:
    env = EnvConfig(initial_cash=100_000.0, position_cap=0.3, cash_reserve=0.0)
    return BarLoop(venue, store, RiskManager.from_config(RiskConfig()), env, ("BTC/USDT",),
                   lambda t: np.ones((1, 1)), run_id="r", bar_ns=H, max_age_s=7200.0,
                   assets=("BTC/USD",))  # fmt: skip


def once(store: StateStore, venue: Venue, step: Any) -> Any:
    """One trader process: start, do ``step``, stop (the lease released)."""
    loop = loop_for(store, venue)
    try:
        return step(loop)
    finally:
        loop.close()


def stored(store: StateStore) -> tuple[list[FillRow], OrderRow, dict[str, float]]:
    with store.session() as s:
        fills = list(s.scalars(select(FillRow).order_by(FillRow.id)))
        (order,) = s.scalars(select(OrderRow))
        pos = {p.asset: p.qty for p in s.scalars(select(PositionRow))}
    return fills, order, pos


@pytest.mark.parametrize("execution_ids", [True, False], ids=["trade-ids", "cumulative"])
def test_partial_fill_restart_reconcile_exact(tmp_path: Path, execution_ids: bool) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    venue = Venue(execution_ids)
    (coid,) = once(store, venue, lambda lp: lp.on_bar(0, T0, CLOSE, T0 + H)).orders
    qty = venue.orders[coid]["qty"]
    fills, order, pos = stored(store)
    assert [f.qty for f in fills] == [pytest.approx(0.4 * qty)] and order.status == "partially_filled"
    assert pos == {"BTC/USD": pytest.approx(0.4 * qty)}  # the positions table follows the fills

    for _ in range(2):  # restarts: each reconciles, none raises IntegrityError, nothing is doubled
        once(store, venue, lambda lp: lp.reconcile())
    venue.execute(coid, 0.35 * qty, 101.0)  # more executions while the trader is down
    venue.execute(coid, 0.25 * qty, 102.0)
    for _ in range(3):
        once(store, venue, lambda lp: lp.reconcile())
    fills, order, pos = stored(store)
    assert order.status == "filled"
    assert sum(f.qty for f in fills) == pytest.approx(qty, rel=1e-12)  # exactly the venue's quantity
    assert order.filled_qty == pytest.approx(qty, rel=1e-12)
    assert order.avg_fill_price == pytest.approx(venue.orders[coid]["avg_price"], rel=1e-12)
    assert order.fees == pytest.approx(venue.orders[coid]["fee"], rel=1e-9)
    assert len({f.trade_id for f in fills}) == len(fills)
    if execution_ids:  # one row per execution, the venue's ids and per-execution quantities and prices
        assert [f.trade_id for f in fills] == ["T0", "T1", "T2"]
        assert [f.qty for f in fills] == pytest.approx([0.4 * qty, 0.35 * qty, 0.25 * qty])
        assert [f.price for f in fills] == pytest.approx([100.0, 101.0, 102.0])
    else:  # one row per observed increase of the cumulative quantity, valued at the difference
        assert [f.qty for f in fills] == pytest.approx([0.4 * qty, 0.6 * qty])
        assert fills[1].price == pytest.approx((0.35 * 101 + 0.25 * 102) / 0.6)
    assert pos == {"BTC/USD": pytest.approx(venue.pos, rel=1e-12)}


@pytest.mark.parametrize("execution_ids", [True, False], ids=["trade-ids", "cumulative"])
def test_fill_after_cancel_is_reconciled(tmp_path: Path, execution_ids: bool) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    venue = Venue(execution_ids)
    (coid,) = once(store, venue, lambda lp: lp.on_bar(0, T0, CLOSE, T0 + H)).orders
    venue.orders[coid]["status"] = "canceled"
    once(store, venue, lambda lp: lp.reconcile())
    assert stored(store)[1].status == "canceled"
    venue.execute(coid, 0.1 * venue.orders[coid]["qty"], 99.0)  # the cancel raced an execution
    once(store, venue, lambda lp: lp.reconcile())
    fills, order, pos = stored(store)
    assert order.status == "canceled"
    assert sum(f.qty for f in fills) == pytest.approx(venue.orders[coid]["filled_qty"], rel=1e-12)
    assert pos["BTC/USD"] == pytest.approx(venue.pos, rel=1e-12)


def test_unsent_order_is_not_called_rejected_and_positions_checked(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    venue = Venue(True, first_fraction=1.0)
    loop = loop_for(store, venue)
    assert len(loop.on_bar(0, T0, CLOSE, T0 + H).orders) == 1
    loop.close()
    with store.session() as s:  # an order recorded, then the crash before the send
        s.add(OrderRow(client_order_id="never-sent", broker="venue", model_run_id="r",
                    bar_time=datetime(2024, 1, 1, tzinfo=UTC), asset="BTC/USD", side="buy", qty=1.0,
                    order_type="market", status="new"))  # fmt: skip
    venue.pos += 0.5  # a position the store does not know about (e.g. a manual trade)
    once(store, venue, lambda lp: lp.reconcile())
    with store.session() as s:
        assert s.get(OrderRow, "never-sent").status == "unsent"  # type: ignore[union-attr]
        assert s.get(PositionRow, ("venue", "BTC/USD")).qty == pytest.approx(venue.pos)  # type: ignore[union-attr]
        (audit,) = s.scalars(select(AuditLog).where(AuditLog.action == "position_mismatch"))
        assert audit.evidence["venue"] == pytest.approx(venue.pos)


def test_coinbase_executions_stored_under_the_venues_trade_ids(settings, sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through the real coinbase-advanced-py client against the loopback exchange: a partial fill (the rest
    canceled) and a full one; each stored row is one venue execution under the venue's trade id."""
    import polars as pl

    from cappuccino_core.trading.brokers.factory import make_broker, sample_files

    df = pl.read_parquet(sample_files(settings)["BTC/USDT"]).sort("time").tail(10)
    times = df["time"].dt.epoch("ns").to_numpy()
    close = df["close"].to_numpy()
    store = StateStore(f"sqlite:///{tmp_path / 'cb.db'}")
    env = EnvConfig(initial_cash=100_000.0, position_cap=0.3, cash_reserve=0.0)
    with make_broker(settings, "local", venue="coinbase", frames={"BTC/USDT": df}) as venue:
        venue.exchange.partial_then_cancel(0.4)
        for t in (3, 4):
            loop = BarLoop(venue, store, RiskManager.from_config(RiskConfig()), env, ("BTC/USDT",),
                           lambda _t: np.ones((1, 1)), run_id=f"cb{t}", bar_ns=H, max_age_s=1e12,
                           assets=("BTC/USD",))  # fmt: skip
            venue.on_bar(datetime.fromtimestamp((times[t] + H) / 1e9, UTC), {})
            loop.reconcile()
            assert loop.on_bar(t, int(times[t]), close[t : t + 1], int(times[t]) + H).orders
            loop.close()
        venue_fills = {f.trade_id: f for f in venue.exchange.fills}
        with store.session() as s:
            rows = s.scalars(select(FillRow)).all()
            pos = s.scalars(select(PositionRow).where(PositionRow.asset == "BTC/USD")).one_or_none()
    assert {r.trade_id for r in rows} == set(venue_fills) and len(rows) == len(venue_fills) >= 2
    for r in rows:
        assert r.qty == pytest.approx(venue_fills[r.trade_id].qty)
        assert r.price == pytest.approx(venue_fills[r.trade_id].price)
    assert pos is not None and pos.qty == pytest.approx(venue.exchange.holdings["BTC/USD"])


def test_lagging_fill_list_is_completed_and_old_orders_are_not_asked(tmp_path: Path) -> None:
    """The venue says filled before its fill list shows every execution: the order keeps the venue's
    quantity and the next reconcile adds the missing execution. Settled orders are not asked again."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    venue = Venue(True, first_fraction=1.0)
    (coid,) = once(store, venue, lambda lp: lp.on_bar(0, T0, CLOSE, T0 + H)).orders
    qty = venue.orders[coid]["qty"]
    hidden = venue.execs.pop()  # the venue's fill list lags: the execution is not listed yet
    with store.session() as s:
        s.execute(FillRow.__table__.delete())
        o = s.get(OrderRow, coid)
        assert o is not None
        o.status = "open"  # as if the crash came before the answer was recorded
    once(store, venue, lambda lp: lp.reconcile())
    fills, order, _ = stored(store)
    assert fills == [] and order.status == "filled" and order.filled_qty == pytest.approx(qty)
    venue.execs.append(hidden)  # now listed
    asked: list[str] = []
    get = venue.get_order
    venue.get_order = lambda c: asked.append(c) or get(c)  # type: ignore[method-assign]
    once(store, venue, lambda lp: lp.reconcile())
    fills, order, _ = stored(store)
    assert [f.trade_id for f in fills] == ["T0"] and asked == [coid]
    asked.clear()
    once(store, venue, lambda lp: lp.reconcile())  # settled: filled, and every execution stored
    assert asked == []
