"""StateStore: transactions over the state database; the only way stages share state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from cappuccino_core.state.schema import AuditLog, Base, Flag, GateVerdict, Heartbeat, PipelineStage

EMERGENCY_STOP = "emergency_stop"


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer across processes
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


class StateStore:
    """The operational state store (SQLite or PostgreSQL): audit log, flags, heartbeats, pipeline stages,
    gate verdicts, orders, fills, positions, equity, leases and risk state; tables are created on open."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            _sqlite_pragmas(self.engine)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error (nothing half-written)."""
        with self._sessions() as s, s.begin():
            yield s

    # --- audit log -------------------------------------------------------------------------------
    def audit(self, actor: str, action: str, subject: str, reason: str = "", **evidence: Any) -> None:
        """Append an audit entry; ``evidence`` is stored as JSON."""
        with self.session() as s:
            s.add(AuditLog(actor=actor, action=action, subject=subject, reason=reason, evidence=evidence))

    def audit_log(self, subject: str | None = None, limit: int = 100) -> list[AuditLog]:
        """The newest ``limit`` audit entries (of ``subject`` when given), newest first."""
        with self.session() as s:
            q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
            if subject is not None:
                q = q.where(AuditLog.subject == subject)
            return list(s.scalars(q))

    # --- flags: emergency stop -------------------------------------------------------------------
    def set_flag(self, name: str, value: bool, set_by: str, reason: str = "") -> None:
        """Set or clear flag ``name``, recording who and why."""
        with self.session() as s:
            s.merge(Flag(name=name, value=value, set_by=set_by, reason=reason, ts=datetime.now(UTC)))
            s.add(AuditLog(actor=set_by, action=f"flag:{name}={value}", subject=name, reason=reason))

    def flag(self, name: str) -> bool:
        """The flag's value (False when never set)."""
        with self.session() as s:
            f = s.get(Flag, name)
            return bool(f and f.value)

    def emergency_stopped(self) -> bool:
        """True while the emergency stop is set."""
        return self.flag(EMERGENCY_STOP)

    # --- heartbeats ------------------------------------------------------------------------------
    def beat(self, component: str, **detail: Any) -> None:
        """Record a heartbeat of ``component`` now."""
        with self.session() as s:
            s.merge(Heartbeat(component=component, ts=datetime.now(UTC), detail=detail))

    def alive(self, component: str, within: timedelta, now: datetime | None = None) -> bool:
        """True if ``component`` beat within ``within`` of ``now``."""
        now = now or datetime.now(UTC)
        with self.session() as s:
            hb = s.get(Heartbeat, component)
            if hb is None:
                return False
            ts = hb.ts if hb.ts.tzinfo else hb.ts.replace(tzinfo=UTC)
            return now - ts <= within

    # --- pipeline stages and gate verdicts -------------------------------------------------------
    def record_stage(self, stage: str, status: str, **detail: Any) -> None:
        """Record a pipeline stage's status."""
        with self.session() as s:
            s.add(PipelineStage(stage=stage, status=status, detail=detail))

    def record_verdict(
        self,
        run_id: str,
        gate: str,
        passed: bool,
        inputs: dict[str, Any],
        figures: dict[str, Any],
        failures: dict[str, Any],
    ) -> None:
        """Record a gate's verdict on ``run_id``."""
        with self.session() as s:
            s.add(
                GateVerdict(
                    run_id=run_id, gate=gate, passed=passed, inputs=inputs, figures=figures, failures=failures
                )
            )

    def verdicts(self, run_id: str) -> list[GateVerdict]:
        """Every stored gate verdict on ``run_id``."""
        with self.session() as s:
            return list(s.scalars(select(GateVerdict).where(GateVerdict.run_id == run_id)))
