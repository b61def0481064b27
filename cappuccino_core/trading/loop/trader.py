"""The bar loop: on each closed bar, check it, decide, apply conviction and risk, place orders with
deterministic client order ids, record everything in the state store.

The broker is anything with the :class:`LoopBroker` methods (a subset of the brokers' base protocol).
Order records are written BEFORE submission in their own transaction, so after a crash the restart sees
the id and asks the broker for it instead of placing it again (``reconcile``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, bindparam, insert, select, text, update

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import desired_orders
from cappuccino_core.env.rules import OrderContext, OrderRule, apply_rules, default_rules, lot_sizes
from cappuccino_core.env.warm import warm_up
from cappuccino_core.state.schema import EquitySnapshot, Fill, Flag, Order, Position
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore
from cappuccino_core.trading.brokers.client_ids import client_order_id
from cappuccino_core.trading.loop.bars import bad_bar_reason
from cappuccino_core.trading.risk import RiskManager

log = logging.getLogger(__name__)
OPEN = ("new", "submitted", "open", "partially_filled")
FLATTEN_FLAG = "emergency_flatten"  # set with the stop: the next tick sells every position
_STOP_FLAGS = (EMERGENCY_STOP, FLATTEN_FLAG)
_UPDATE_ORDER = (
    update(Order)
    .where(Order.client_order_id == bindparam("k"))
    .values(status=bindparam("status"), broker_order_id=bindparam("boid"), filled_qty=bindparam("fq"),
            avg_fill_price=bindparam("px"), fees=bindparam("fee"))
)  # fmt: skip
_STOP_SQL = text(f"SELECT name, value FROM {Flag.__tablename__} WHERE name IN (:a, :b)")


class LoopBroker(Protocol):
    name: str
    fee_rate: float

    def cash(self) -> float: ...
    def positions(self) -> dict[str, float]: ...
    # Orders come back as brokers.base.Order (or any mapping with status, filled_qty, avg_price, fee, ...).
    def submit(self, client_order_id: str, asset: str, side: str, qty: float, price: float) -> Any: ...
    def get_order(self, client_order_id: str) -> Any: ...


@dataclass
class TickResult:
    bar_time_ns: int
    skipped: str | None = None  # why no decision was made
    orders: list[str] = field(default_factory=list)  # client order ids placed


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


class BarLoop:
    def __init__(
        self, broker: LoopBroker, store: StateStore, risk: RiskManager, env: EnvConfig,
        tickers: tuple[str, ...], decide: Callable[[int], np.ndarray], *, run_id: str, bar_ns: int,
        max_age_s: float, conviction: Callable[[np.ndarray, int], np.ndarray] | None = None,
        flatten_on_stop: bool = False, heartbeat_s: float = 5.0, equity_flush_bars: int = 1,
        assets: tuple[str, ...] | None = None,
    ) -> None:  # fmt: skip
        self.broker, self.store, self.risk, self.env = broker, store, risk, env
        self.tickers, self.decide, self.run_id = tickers, decide, run_id
        self.assets = tuple(tickers) if assets is None else tuple(assets)  # the broker's symbol per ticker
        if len(self.assets) != len(tickers):
            raise ValueError(f"assets {list(self.assets)} do not match tickers {list(tickers)} one to one")
        self.bar_ns, self.max_age_s, self.conviction = bar_ns, max_age_s, conviction
        self.flatten_on_stop = flatten_on_stop
        self.rules: list[OrderRule] = [risk, *default_rules(env)]
        warm_up()  # the order rules' compiled code, before the first bar rather than on it
        self.lot = lot_sizes(tickers, env)
        self.prev_time: int | None = None
        self.heartbeat_s, self._last_beat = heartbeat_s, -float("inf")
        self._flag_conn: Connection | None = None
        # Equity snapshots are written every ``equity_flush_bars`` bars (1 live; more in replays) and with
        # every bar that has orders; orders and fills are always written before and right after submission.
        self.equity_flush_bars, self._equity = max(1, int(equity_flush_bars)), []  # type: ignore[var-annotated]

    def flush(self) -> None:
        """Write the buffered equity snapshots (orders and fills are never buffered)."""
        if self._equity:
            with self.store.engine.begin() as c:
                c.execute(insert(EquitySnapshot), self._equity)
            self._equity = []

    def close(self) -> None:
        self.flush()
        if self._flag_conn is not None:
            self._flag_conn.close()
            self._flag_conn = None

    # --- start: reconcile with the broker -------------------------------------------------------
    def reconcile(self) -> int:
        """Bring open orders and positions in the store in line with the broker; returns orders updated."""
        updated = 0
        with self.store.session() as s:
            for o in s.scalars(select(Order).where(Order.status.in_(OPEN), Order.broker == self.broker.name)):
                got = self.broker.get_order(o.client_order_id)
                o.status = "rejected" if got is None else str(got["status"])
                if got is not None:
                    o.broker_order_id = got.get("broker_order_id") or o.broker_order_id  # the venue's id
                    self._record_fill(s, o, got)
                updated += 1
            for asset, qty in self.broker.positions().items():
                s.merge(Position(broker=self.broker.name, asset=asset, qty=qty, avg_entry_price=0.0))
        self.store.audit("trader", "reconcile", self.broker.name, orders=updated)
        return updated

    # --- one bar ------------------------------------------------------------------------------------
    def stop_flags(self) -> tuple[bool, bool]:
        """(emergency stop, flatten on stop) from the state store, read without a write transaction."""
        if self._flag_conn is None:
            self._flag_conn = self.store.engine.connect()
        c = self._flag_conn
        try:
            found = c.execute(_STOP_SQL, {"a": _STOP_FLAGS[0], "b": _STOP_FLAGS[1]}).all()
            rows: dict[str, Any] = {str(name): value for name, value in found}
        finally:
            c.rollback()  # end the read transaction so that the next tick sees new flags
        return bool(rows.get(EMERGENCY_STOP)), bool(rows.get(FLATTEN_FLAG))

    def on_bar(self, t: int, bar_time_ns: int, close: np.ndarray, now_ns: int) -> TickResult:
        """Decide and trade on closed bar ``t`` (an index the ``decide`` callable understands)."""
        wall = time.monotonic()
        if wall - self._last_beat >= self.heartbeat_s:
            self.store.beat("trader", bar=int(bar_time_ns))
            self._last_beat = wall
        res = TickResult(bar_time_ns)
        stop, flatten = self.stop_flags()
        if stop:
            res.skipped = "emergency stop"
            if self.flatten_on_stop or flatten:
                ctx = self._context(close, bar_time_ns)
                res.orders = self._place(-ctx.holdings[0], ctx, bar_time_ns, close)
            return res
        reason = bad_bar_reason(close, bar_time_ns, self.prev_time, self.bar_ns, now_ns, self.max_age_s)
        self.prev_time = bar_time_ns
        if reason is not None:
            log.warning("bar %s skipped: %s", _dt(bar_time_ns), reason)
            self.store.audit("trader", "skip_bar", self.run_id, reason=reason, bar=int(bar_time_ns))
            res.skipped = reason
            return res
        ctx = self._context(close, bar_time_ns)
        wanted = desired_orders(np.atleast_2d(self.decide(t)), self.env, ctx.equity, ctx.holdings, ctx.prices)
        if self.conviction is not None:
            wanted = self.conviction(wanted, t)
        qty = apply_rules(self.rules, wanted, ctx)
        res.orders = self._place(qty[0], ctx, bar_time_ns, close)
        return res

    def _context(self, close: np.ndarray, bar_time_ns: int) -> OrderContext:
        pos = self.broker.positions()
        hold = np.array([[pos.get(a, 0.0) for a in self.assets]])
        return OrderContext(
            prices=np.asarray(close, dtype=np.float64)[None, :], cash=np.array([self.broker.cash()]),
            holdings=hold, slippage=np.zeros_like(hold), fee_rate=self.broker.fee_rate, lot=self.lot,
            min_order_value=self.env.min_order_value, time=np.array([bar_time_ns], np.int64),
        )  # fmt: skip

    def _place(self, qty: np.ndarray, ctx: OrderContext, bar_time_ns: int, close: np.ndarray) -> list[str]:
        """Record every order of the bar (one transaction), submit them (sells first: their proceeds pay
        for the buys), then record statuses, fills and equity (one transaction)."""
        todo: list[tuple[int, str, str]] = []
        idx = [int(j) for j in np.argsort(qty) if qty[j] != 0]
        if idx:
            legs = [(j, self.assets[j], "buy" if qty[j] > 0 else "sell") for j in idx]
            ids = [client_order_id(self.run_id, bar_time_ns, a, sd) for _, a, sd in legs]
            bar_dt = _dt(bar_time_ns)
            with self.store.engine.begin() as c:  # the records exist before the broker hears of the orders
                known = select(Order.client_order_id).where(Order.client_order_id.in_(ids))
                seen = set(c.execute(known).scalars())
                # an id seen before was placed before a restart: reconcile owns it, never a second order
                todo = [(j, coid, sd) for (j, _, sd), coid in zip(legs, ids, strict=True) if coid not in seen]
                if todo:
                    c.execute(insert(Order), [
                        {"client_order_id": coid, "broker": self.broker.name, "model_run_id": self.run_id,
                         "bar_time": bar_dt, "asset": self.assets[j], "side": sd, "qty": float(abs(qty[j])),
                         "order_type": "market", "status": "new", "filled_qty": 0.0, "fees": 0.0}
                        for j, coid, sd in todo
                    ])  # fmt: skip
        results = [
            self.broker.submit(c, self.assets[j], sd, float(abs(qty[j])), float(close[j]))
            for j, c, sd in todo
        ]
        # The bar's equity mark: the account at the bar's close before this bar's orders (no extra round
        # trip to the broker on the tick's critical path).
        snapshot = {"broker": self.broker.name, "model_run_id": self.run_id, "ts": _dt(bar_time_ns),
                    "equity": float(ctx.equity[0]), "cash": float(ctx.cash[0])}  # fmt: skip
        self._equity.append(snapshot)
        if not todo:
            if len(self._equity) >= self.equity_flush_bars:
                self.flush()
            return []
        filled, price, fee = np.zeros_like(ctx.holdings), ctx.prices.copy(), np.zeros_like(ctx.holdings)
        updates, fills = [], []
        for (j, coid, side), got in zip(todo, results, strict=True):
            q = float(got.get("filled_qty") or 0.0)
            row = {"k": coid, "status": str(got["status"]), "boid": got.get("broker_order_id"), "fq": q,
                   "px": got.get("avg_price"), "fee": float(got.get("fee", 0.0))}  # fmt: skip
            updates.append(row)
            if q > 0:
                filled[0, j] = (1.0 if side == "buy" else -1.0) * q
                price[0, j], fee[0, j] = got["avg_price"], row["fee"]
                fills.append({"broker": self.broker.name, "trade_id": coid, "client_order_id": coid,
                              "asset": self.assets[j], "side": side, "qty": q,
                              "price": float(got["avg_price"]),
                              "fee": row["fee"], "liquidity": str(got.get("liquidity", "TAKER")),
                              "ts": got.get("time") or _dt(bar_time_ns)})  # fmt: skip
        with self.store.engine.begin() as c:
            c.execute(_UPDATE_ORDER, updates)
            if fills:
                c.execute(insert(Fill), fills)
            c.execute(insert(EquitySnapshot), self._equity)
        self._equity = []
        if filled.any():
            self.risk.on_fill(filled, price, fee, ctx.time)
        return [c for _, c, _ in todo]

    def _record_fill(self, s: Any, o: Order, got: dict[str, Any]) -> None:
        q = float(got.get("filled_qty") or 0.0)
        if q <= 0 or o.filled_qty >= q:
            return
        o.filled_qty, o.avg_fill_price, o.fees = q, float(got["avg_price"]), float(got.get("fee", 0.0))
        s.add(Fill(broker=self.broker.name, trade_id=o.client_order_id, client_order_id=o.client_order_id,
                   asset=o.asset, side=o.side, qty=q, price=o.avg_fill_price, fee=o.fees,
                   liquidity=str(got.get("liquidity", "TAKER")),
                   ts=got.get("time") or o.bar_time))  # fmt: skip
