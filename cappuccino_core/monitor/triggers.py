"""Retrain triggers: degradation of the production model, account growth since the model's training capital,
and data drift in the features. (The monthly schedule is the ``retrain/monthly`` deployment's cron.)

:func:`evaluate_triggers` turns the evidence into :class:`Trigger` s (fired or not, with the reason and the
numbers); :func:`fire_retrain` starts ONE retrain for all fired triggers through a launcher (the flow layer
passes Prefect's ``run_deployment``; no subprocess), at most once per ``cooldown_hours``: the newest
``retrain:started`` audit row decides, read and written under a lease (``monitor:retrain-trigger``) so two
monitor runs cannot both start one. Every fired trigger is an audit-log row with its evidence
(``retrain:trigger``), then ``retrain:started`` (with the flow run id), ``retrain:cooldown`` or
``retrain:busy`` (another run was deciding).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cappuccino_core.config.monitor import RetrainTriggerConfig
from cappuccino_core.state.lease import Lease, LeaseHeld
from cappuccino_core.state.schema import AuditLog
from cappuccino_core.state.store import StateStore

Launcher = Callable[[str, dict[str, Any]], str]  # (deployment name, parameters) -> flow run id
ACTOR = "monitor"
LEASE = "monitor:retrain-trigger"  # a lease row (state.lease) held while deciding, not a trading account


@dataclass(frozen=True)
class Trigger:
    """A retrain trigger's outcome: its name (degradation, account_growth, data_drift), whether it fired,
    why, and the evidence."""

    name: str  # degradation | account_growth | data_drift
    fired: bool
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def degradation_trigger(
    cfg: RetrainTriggerConfig, run_id: str | None, findings: Mapping[str, str]
) -> Trigger:
    """Fires when the production model ``run_id`` has degradation findings."""
    if not cfg.on_degradation or run_id is None or not findings:
        return Trigger("degradation", False, "production not degraded")
    why = "; ".join(f"{k}: {v}" for k, v in sorted(findings.items()))
    return Trigger(
        "degradation", True, f"production {run_id} degraded: {why}", {"run_id": run_id, **findings}
    )


def growth_trigger(
    cfg: RetrainTriggerConfig, training_capital: float | None, equity: float | None
) -> Trigger:
    """Fires when equity / training capital - 1 exceeds ``account_growth``."""
    if not cfg.on_account_growth or not training_capital or equity is None or training_capital <= 0:
        return Trigger("account_growth", False, "no account figures")
    growth = equity / training_capital - 1.0
    ev = {
        "training_capital": training_capital,
        "equity": equity,
        "growth": growth,
        "limit": cfg.account_growth,
    }
    if growth - cfg.account_growth > 1e-12:  # exactly at the limit is not over it (float rounding)
        why = f"account {equity:,.2f} is {growth:.1%} above the training capital {training_capital:,.2f}"
        return Trigger("account_growth", True, f"{why} (limit {cfg.account_growth:.0%})", ev)
    return Trigger("account_growth", False, f"growth {growth:.1%} <= {cfg.account_growth:.0%}", ev)


def drift_trigger(cfg: RetrainTriggerConfig, stats: Mapping[str, float] | None) -> Trigger:
    """Fires when at least ``drift_min_features`` features drift above ``drift_threshold``."""
    if not cfg.on_data_drift or not stats:
        return Trigger("data_drift", False, "no drift statistics")
    drifted = {k: round(v, 4) for k, v in stats.items() if v > cfg.drift_threshold}
    top = dict(sorted(stats.items(), key=lambda kv: -kv[1])[:10])
    ev = {"metric": cfg.drift_metric, "threshold": cfg.drift_threshold, "drifted": drifted, "top": top}
    if len(drifted) >= cfg.drift_min_features:
        names = ", ".join(list(drifted)[:5])
        why = f"{len(drifted)} feature(s) drifted ({cfg.drift_metric} > {cfg.drift_threshold:g}): {names}"
        return Trigger("data_drift", True, why, ev)
    return Trigger("data_drift", False, f"{len(drifted)} feature(s) drifted", ev)


def last_started(store: StateStore) -> datetime | None:
    """When the newest triggered retrain started (its ``retrain:started`` audit row)."""
    with store.session() as s:
        q = select(AuditLog).where(AuditLog.action == "retrain:started").order_by(AuditLog.id.desc()).limit(1)
        row = s.scalars(q).first()
    if row is None:
        return None
    return row.ts if row.ts.tzinfo else row.ts.replace(tzinfo=UTC)


def fire_retrain(
    store: StateStore,
    cfg: RetrainTriggerConfig,
    triggers: list[Trigger],
    launcher: Launcher | None,
    now: datetime | None = None,
) -> str | None:
    """Record every fired trigger; start one retrain unless one started within the cooldown. Returns the
    flow run id (None when nothing started)."""
    fired = [t for t in triggers if t.fired]
    if not fired:
        return None
    now = now or datetime.now(UTC)
    names = ",".join(t.name for t in fired)
    for t in fired:
        store.audit(ACTOR, "retrain:trigger", t.name, t.reason, **t.evidence)
    lease = Lease(store, LEASE, ttl_s=300.0)
    try:
        lease.acquire()  # one decider at a time: two monitor runs cannot both start a retrain
    except LeaseHeld as exc:
        store.audit(ACTOR, "retrain:busy", names, str(exc))
        return None
    try:
        return _launch_unless_cooling(store, cfg, fired, launcher, now)
    finally:
        lease.release()


def _launch_unless_cooling(
    store: StateStore,
    cfg: RetrainTriggerConfig,
    fired: list[Trigger],
    launcher: Launcher | None,
    now: datetime,
) -> str | None:
    names = ",".join(t.name for t in fired)
    prev = last_started(store)
    if prev is not None and now - prev < timedelta(hours=cfg.cooldown_hours):
        store.audit(ACTOR, "retrain:cooldown", names, f"a retrain started {prev:%Y-%m-%d %H:%M} UTC, within "
                    f"the {cfg.cooldown_hours:g} h cooldown", last_started=prev.isoformat())  # fmt: skip
        return None
    if launcher is None:
        store.audit(ACTOR, "retrain:not_started", names, "no launcher (not inside the monitor flow)")
        return None
    run = launcher(cfg.deployment, dict(cfg.parameters))
    reasons = [t.reason for t in fired]
    store.audit(ACTOR, "retrain:started", names, "; ".join(reasons), deployment=cfg.deployment, flow_run=run)
    return run
