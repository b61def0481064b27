"""Risk state survives restarts (finding 2): entries from fills, halts, peaks and counters come back from the
state store, so a fresh process per tick (how `trade live` and the hourly flow run) obeys the same rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.state.schema import OrderRow, RiskState
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.brokers.base import Order as VenueOrder
from cappuccino_core.trading.loop import BarLoop
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.trading.risk.persist import restore, snapshot
from tests.broker_doubles import DoubleFlags, order_of
from tests.env_presets import NO_BAND

H = 3_600 * 10**9
T0 = 20_000 * 24 * H


class Venue(DoubleFlags):
    """Fills every order in full at the bar's close, fee ``fee_rate``; the account outlives any trader."""

    name = "venue"

    def __init__(self, fee_rate: float = 0.001, cash: float = 10_000.0) -> None:
        self.fee_rate, self._cash = fee_rate, cash
        self.pos: dict[str, float] = {}
        self.orders: dict[str, dict[str, Any]] = {}

    def cash(self) -> float:
        return self._cash

    def positions(self) -> dict[str, float]:
        return {a: q for a, q in self.pos.items() if q}

    def submit(self, coid: str, asset: str, side: str, qty: float, price: float) -> VenueOrder | None:
        assert coid not in self.orders, "duplicate client order id"
        sign = 1.0 if side == "buy" else -1.0
        fee = self.fee_rate * qty * price
        self.pos[asset] = self.pos.get(asset, 0.0) + sign * qty
        self._cash -= sign * qty * price + fee
        self.orders[coid] = {"status": "filled", "filled_qty": qty, "avg_price": price, "fee": fee,
                             "broker_order_id": f"B{len(self.orders)}"}  # fmt: skip
        return order_of(coid, self.orders[coid])

    def get_order(self, coid: str) -> VenueOrder | None:
        return order_of(coid, self.orders.get(coid))


def trader(store: StateStore, venue: Venue, cfg: RiskConfig, actions: np.ndarray) -> BarLoop:
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.5, cash_reserve=0.0)
    return BarLoop(venue, store, RiskManager.from_config(cfg), env, ("BTC", "ETH"), lambda t: actions[t],
                   run_id="m", bar_ns=H, max_age_s=1e12)  # fmt: skip


def killed(loop: BarLoop) -> None:
    """The process dies: nothing flushed or closed; its lease ends (as it would by expiry or pid check)."""
    loop.lease.release()


def test_entry_price_comes_from_fills_not_the_restart_price(tmp_path: Path) -> None:
    """Bought at 100; the restart sees 85 with a 10% stop-loss: it sells. Taking 85 as the entry (the
    finding) would keep holding, and even buy more."""
    cfg = RiskConfig(stop_loss=0.10, take_profit=None, portfolio_trailing_stop=None, daily_loss_limit=None,
                     prop_max_daily_loss=None, prop_max_total_loss=None, max_trade_fraction=0.2)  # fmt: skip
    store, venue = StateStore(f"sqlite:///{tmp_path / 's.db'}"), Venue()
    buy = np.array([[1.0, 0.0]] * 3)
    a = trader(store, venue, cfg, buy)
    assert a.on_bar(0, T0, np.array([100.0, 10.0]), T0 + H).orders
    killed(a)
    b = trader(store, venue, cfg, buy)
    res = b.on_bar(1, T0 + H, np.array([85.0, 10.0]), T0 + 2 * H)
    with store.session() as s:
        last = s.scalars(select(OrderRow).where(OrderRow.client_order_id.in_(res.orders))).all()
    assert [(o.asset, o.side) for o in last] == [("BTC", "sell")] and venue.positions() == {}
    assert b.risk.state is not None and b.risk.state.entry[0, 0] == 0.0  # flat again


def test_total_loss_halt_survives_restarts(tmp_path: Path) -> None:
    """The prop-firm total loss halts for good: after it, no restart buys again, even when prices recover."""
    cfg = RiskConfig(stop_loss=None, take_profit=None, portfolio_trailing_stop=None, daily_loss_limit=None,
                     prop_max_daily_loss=None, prop_max_total_loss=0.10, max_trade_fraction=0.5,
                     max_position_fraction=0.5, loss_streak=None)  # fmt: skip
    store, venue = StateStore(f"sqlite:///{tmp_path / 's.db'}"), Venue(fee_rate=0.0)
    buy = np.array([[1.0, 0.0]] * 10)
    prices = [100.0, 100.0, 70.0, 90.0, 100.0, 120.0]
    placed: list[list[str]] = []
    for t, p in enumerate(prices):  # a fresh trader for every bar, as the hourly flow runs
        loop = trader(store, venue, cfg, buy)
        placed.append(loop.on_bar(t, T0 + t * H, np.array([p, 10.0]), T0 + (t + 1) * H).orders)
        killed(loop)
    # bar 2: 70 -> equity 10k - 0.3 x 5k... below 90% of the initial: flattened, halted for good
    with store.session() as s:
        sides = [[s.get(OrderRow, c).side for c in bar] for bar in placed]  # type: ignore[union-attr]
        row = s.get(RiskState, "venue")
        assert row is not None and row.data["rules"]["prop_firm"]["dead"]["data"] == [True]
    assert sides[0] == ["buy"] and sides[2] == ["sell"]
    assert all("buy" not in bar for bar in sides[3:])  # recovered prices, restarted traders: no buy


