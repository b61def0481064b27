"""Tables of the state store: pipeline stages, gate verdicts, arena standings, orders, fills, positions,
equity, heartbeats, account leases, risk state, flags (emergency stop) and the audit log. Times are UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Now, timezone-aware UTC (column default)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the state store's tables (``dict[str, Any]`` columns are JSON)."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class AuditLog(Base):
    """Every role transition and operator action: who or what, when, why, the evidence."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class GateVerdict(Base):
    """Row of ``gate_verdicts``: one gate's verdict on a model run, with its evidence."""

    __tablename__ = "gate_verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    gate: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PipelineStage(Base):
    """Row of ``pipeline_stages``: a pipeline stage's status change."""

    __tablename__ = "pipeline_stages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ArenaStanding(Base):
    """Row of ``arena_standings``: a model's arena record (role, capital fraction, results)."""

    __tablename__ = "arena_standings"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    consecutive_wins: Mapped[int] = mapped_column(Integer, default=0)
    matches: Mapped[int] = mapped_column(Integer, default=0)
    eliminated: Mapped[bool] = mapped_column(Boolean, default=False)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class OrderRow(Base):
    """One order, keyed by its deterministic client order id (a retry can never create a second one)."""

    __tablename__ = "orders"
    client_order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    broker: Mapped[str] = mapped_column(String(32), index=True)
    broker_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    model_run_id: Mapped[str] = mapped_column(String(64), index=True)
    bar_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    asset: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[float] = mapped_column(Float)
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    filled_qty: Mapped[float] = mapped_column(Float, default=0.0)
    avg_fill_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class FillRow(Base):
    """Row of ``fills``: one execution, unique per (broker, venue trade id)."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("broker", "trade_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broker: Mapped[str] = mapped_column(String(32))
    trade_id: Mapped[str] = mapped_column(String(64))
    client_order_id: Mapped[str] = mapped_column(String(64), index=True)
    asset: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    fee: Mapped[float] = mapped_column(Float)
    liquidity: Mapped[str] = mapped_column(String(8))  # MAKER | TAKER
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class PositionRow(Base):
    """Row of ``positions``: an account's holding of one asset as its fills add up."""

    __tablename__ = "positions"
    broker: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset: Mapped[str] = mapped_column(String(32), primary_key=True)
    qty: Mapped[float] = mapped_column(Float)
    avg_entry_price: Mapped[float] = mapped_column(Float)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class EquitySnapshot(Base):
    """Row of ``equity``: an account's equity and cash at a bar's close."""

    __tablename__ = "equity"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broker: Mapped[str] = mapped_column(String(32), index=True)
    model_run_id: Mapped[str] = mapped_column(String(64), index=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    equity: Mapped[float] = mapped_column(Float)
    cash: Mapped[float] = mapped_column(Float)


class Heartbeat(Base):
    """Row of ``heartbeats``: a component's last sign of life."""

    __tablename__ = "heartbeats"
    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LeaseRow(Base):
    """One trader per account (:mod:`cappuccino_core.state.lease`): who holds it, until when (epoch s)."""

    __tablename__ = "leases"
    account: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


class RiskState(Base):
    """The risk manager's state per account (:mod:`cappuccino_core.trading.risk.persist`), written in the
    transaction of the fills that change it and with every equity flush; restored when a trader starts."""

    __tablename__ = "risk_state"
    account: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Flag(Base):
    """Named switches; `emergency_stop` wins over everything."""

    __tablename__ = "flags"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bool] = mapped_column(Boolean)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    set_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")


class NotificationRow(Base):
    """Every notification the notifier handled (:mod:`cappuccino_core.notify`): sent, failed (delivery
    error, logged), deduplicated or rate_limited (not sent), disabled or no_targets. The target URLs are
    secrets and never stored; ``targets`` lists the target names that were tried."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(256), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")


class MonitorCheck(Base):
    """One degradation-monitor verdict for one model on one venue (:mod:`cappuccino_core.monitor`):
    the live/paper figures beside its backtest's, the findings, and what was done (alert, demote)."""

    __tablename__ = "monitor_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    venue: Mapped[str] = mapped_column(String(32))  # paper | live
    status: Mapped[str] = mapped_column(String(16), index=True)  # ok | degraded | insufficient | no_backtest
    live: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    backtest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    findings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    action: Mapped[str] = mapped_column(String(32), default="")
