"""The bar loop: on each closed bar, check it, decide, apply conviction and risk, place orders with
deterministic client order ids, record everything in the state store.

The broker is the one protocol, :class:`~cappuccino_core.trading.brokers.base.Broker`. Order records are
written BEFORE submission in their own transaction: after a crash the restart asks the broker for the id.

Fail closed: the loop first takes the account's lease (one trader per account, :mod:`~cappuccino_core.state.
lease`) and restores the risk state the last trader left (:mod:`~cappuccino_core.trading.risk.persist`).
Fills are stored one row per execution under the venue's trade id (:mod:`.fills`), in one transaction with
the positions and risk state they change. Non-finite decisions are refused; the emergency flatten goes
through the lot and minimum-order rules; a broker error stops the bar's sends.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import desired_orders, is_decision_bar
from cappuccino_core.env.rules import (
    LotRounding,
    MinOrderValue,
    NoShort,
    OrderContext,
    OrderRule,
    apply_rules,
    default_rules,
    lot_sizes,
)
from cappuccino_core.env.warm import warm_up
from cappuccino_core.state.lease import Lease
from cappuccino_core.state.schema import (
    AuditLog,
    EquitySnapshot,
    FillRow,
    Flag,
    OrderRow,
    PositionRow,
    RiskState,
)
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore
from cappuccino_core.trading.brokers.base import Broker, BrokerError
from cappuccino_core.trading.brokers.base import Order as VenueOrder
from cappuccino_core.trading.brokers.client_ids import client_order_id
from cappuccino_core.trading.loop.bars import bad_bar_reason
from cappuccino_core.trading.loop.fills import StoredFill, fill_sums, new_fills, order_totals, stored_fills
from cappuccino_core.trading.loop.protocol import (
    CANCEL_FILL_WINDOW,
    LATE,
    LATE_FILL_WINDOW,
    OPEN,
    UNSENT,
    TickResult,
    _aware,
    _dt,
    account_id,
    non_finite,
    refuse_action_smoothing,
    venue_totals,
)
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.trading.risk.persist import restore, snapshot

log = logging.getLogger(__name__)
FLATTEN_FLAG = "emergency_flatten"  # set with the stop: the next tick sells every position
_STOP_FLAGS = (EMERGENCY_STOP, FLATTEN_FLAG)
_UPDATE_ORDER = (
    update(OrderRow)
    .where(OrderRow.client_order_id == bindparam("k"))
    .values(status=bindparam("status"), broker_order_id=bindparam("boid"), filled_qty=bindparam("fq"),
            avg_fill_price=bindparam("px"), fees=bindparam("fee"))
)  # fmt: skip
_STOP_SQL = text(f"SELECT name, value FROM {Flag.__tablename__} WHERE name IN (:a, :b)")


class BarLoop:
    """The trader: :meth:`on_bar` per closed bar, :meth:`reconcile` on start, :meth:`close` at the end.

    ``decide(t)`` gives the (1, n_assets) actions for bar ``t``; ``assets`` are the broker's symbols for
    ``tickers`` (one to one). Orders, fills, positions, equity and the risk state go to ``store``."""

    def __init__(
        self, broker: Broker, store: StateStore, risk: RiskManager, env: EnvConfig,
        tickers: tuple[str, ...], decide: Callable[[int], np.ndarray], *, run_id: str, bar_ns: int,
        max_age_s: float, conviction: Callable[[np.ndarray, int], np.ndarray] | None = None,
        flatten_on_stop: bool = False, heartbeat_s: float = 5.0, equity_flush_bars: int = 1,
        assets: tuple[str, ...] | None = None, slippage: float = 0.0, model: str | None = None,
        lease_ttl_s: float = 120.0,
    ) -> None:  # fmt: skip
        self.broker, self.store, self.risk, self.env = broker, store, risk, env
        self.tickers, self.decide, self.run_id = tickers, decide, run_id
        self.model = model or run_id  # the model deciding (run_id may be a paper session's own id)
        refuse_action_smoothing(env.action_smoothing, self.model)  # its state would restart with the trader
        self.assets = tuple(tickers) if assets is None else tuple(assets)  # the broker's symbol per ticker
        if len(self.assets) != len(tickers):
            raise ValueError(f"assets {list(self.assets)} do not match tickers {list(tickers)} one to one")
        self.bar_ns, self.max_age_s, self.conviction = bar_ns, max_age_s, conviction
        self.flatten_on_stop = flatten_on_stop
        # One trader per account: taken on reconcile or the first bar, renewed every tick, released on close.
        self.lease = Lease(store, account_id(broker), ttl_s=lease_ttl_s)
        if not (np.isfinite(slippage) and 0 <= slippage < 1):
            raise ValueError(f"slippage must be a fraction in [0, 1), got {slippage}")
        self.slippage = float(slippage)  # sizing budgets for it: buys stay inside the caps after it
        self.flatten_rules: list[OrderRule] = [NoShort(), LotRounding(), MinOrderValue()]
        self.rules: list[OrderRule] = [risk, *default_rules(env)]
        warm_up()  # the order rules' compiled code, before the first bar rather than on it
        self.lot = lot_sizes(tickers, env)
        self.prev_time: int | None = None
        self.heartbeat_s, self._last_beat = heartbeat_s, -float("inf")
        self.notifier: Any = None  # a cappuccino_core.notify.Notifier: trader errors (refused, failed orders)
        self._flag_conn: Connection | None = None
        # Equity snapshots every ``equity_flush_bars`` bars (1 live) and with every bar that has orders.
        self.equity_flush_bars, self._equity = max(1, int(equity_flush_bars)), []  # type: ignore[var-annotated]

    def flush(self) -> None:
        """Write the buffered equity snapshots (orders and fills are never buffered) and the risk state."""
        if self._equity:
            with self.store.session() as s:
                s.connection().execute(insert(EquitySnapshot), self._equity)
                self._save_risk(s)
            self._equity = []

    # --- start: the lease, then the risk state as the last trader left it -------------------------
    def _hold(self) -> None:
        """The lease (taken on the first call, renewed after); on taking it, the risk state is restored."""
        if self.lease.held:
            self.lease.hold()
            return
        self.lease.acquire()  # LeaseHeld (naming the holder) when another trader has this account
        self._restore_risk()

    def _restore_risk(self) -> None:
        """Risk state from the store (entries, peaks, day P&L marks, streaks, cooldowns, halts, counters);
        a position with no entry there takes its entry from its fills (the positions table), never from the
        current price."""
        with self.store.session() as s:
            row = s.get(RiskState, self.lease.account)
            data = dict(row.data) if row is not None else None
            mine = select(PositionRow).where(PositionRow.broker == self.lease.account)
            pos = {p.asset: p for p in s.scalars(mine)}
        restore(self.risk, data, self.assets)
        st = self.risk.state
        assert st is not None
        for j, a in enumerate(self.assets):
            p = pos.get(a)
            if p is not None and p.qty > 0 and p.avg_entry_price > 0 and st.entry[0, j] <= 0:
                st.entry[0, j], st.held[0, j] = p.avg_entry_price, p.qty
        if data is not None:
            log.info("risk state of %s restored (%s)", self.lease.account, self.risk.status())

    def _save_risk(self, s: Any) -> None:
        """Upsert the risk state (an UPDATE; the INSERT only the first time), in the caller's transaction."""
        data = snapshot(self.risk, self.assets)
        if data is None:
            return
        c, now = s.connection(), datetime.now(UTC)
        key = self.lease.account
        done = c.execute(update(RiskState).where(RiskState.account == key).values(data=data, updated=now))
        if not done.rowcount:
            c.execute(insert(RiskState).values(account=key, data=data, updated=now))

    def close(self) -> None:
        """Flush what is buffered, close the flag connection and release the account's lease."""
        self.flush()
        if self._flag_conn is not None:
            self._flag_conn.close()
            self._flag_conn = None
        self.lease.release()

    # --- start: reconcile with the broker -------------------------------------------------------
    def reconcile(self) -> int:
        """Bring orders, fills and positions in the store in line with the broker; returns orders looked at.

        Looked at: every open order; every final order (bar within :data:`LATE_FILL_WINDOW` of the newest)
        whose venue-reported filled quantity exceeds the fills stored for it (a venue's fill list lagging
        its order status); and every canceled or expired order of the last :data:`CANCEL_FILL_WINDOW`, so a
        fill that arrived after the cancel is recorded. Each new execution is one fill row keyed by the
        venue's trade id; positions follow the fills and are then checked against the venue (a difference
        is written to the audit log and the venue's quantity kept).

        First, every order still live at the venue (all pages, including ones the store does not know: a
        maker quote left resting by a crash) is canceled, so nothing placed before the restart keeps working
        beside this trader's new orders; its fills are then recorded below like any other."""
        self._hold()  # LeaseHeld (naming the holder) when another trader has this account
        self._cancel_venue_orders()
        updated, new_rows, latest = 0, [], None
        name = self.broker.name
        with self.store.session() as s:
            cands = list(
                s.scalars(select(OrderRow).where(OrderRow.broker == name, OrderRow.status.in_(OPEN)))
            )
            newest = s.scalar(select(func.max(OrderRow.bar_time)).where(OrderRow.broker == name))
            if newest is not None:
                newest = _aware(newest)
                late = list(s.scalars(select(OrderRow).where(
                    OrderRow.broker == name, OrderRow.status.in_(LATE),
                    OrderRow.bar_time >= newest - LATE_FILL_WINDOW,
                )))  # fmt: skip
                held = fill_sums(s, self.broker.name, [o.client_order_id for o in late])
                cands += [
                    o for o in late
                    if o.filled_qty > held.get(o.client_order_id, 0.0) * (1 + 1e-9) + 1e-12
                    or (o.status != "filled" and _aware(o.bar_time) >= newest - CANCEL_FILL_WINDOW)
                ]  # fmt: skip
            for o in cands:
                got = self.broker.get_order(o.client_order_id)
                updated += 1
                if got is None:
                    if o.status == "new":  # recorded, never reached the venue (crash before the send)
                        o.status = UNSENT
                    continue
                o.status = str(got.status)
                o.broker_order_id = got.broker_order_id or o.broker_order_id  # the venue's id
                rows = self._sync_fills(s, o, got)
                new_rows.extend(rows)
                if rows:  # the risk rules run on bar time (the venue's clock may be another)
                    latest = max(latest or _aware(o.bar_time), _aware(o.bar_time))
            s.flush()
            mismatches = self._check_positions(s)
            if new_rows and latest is not None:  # the risk state learns them in the fills' transaction
                self._risk_fills(new_rows, np.array([int(latest.timestamp() * 10**9)], np.int64))
                self._save_risk(s)
        self.store.audit("trader", "reconcile", name, orders=updated, fills=len(new_rows),
                         position_mismatches=mismatches)  # fmt: skip
        return updated

    def _cancel_venue_orders(self) -> list[str]:
        """Cancel every order live at the venue on start; audited (ids unknown to the store named)."""
        try:
            ids = list(self.broker.cancel_all())
        except (BrokerError, OSError) as exc:
            log.error("%s: canceling the venue's open orders on start failed: %s", self.broker.name, exc)
            self.store.audit("trader", "cancel_open_failed", self.broker.name, reason=str(exc))
            return []
        if ids:
            parents = {i: re.sub(r"-(m\d+|t)$", "", i) for i in ids}  # a maker-first leg names its parent
            with self.store.session() as s:
                q = select(OrderRow.client_order_id).where(
                    OrderRow.client_order_id.in_(set(parents.values()))
                )
                known = set(s.scalars(q))
            foreign = [i for i in ids if parents[i] not in known]
            log.warning("%s: canceled %d order(s) live at the venue on start (%d unknown to the store: %s)",
                        self.broker.name, len(ids), len(foreign), foreign)  # fmt: skip
            self.store.audit("trader", "cancel_open_on_start", self.broker.name, orders=ids, unknown=foreign)
        return ids

    def _sync_fills(self, s: Any, o: OrderRow, got: VenueOrder) -> list[dict[str, Any]]:
        """Insert the order's executions not stored yet (and move positions); the order row keeps what the
        venue reports (filled quantity, average price, fees), at least what its fills add up to."""
        stored = stored_fills(s, self.broker.name, [o.client_order_id])[o.client_order_id]
        rows = new_fills(self.broker, got, client_order_id=o.client_order_id, asset=o.asset, side=o.side,
                         stored=stored, default_ts=_aware(o.bar_time))  # fmt: skip
        if rows:
            s.execute(insert(FillRow), rows)
            self._move_positions(s, rows)
        qty, px, fee = venue_totals(got, *order_totals(stored, rows))
        o.filled_qty, o.fees = qty, fee
        o.avg_fill_price = px if qty > 0 else o.avg_fill_price
        return rows

    def _move_positions(self, s: Any, rows: list[dict[str, Any]]) -> None:
        """The positions table follows the fills, in the fills' transaction (average entry of the buys).
        Rows are keyed by the account (the broker's name for a venue; its own id for an in-process sim)."""
        name = self.lease.account
        assets = {r["asset"] for r in rows}
        known = {p.asset: p for p in s.scalars(
            select(PositionRow).where(PositionRow.broker == name, PositionRow.asset.in_(assets))
        )}  # fmt: skip
        for r in rows:
            p = known.get(r["asset"])
            qty0, px0 = (p.qty, p.avg_entry_price) if p is not None else (0.0, 0.0)
            q = float(r["qty"]) * (1.0 if r["side"] == "buy" else -1.0)
            if q > 0 and self.broker.fee_in_kind and float(r["price"]) > 0:
                q -= float(r["fee"]) / float(r["price"])  # the venue kept the buy's fee in the asset (Alpaca)
            qty1 = qty0 + q
            if abs(qty1) < 1e-12:
                qty1, px1 = 0.0, 0.0
            elif q > 0 and qty0 >= 0:
                px1 = (qty0 * px0 + q * float(r["price"])) / qty1
            else:
                px1 = px0
            if p is None:
                known[r["asset"]] = p = PositionRow(
                    broker=name, asset=r["asset"], qty=qty1, avg_entry_price=px1
                )
                s.add(p)
            else:
                p.qty, p.avg_entry_price = qty1, px1

    def _check_positions(self, s: Any) -> int:
        """Stored positions against the venue's; each difference audited, the venue's quantity kept."""
        name = self.lease.account
        venue = {a: float(q) for a, q in self.broker.positions().items()}
        stored = {p.asset: p for p in s.scalars(select(PositionRow).where(PositionRow.broker == name))}
        mismatches = 0
        for asset in sorted(set(venue) | set(stored)):
            want, p = venue.get(asset, 0.0), stored.get(asset)
            have = p.qty if p is not None else 0.0
            if abs(want - have) <= 1e-9 * max(1.0, abs(want)):
                continue
            mismatches += 1
            log.warning("position %s %s: store %.12g, venue %.12g; the venue's kept", name, asset, have, want)
            s.add(AuditLog(actor="trader", action="position_mismatch", subject=f"{name}:{asset}",
                           evidence={"store": have, "venue": want}))  # fmt: skip
            if p is None:
                s.add(PositionRow(broker=name, asset=asset, qty=want, avg_entry_price=0.0))
            else:
                p.qty = want
        return mismatches

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
        self._hold()  # the lease's heartbeat; LeaseLost if another trader took the account over
        wall = time.monotonic()
        if wall - self._last_beat >= self.heartbeat_s:
            self.store.beat("trader", bar=int(bar_time_ns))
            self._last_beat = wall
        res = TickResult(bar_time_ns)
        stop, flatten = self.stop_flags()
        if stop:
            res.skipped = "emergency stop"
            if self.flatten_on_stop or flatten:
                self._flatten(res, close, bar_time_ns)
            return res
        reason = bad_bar_reason(close, bar_time_ns, self.prev_time, self.bar_ns, now_ns, self.max_age_s)
        self.prev_time = bar_time_ns
        if reason is not None:
            log.warning("bar %s skipped: %s", _dt(bar_time_ns), reason)
            self.store.audit("trader", "skip_bar", self.run_id, reason=reason, bar=int(bar_time_ns))
            res.skipped = reason
            return res
        ctx = self._context(close, bar_time_ns)
        if not is_decision_bar(bar_time_ns, self.bar_ns, self.env.decision_every):
            # Between decisions (as in training, env/actions.decision_bars): the model is not asked and
            # nothing is wanted; only the limit and risk rules may still trade.
            res.skipped = f"hold: not a decision bar (decision_every={self.env.decision_every})"
            qty = apply_rules(self.rules, np.zeros_like(ctx.holdings), ctx)
            if np.any(qty != 0.0):
                res.orders = self._place(qty[0], ctx, bar_time_ns, close, res)
            return res
        action = np.atleast_2d(np.asarray(self.decide(t), dtype=np.float64))
        bad = self._non_finite("decision", action)
        if bad is None:
            wanted = desired_orders(action, self.env, ctx.equity, ctx.holdings, ctx.prices)
            if self.conviction is not None:
                wanted = self.conviction(wanted, t)
            qty = apply_rules(self.rules, wanted, ctx)
            bad = self._non_finite("order quantity", qty)
        if bad is not None:  # refused: never a maximum order out of an inf, never a NaN order
            log.error("bar %s refused: %s", _dt(bar_time_ns), bad)
            self.store.audit("trader", "refuse_decision", self.run_id, reason=bad, bar=int(bar_time_ns))
            self._tell(f"bar {_dt(bar_time_ns)} refused: {bad}")
            res.skipped = bad
            return res
        res.orders = self._place(qty[0], ctx, bar_time_ns, close, res)
        return res

    def _tell(self, error: str) -> None:
        if self.notifier is not None:
            from cappuccino_core.notify.events import trader_error

            self.notifier.notify(trader_error(f"trader:{self.broker.name}", error))

    def _non_finite(self, what: str, x: np.ndarray) -> str | None:
        """Why ``x`` is refused, or None when every value is finite (:func:`non_finite`)."""
        return non_finite(what, x, self.tickers, self.model)

    def _flatten(self, res: TickResult, close: np.ndarray, bar_time_ns: int) -> None:
        """Sell every position, within the order rules: each sell rounded down to the lot size and dropped
        under the minimum order value; what cannot be sold (dust) is reported, not sent."""
        ctx = self._context(close, bar_time_ns)
        want = -np.maximum(ctx.holdings, 0.0)
        qty = apply_rules(self.flatten_rules, want, ctx)
        left = ctx.holdings[0] + qty[0]
        res.dust = {self.assets[j]: float(left[j]) for j in np.flatnonzero(left > 0)}
        if res.dust:
            log.warning("flatten leaves dust under the lot/minimum order size: %s", res.dust)
            self.store.audit("trader", "flatten_dust", self.broker.name, dust=res.dust, bar=int(bar_time_ns))
        res.orders = self._place(qty[0], ctx, bar_time_ns, close, res)

    def _context(self, close: np.ndarray, bar_time_ns: int) -> OrderContext:
        pos = self.broker.positions()
        hold = np.array([[pos.get(a, 0.0) for a in self.assets]])
        return OrderContext(
            prices=np.asarray(close, dtype=np.float64)[None, :], cash=np.array([self.broker.cash()]),
            holdings=hold, slippage=np.full_like(hold, self.slippage), fee_rate=self.broker.fee_rate,
            lot=self.lot, min_order_value=self.env.min_order_value, time=np.array([bar_time_ns], np.int64),
        )  # fmt: skip

    def _place(
        self, qty: np.ndarray, ctx: OrderContext, bar_time_ns: int, close: np.ndarray,
        res: TickResult | None = None,
    ) -> list[str]:  # fmt: skip
        """Record every order of the bar (one transaction), submit them (sells first: their proceeds pay
        for the buys), then record statuses, fills and equity (one transaction). A broker error stops the
        bar's sends: the orders not answered stay ``new`` for reconcile, and ``res.error`` says why."""
        todo: list[tuple[int, str, str]] = []
        idx = [int(j) for j in np.argsort(qty) if qty[j] != 0]
        if idx:
            legs = [(j, self.assets[j], "buy" if qty[j] > 0 else "sell") for j in idx]
            ids = [client_order_id(self.run_id, bar_time_ns, a, sd) for _, a, sd in legs]
            bar_dt = _dt(bar_time_ns)
            with self.store.engine.begin() as c:  # the records exist before the broker hears of the orders
                known = select(OrderRow.client_order_id).where(OrderRow.client_order_id.in_(ids))
                seen = set(c.execute(known).scalars())
                # an id seen before was placed before a restart: reconcile owns it, never a second order
                todo = [(j, coid, sd) for (j, _, sd), coid in zip(legs, ids, strict=True) if coid not in seen]
                if todo:
                    c.execute(insert(OrderRow), [
                        {"client_order_id": coid, "broker": self.broker.name, "model_run_id": self.run_id,
                         "bar_time": bar_dt, "asset": self.assets[j], "side": sd, "qty": float(abs(qty[j])),
                         "order_type": "market", "status": "new", "filled_qty": 0.0, "fees": 0.0}
                        for j, coid, sd in todo
                    ])  # fmt: skip
        results = []
        for j, coid, sd in todo:
            try:
                got = self.broker.submit(coid, self.assets[j], sd, float(abs(qty[j])), float(close[j]))
                results.append(got)
            except (BrokerError, OSError) as exc:
                msg = f"{self.broker.name}: {sd} {self.assets[j]} ({coid}) failed: {exc}"
                log.error("%s; %d order(s) of this bar left for reconcile", msg, len(todo) - len(results))
                self.store.audit("trader", "submit_failed", coid, reason=str(exc), bar=int(bar_time_ns))
                self._tell(msg)
                if res is not None:
                    res.error = msg
                break
        todo = todo[: len(results)]
        # The bar's equity mark: the account at the bar's close before this bar's orders (no extra round
        # trip to the broker on the tick's critical path).
        snapshot = {"broker": self.broker.name, "model_run_id": self.run_id, "ts": _dt(bar_time_ns),
                    "equity": float(ctx.equity[0]), "cash": float(ctx.cash[0])}  # fmt: skip
        self._equity.append(snapshot)
        if not todo:
            if len(self._equity) >= self.equity_flush_bars:
                self.flush()
            return []
        bar_dt = _dt(bar_time_ns)
        stored: dict[str, list[StoredFill]] = {c: [] for _, c, _ in todo}  # new ids: nothing stored yet
        updates, fills = [], []
        for (j, coid, side), got in zip(todo, results, strict=True):
            rows = new_fills(self.broker, got, client_order_id=coid, asset=self.assets[j], side=side,
                             stored=stored[coid], default_ts=bar_dt)  # fmt: skip
            q, px, fee = venue_totals(got, *order_totals(stored[coid], rows))
            updates.append({"k": coid, "status": str(got.status), "boid": got.broker_order_id,
                            "fq": q, "px": px if q > 0 else got.avg_price, "fee": fee})  # fmt: skip
            fills.extend(rows)
        if fills:
            self._risk_fills(fills, ctx.time)
        with self.store.session() as s:  # fills, positions, risk state and equity: one transaction
            c = s.connection()
            c.execute(_UPDATE_ORDER, updates)
            if fills:
                c.execute(insert(FillRow), fills)
                self._move_positions(s, fills)
            c.execute(insert(EquitySnapshot), self._equity)
            self._save_risk(s)
        self._equity = []
        return [c for _, c, _ in todo]

    def _risk_fills(self, rows: list[dict[str, Any]], when: np.ndarray) -> None:
        """The risk manager learns the new executions (quantity, VWAP and fees per asset) at bar time
        ``when`` (its clock: cooldowns and day counters run on bar time, not the venue's clock)."""
        a = len(self.assets)
        filled, value, fee = np.zeros((1, a)), np.zeros((1, a)), np.zeros((1, a))
        index = {x: j for j, x in enumerate(self.assets)}
        for r in rows:
            j = index.get(r["asset"])
            if j is None:
                continue
            q = float(r["qty"]) * (1.0 if r["side"] == "buy" else -1.0)
            filled[0, j] += q
            value[0, j] += abs(q) * float(r["price"])
            fee[0, j] += float(r["fee"])
        gross = np.abs(filled)
        price = np.divide(value, gross, out=np.zeros_like(value), where=gross > 0)
        if filled.any() and self.risk.state is not None:  # before the first bar, observe() marks them
            self.risk.on_fill(filled, price, fee, when)
