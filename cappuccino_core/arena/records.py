"""Paper/live performance of one model from the state store (equity snapshots and fills)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select

from cappuccino_core.state.schema import AuditLog, EquitySnapshot, FillRow, OrderRow
from cappuccino_core.state.store import StateStore


@dataclass(frozen=True)
class TradingRecord:
    """A model's paper record from the state store: equity snapshots in time order and its fill count."""

    run_id: str
    equity: np.ndarray  # equity snapshots in time order
    trades: int  # fills of the model's orders
    start: datetime | None
    end: datetime | None

    @property
    def days(self) -> float:
        """Days the record spans (0 without snapshots)."""
        if self.start is None or self.end is None:
            return 0.0
        return (self.end - self.start).total_seconds() / 86_400.0


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def trading_record(
    store: StateStore, run_id: str, since: datetime, until: datetime | None = None, broker: str | None = None
) -> TradingRecord:
    """The model's equity snapshots and fill count in [since, until] (optionally one broker's)."""
    with store.session() as s:
        q = select(EquitySnapshot).where(EquitySnapshot.model_run_id == run_id, EquitySnapshot.ts >= since)
        if until is not None:
            q = q.where(EquitySnapshot.ts <= until)
        if broker is not None:
            q = q.where(EquitySnapshot.broker == broker)
        rows = list(s.scalars(q.order_by(EquitySnapshot.ts)))
        fq = (
            select(func.count(FillRow.id))
            .join(OrderRow, OrderRow.client_order_id == FillRow.client_order_id)
            .where(OrderRow.model_run_id == run_id, FillRow.ts >= since)
        )
        if until is not None:
            fq = fq.where(FillRow.ts <= until)
        if broker is not None:
            fq = fq.where(FillRow.broker == broker)
        trades = int(s.scalar(fq) or 0)
    eq = np.asarray([r.equity for r in rows], dtype=np.float64)
    return TradingRecord(
        run_id, eq, trades, _utc(rows[0].ts) if rows else None, _utc(rows[-1].ts) if rows else None
    )


def last_audit(store: StateStore, run_id: str, actions: tuple[str, ...]) -> AuditLog | None:
    """The newest audit row about ``run_id`` whose action is one of ``actions``."""
    with store.session() as s:
        q = (
            select(AuditLog)
            .where(AuditLog.subject == run_id, AuditLog.action.in_(actions))
            .order_by(AuditLog.id.desc())
            .limit(1)
        )
        row = s.scalars(q).first()
    if row is not None:
        row.ts = _utc(row.ts)
    return row