def test_snapshot_round_trip_exact_and_by_asset_name() -> None:
    cfg = RiskConfig()
    m = RiskManager.from_config(cfg)
    restore(m, None, ("BTC", "ETH"))
    assert m.state is not None
    m.state.entry[0] = [101.25, 0.1 + 0.2]
    m.state.peak_equity[0] = np.nan
    data = snapshot(m, ("BTC", "ETH"))
    import json

    data = json.loads(json.dumps(data, allow_nan=False))  # strict JSON (PostgreSQL)
    m2 = RiskManager.from_config(cfg)
    restore(m2, data, ("BTC", "ETH"))
    assert m2.state is not None and m2.state.entry[0].tolist() == [101.25, 0.1 + 0.2]
    assert np.isnan(m2.state.peak_equity[0])
    m3 = RiskManager.from_config(cfg)
    restore(m3, data, ("ETH", "SOL", "BTC"))  # another asset list: kept by name, the new one fresh
    assert m3.state is not None and m3.state.entry[0].tolist() == [0.1 + 0.2, 0.0, 101.25]


@pytest.mark.parametrize("kill_every", [1, 3])
def test_kill_and_restart_gives_the_uninterrupted_orders(tmp_path: Path, kill_every: int) -> None:
    rng = np.random.default_rng(7)
    n = 60
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.03, (n, 2)), axis=0))
    actions = rng.uniform(-1, 1, (n, 2))
    assert run(tmp_path / "a", close, actions, set()) == run(
        tmp_path / "b", close, actions, set(range(1, n, kill_every))
    )


def run(
    d: Path, close: np.ndarray, actions: np.ndarray, kills: set[int]
) -> list[tuple[int, str, str, float]]:
    """Orders (bar, asset, side, qty rounded to 1e-9) of a run killed and restarted before each bar in
    ``kills``."""
    d.mkdir(parents=True, exist_ok=True)
    store, venue = StateStore(f"sqlite:///{d / 's.db'}"), Venue()
    cfg = RiskConfig(stop_loss=0.05, trailing_stop=0.06, take_profit=0.04, daily_loss_limit=0.03,
                     loss_streak=2, cooldown_hours=3, max_trades_per_day=8, prop_max_total_loss=0.1,
                     max_trade_fraction=0.25, max_signals_per_hour=2)  # fmt: skip
    loop = trader(store, venue, cfg, actions)
    for t in range(len(close)):
        if t in kills:
            killed(loop)
            loop = trader(store, venue, cfg, actions)
        loop.on_bar(t, T0 + t * H, close[t], T0 + (t + 1) * H)
    loop.close()
    with store.session() as s:
        rows = s.scalars(select(OrderRow).order_by(OrderRow.bar_time, OrderRow.asset)).all()
        return [(int(o.bar_time.timestamp()), o.asset, o.side, round(o.qty, 9)) for o in rows]


def test_reconciled_fills_run_the_rules_on_bar_time(tmp_path: Path) -> None:
    """A losing sell recorded only by the restart's reconcile starts the cooldown at its bar's time, not at
    the venue's clock (here years ahead): 5 bars later the cooldown is over and the trader buys again."""
    from datetime import UTC, datetime

    from cappuccino_core.state.schema import FillRow, PositionRow

    class LateClock(Venue):
        def submit(self, coid: str, asset: str, side: str, qty: float, price: float) -> VenueOrder | None:
            super().submit(coid, asset, side, qty, price)
            self.orders[coid]["time"] = datetime(2031, 1, 1, tzinfo=UTC)
            return order_of(coid, self.orders[coid])

    cfg = RiskConfig(stop_loss=None, take_profit=None, portfolio_trailing_stop=None, daily_loss_limit=None,
                     prop_max_daily_loss=None, prop_max_total_loss=None, max_trade_fraction=0.2,
                     loss_streak=1, cooldown_hours=4, max_signals_per_hour=None)  # fmt: skip
    store, venue = StateStore(f"sqlite:///{tmp_path / 's.db'}"), LateClock(fee_rate=0.0)
    acts = np.array([[1.0, 0.0], [0.0, 0.0]] + [[1.0, 0.0]] * 8)
    a = trader(store, venue, cfg, acts)
    a.on_bar(0, T0, np.array([100.0, 10.0]), T0 + H)
    with store.session() as s:
        before = dict(s.get(RiskState, "venue").data)  # type: ignore[union-attr]
        held = s.get(PositionRow, ("venue", "BTC")).qty  # type: ignore[union-attr]
    (sell,) = a.on_bar(1, T0 + H, np.array([90.0, 10.0]), T0 + 2 * H).orders  # a losing exit
    killed(a)
    with store.session() as s:  # the crash came after the send, before anything was recorded
        s.get(RiskState, "venue").data = before  # type: ignore[union-attr]
        s.execute(FillRow.__table__.delete().where(FillRow.client_order_id == sell))
        o = s.get(OrderRow, sell)
        assert o is not None
        o.status, o.filled_qty = "new", 0.0
        s.get(PositionRow, ("venue", "BTC")).qty = held  # type: ignore[union-attr]
    b = trader(store, venue, cfg, acts)
    b.reconcile()  # finds the sell filled at the venue: a loss, the cooldown starts at bar 1
    placed = [b.on_bar(t, T0 + t * H, np.array([90.0, 10.0]), T0 + (t + 1) * H).orders for t in range(2, 8)]
    assert placed[:3] == [[], [], []]  # bars 2-4: within 4 h of the losing exit at bar 1
    assert placed[4]  # bar 6, 5 h after: buying again
