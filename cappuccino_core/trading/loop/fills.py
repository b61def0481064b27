"""Fill rows from a venue's answer: one row per execution, keyed by the venue's trade id.

The state store's ``fills`` table is unique on ``(broker, trade_id)``. A row is one execution with that
execution's own quantity, price and fee, so a partial fill, a restart, and the rest of the fill (or a fill
that arrives after a cancel) add rows and never rewrite one:

- a broker that reports executions with the venue's trade ids (``execution_ids = True``: ``sim``,
  ``coinbase``) gives them through ``fills(client_order_id)``; the ones not stored yet become rows;
- a broker that only reports an order's cumulative filled quantity and average price (Alpaca's order
  object, a test double) gives one row per increase of the cumulative quantity, keyed
  ``"<venue order id>@<cumulative qty>"`` and valued at the difference between the cumulative notional/fee
  and what is stored: deterministic, so a restart that sees the same level adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cappuccino_core.state.schema import FillRow
from cappuccino_core.trading.brokers.base import Broker, Order

_EPS = 1e-12
_ID_CHARS = 64  # fills.trade_id is String(64)


@dataclass(frozen=True)
class StoredFill:
    """A fill row already in the state store (the fields the next sync compares against)."""

    trade_id: str
    qty: float
    price: float
    fee: float


def fill_key(raw: str) -> str:
    """A trade id that fits the column: as is when short enough, else a stable digest of it."""
    if len(raw) <= _ID_CHARS:
        return raw
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()[: _ID_CHARS - 2]


def new_fills(
    broker: Broker,
    got: Order,
    *,
    client_order_id: str,
    asset: str,
    side: str,
    stored: Sequence[StoredFill],
    default_ts: datetime,
) -> list[dict[str, Any]]:
    """Rows (``fills`` table columns) for executions of ``client_order_id`` not in ``stored`` yet."""
    name = str(broker.name)
    known = {f.trade_id for f in stored}
    if broker.execution_ids:
        rows = []
        for f in broker.fills(client_order_id):
            key = fill_key(str(f.trade_id))
            if key in known or float(f.qty) <= 0:
                continue
            known.add(key)
            rows.append(
                {"broker": name, "trade_id": key, "client_order_id": client_order_id, "asset": asset,
                 "side": side, "qty": float(f.qty), "price": float(f.price), "fee": float(f.fee),
                 "liquidity": str(f.liquidity or "TAKER"), "ts": f.time or default_ts}
            )  # fmt: skip
        return rows
    cum = float(got.filled_qty or 0.0)
    have = sum(f.qty for f in stored)
    if cum - have <= _EPS * max(1.0, cum) or not got.avg_price:
        return []
    qty = cum - have
    value = cum * float(got.avg_price) - sum(f.qty * f.price for f in stored)
    fee = max(0.0, float(got.fee or 0.0) - sum(f.fee for f in stored))
    key = fill_key(f"{got.broker_order_id or client_order_id}@{cum!r}")
    if key in known:
        return []
    return [
        {"broker": name, "trade_id": key, "client_order_id": client_order_id, "asset": asset, "side": side,
         "qty": qty, "price": value / qty, "fee": fee, "liquidity": str(got.liquidity or "TAKER"),
         "ts": got.time or default_ts}
    ]  # fmt: skip


def order_totals(stored: Sequence[StoredFill], rows: Sequence[dict[str, Any]]) -> tuple[float, float, float]:
    """(filled qty, average price, fees) of an order over its stored and new fill rows."""
    qty = sum(f.qty for f in stored) + sum(float(r["qty"]) for r in rows)
    value = sum(f.qty * f.price for f in stored) + sum(float(r["qty"]) * float(r["price"]) for r in rows)
    fee = sum(f.fee for f in stored) + sum(float(r["fee"]) for r in rows)
    return qty, (value / qty if qty > 0 else 0.0), fee


def fill_sums(s: Session, broker: str, coids: list[str]) -> dict[str, float]:
    """Stored filled quantity per client order id of ``broker``'s orders (ids with no fill are absent)."""
    out: dict[str, float] = {}
    for i in range(0, len(coids), 500):
        q = (
            select(FillRow.client_order_id, func.sum(FillRow.qty))
            .where(FillRow.broker == broker, FillRow.client_order_id.in_(coids[i : i + 500]))
            .group_by(FillRow.client_order_id)
        )
        out.update({str(c): float(v or 0.0) for c, v in s.execute(q)})
    return out


def stored_fills(s: Session, broker: str, coids: list[str]) -> dict[str, list[StoredFill]]:
    """The fill rows already stored per client order id of ``broker``'s orders (every id a key)."""
    out: dict[str, list[StoredFill]] = {c: [] for c in coids}
    if coids:
        cols = (FillRow.client_order_id, FillRow.trade_id, FillRow.qty, FillRow.price, FillRow.fee)
        q = select(*cols).where(FillRow.broker == broker, FillRow.client_order_id.in_(coids))
        for coid, tid, qty, px, fee in s.execute(q):
            out[coid].append(StoredFill(tid, qty, px, fee))
    return out
