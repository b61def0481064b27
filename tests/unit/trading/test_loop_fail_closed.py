"""The bar loop fails closed (finding 6): non-finite decisions refused with the model named, flatten within
the lot and minimum sizes (dust reported), sizing with the configured slippage, broker errors reported;
paper sessions isolated by their own ids (finding 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.state.schema import AuditLog, OrderRow
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore
from cappuccino_core.trading.brokers.base import BrokerError, Quote
from cappuccino_core.trading.brokers.base import Order as VenueOrder
from cappuccino_core.trading.loop import BarLoop
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.venues.coinbase import maker_first
from tests.broker_doubles import DoubleFlags, order_of
from tests.env_presets import NO_BAND

H = 3_600 * 10**9
T0 = 20_000 * 24 * H
TICKERS = ("BTC", "ETH")
CLOSE = np.array([100.0, 10.0])


class Mem(DoubleFlags):
    """Fills every order at the close times (1 + slip) with fee rate ``fee_rate``."""

    name = "mem"

    def __init__(self, slip: float = 0.0, fee_rate: float = 0.0, fail_on: int | None = None) -> None:
        self.slip, self.fee_rate, self.fail_on = slip, fee_rate, fail_on
        self._cash, self.pos = 10_000.0, {"BTC": 0.0, "ETH": 0.0}
        self.orders: dict[str, dict[str, Any]] = {}

    def cash(self) -> float:
        return self._cash

    def positions(self) -> dict[str, float]:
        return dict(self.pos)

    def submit(self, coid: str, asset: str, side: str, qty: float, price: float) -> VenueOrder | None:
        if self.fail_on is not None and len(self.orders) == self.fail_on:
            raise BrokerError("HTTP 503 from the venue after 4 attempts")
        sign = 1.0 if side == "buy" else -1.0
        px = price * (1 + sign * self.slip)
        fee = self.fee_rate * qty * px
        self.pos[asset] += sign * qty
        self._cash -= sign * qty * px + fee
        self.orders[coid] = {"status": "filled", "filled_qty": qty, "avg_price": px, "fee": fee}
        return order_of(coid, self.orders[coid])

    def get_order(self, coid: str) -> VenueOrder | None:
        return order_of(coid, self.orders.get(coid))


def make(tmp_path: Path, broker: Mem, decide: Any, env: EnvConfig | None = None, **kw: Any) -> BarLoop:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    env = env or EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, cash_reserve=0.0)
    return BarLoop(broker, store, RiskManager([]), env, TICKERS, decide, run_id="paper-1", bar_ns=H,
                   max_age_s=7200.0, model="model-abc", **kw)  # fmt: skip


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_decision_refused_with_the_model_named(tmp_path: Path, bad: float) -> None:
    broker = Mem()
    loop = make(tmp_path, broker, lambda t: np.array([[bad, 0.5]]))
    res = loop.on_bar(0, T0, CLOSE, T0 + H)
    assert res.orders == [] and broker.orders == {}
    assert res.skipped is not None and "model-abc" in res.skipped and "BTC=" in res.skipped
    assert "ETH" not in res.skipped  # only the offending asset is named
    (row,) = loop.store.audit_log(subject="paper-1")
    assert row.action == "refuse_decision" and "non-finite decision" in row.reason


def test_flatten_respects_lot_and_minimum_and_reports_dust(tmp_path: Path) -> None:
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, cash_reserve=0.0,
                    min_order_value=10.0, lot_size={"BTC": 0.001, "ETH": 0.001})  # fmt: skip
    broker = Mem()
    # BTC: 201.07 quote, sold whole (the lot rule's whole-position exit); ETH: worth 5 < the 10 minimum
    broker.pos = {"BTC": 2.0107, "ETH": 0.5}
    loop = make(tmp_path, broker, lambda t: np.zeros((1, 2)), env=env)
    loop.store.set_flag(EMERGENCY_STOP, True, set_by="test")
    loop.store.set_flag("emergency_flatten", True, set_by="test")
    res = loop.on_bar(0, T0, CLOSE, T0 + H)
    assert res.skipped == "emergency stop" and len(res.orders) == 1  # the BTC sell only
    assert broker.pos == {"BTC": 0.0, "ETH": 0.5}
    assert res.dust == {"ETH": 0.5}
    with loop.store.session() as s:
        (o,) = s.scalars(select(OrderRow))
        assert o.qty == pytest.approx(2.0107) and o.side == "sell"
        assert s.scalars(select(AuditLog).where(AuditLog.action == "flatten_dust")).one()
    broker.pos["BTC"] = 0.0004  # a sub-lot remainder the venue's own rounding left behind
    again = loop.on_bar(1, T0 + H, CLOSE, T0 + 2 * H)  # dust stays dust: nothing sent, no crash
    assert again.orders == [] and again.dust == {"BTC": 0.0004, "ETH": 0.5}


def test_maker_first_sub_lot_order_is_a_rejection_not_a_crash() -> None:
    class Venue:
        def round_qty(self, asset: str, qty: float) -> float:
            return float(np.floor(qty / 0.01) * 0.01)

        def quote(self, asset: str) -> Quote:  # pragma: no cover - never reached
            raise AssertionError

    o = maker_first.work(Venue(), TradingConfig(), "p1", "BTC/USD", "sell", 0.004)  # type: ignore[arg-type]
    assert o.status == "rejected" and o.reason == maker_first.QTY_BELOW_LOT and o.filled_qty == 0


def test_sizing_includes_the_configured_slippage(tmp_path: Path) -> None:
    """A full buy up to the 30% position cap: with 5 bp slippage (and a 1% fee) budgeted, the position after
    the fill is within the cap of the equity after the fill; budgeting zero slippage breaks the cap."""
    slip, fee = 5e-4, 0.01

    def held_fraction(budget: float, sub: str) -> float:
        d = tmp_path / sub
        d.mkdir()
        broker = Mem(slip=slip, fee_rate=fee)
        loop = make(d, broker, lambda t: np.array([[1.0, 0.0]]), slippage=budget)
        loop.on_bar(0, T0, CLOSE, T0 + H)
        value = broker.pos["BTC"] * CLOSE[0]
        return value / (broker.cash() + value)

    assert held_fraction(slip, "with") <= 0.3 + 1e-12
    assert held_fraction(0.0, "without") > 0.3 + 1e-7  # the finding: above the cap by the slippage
    with pytest.raises(ValueError, match="slippage"):
        make(tmp_path, Mem(), lambda t: np.zeros((1, 2)), slippage=float("nan"))


def test_broker_error_is_reported_and_the_rest_left_for_reconcile(tmp_path: Path) -> None:
    broker = Mem(fail_on=1)  # the second order of the bar fails
    loop = make(tmp_path, broker, lambda t: np.array([[0.5, 0.5]]))
    res = loop.on_bar(0, T0, CLOSE, T0 + H)
    assert len(res.orders) == 1 and res.error is not None and "HTTP 503" in res.error
    with loop.store.session() as s:
        statuses = sorted(o.status for o in s.scalars(select(OrderRow)))
    assert statuses == ["filled", "new"]
    loop.reconcile()  # the venue never saw it: unsent (not "rejected")
    with loop.store.session() as s:
        assert sorted(o.status for o in s.scalars(select(OrderRow))) == ["filled", "unsent"]


def test_paper_sessions_are_isolated(settings, sample_dir) -> None:  # type: ignore[no-untyped-def]
    """Two runs of the same window: each its own session id, its own orders, its own report."""
    from cappuccino_core.trading.loop.session import run_paper

    a = run_paper(settings, "sim", 1, "baseline")
    b = run_paper(settings, "sim", 1, "baseline")
    assert a["session"] != b["session"] and a["model"] == b["model"] == "baseline"
    assert a["report_path"] != b["report_path"]
    store = StateStore(settings.paths.state_url)
    with store.session() as s:
        by = {
            r: s.scalars(select(OrderRow).where(OrderRow.model_run_id == r)).all()
            for r in (a["session"], b["session"])
        }
    assert by[a["session"]] and len(by[b["session"]]) == len(by[a["session"]])  # the re-run traded again
    assert a["fills"] == b["fills"] == sum(o.status == "filled" for o in by[a["session"]])
