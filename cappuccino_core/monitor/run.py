"""One pass of the monitor: every live and paper model against its backtest, heartbeats, data freshness,
retrain triggers and the daily summary. What the ``monitor`` flow runs on its schedule.

For each watched model (standings ``production`` and ``sandbox``, and the holders of the production and
live aliases) and each broker it trades on (``live`` when the broker is in ``monitor.live_brokers``, else
``paper``), :func:`~.degradation.assess` compares the record with the backtest; a model on both venues is
checked for paper-vs-live drift. Each verdict is a ``monitor_checks`` row; a degraded model is a
``degradation`` notification, and a finding listed in ``monitor.demote_on`` demotes it through the referee:

* on the live venue: the live role is withdrawn (capital 0; the model stays production and trades paper);
* a sandbox model: eliminated;
* the production model: its standing becomes ``demoted`` (the registry keeps exactly one production until
  a retrain's model replaces it through the arena) and it loses the live role if it held it.

The emergency stop halts the pass before anything is decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cappuccino_core.arena.referee import (
    DEMOTED,
    ELIMINATED,
    LIVE,
    PRODUCTION,
    RETIRED,
    SANDBOX,
    Referee,
    Transition,
    standing,
    standings,
)
from cappuccino_core.config.monitor import MonitorConfig, RetrainTriggerConfig
from cappuccino_core.config.notify import NotifyConfig
from cappuccino_core.monitor.degradation import Assessment, assess, backtest_figures, curves, paper_live_drift
from cappuccino_core.monitor.triggers import (
    Launcher,
    Trigger,
    degradation_trigger,
    drift_trigger,
    fire_retrain,
    growth_trigger,
)
from cappuccino_core.notify import events
from cappuccino_core.notify.notifier import Notifier, NullNotifier
from cappuccino_core.state.schema import Heartbeat, MonitorCheck, NotificationRow


@dataclass
class MonitorReport:
    """What one pass found and did."""

    assessments: list[Assessment] = field(default_factory=list)
    demoted: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    retrain_run: str | None = None
    halted: bool = False

    def lines(self) -> list[str]:
        """One readable line per assessment, alert, demotion, fired trigger and started retrain (a single
        line when halted or nothing is watched)."""
        if self.halted:
            return ["monitor: halted (emergency stop)"]
        out = [f"{a.run_id} {a.venue} ({a.broker}): {a.status}" for a in self.assessments]
        out += [f"alert: {x}" for x in self.alerts]
        out += [f"demoted: {r}" for r in self.demoted]
        out += [f"trigger {t.name}: {t.reason}" for t in self.triggers if t.fired]
        if self.retrain_run:
            out.append(f"retrain started: flow run {self.retrain_run}")
        return out or ["monitor: nothing to watch"]


@dataclass(frozen=True)
class MonitorInputs:
    """Evidence gathered by the flow layer (data windows, drift statistics, account figures)."""

    timeframe: str = "1h"
    stale: Sequence[Any] = ()  # cappuccino_core.data.freshness.SymbolWindow with .stale set
    drift: Mapping[str, float] | None = None
    training_capital: float | None = None
    launcher: Launcher | None = None
    now: datetime | None = None


def watched(referee: Referee) -> dict[str, str]:
    """{run_id: role} of the models the monitor compares with their backtests."""
    out = {r.run_id: r.role for r in standings(referee.store) if r.role in (PRODUCTION, SANDBOX, DEMOTED)}
    if referee.roles is not None:
        for role in (PRODUCTION, LIVE):
            holder = referee.roles.holder(role)
            if holder is not None:
                out.setdefault(holder, PRODUCTION)
    return {k: v for k, v in out.items() if not k.startswith("strategy:")}


def _demote(referee: Referee, a: Assessment, role: str) -> bool:
    row = standing(referee.store, a.run_id)
    is_live = referee.roles is not None and referee.roles.holder(LIVE) == a.run_id
    why = f"degraded on {a.venue} ({a.broker}): " + "; ".join(a.findings.values())
    ev: dict[str, Any] = {"live": a.live, "backtest": a.backtest, "findings": a.findings, "venue": a.venue}
    if a.venue == "live":
        if not is_live:
            return False
        referee.apply(
            Transition(a.run_id, "demote", None, why, {**ev, "capital_fraction": 0.0}, clear_alias=LIVE)
        )
        return True
    current = row.role if row is not None else role
    if current in (ELIMINATED, DEMOTED, RETIRED):
        return False
    if current == SANDBOX:
        referee.apply(Transition(a.run_id, "demote", ELIMINATED, why, ev, clear_alias=SANDBOX))
    else:
        ev = {**ev, "capital_fraction": 0.0} if is_live else ev
        referee.apply(Transition(a.run_id, "demote", DEMOTED, why, ev, clear_alias=LIVE if is_live else None))
    return True


def _assess_model(referee: Referee, run_id: str, cfg: MonitorConfig, timeframe: str) -> list[Assessment]:
    bt = backtest_figures(referee.store, run_id)
    got = curves(referee.store, run_id, cfg.window_bars)
    out = [
        assess(run_id, "live" if c.broker in cfg.live_brokers else "paper", c, bt, cfg, timeframe)
        for c in got
    ]
    paper = next((c for c in got if c.broker not in cfg.live_brokers), None)
    live = next((c for c in got if c.broker in cfg.live_brokers), None)
    if paper is not None and live is not None:
        drift = paper_live_drift(paper, live, cfg)
        for a in out:
            if drift and a.venue == "live":
                a.findings["drift"], a.status = drift, "degraded"
    return out


def _record(referee: Referee, a: Assessment, role: str, action: str) -> None:
    with referee.store.session() as s:
        s.add(MonitorCheck(run_id=a.run_id, role=role, venue=a.venue, status=a.status, live=a.live,
                           backtest=a.backtest, findings=a.findings, action=action))  # fmt: skip


def _health(
    referee: Referee, notifier: Notifier, ncfg: NotifyConfig, inp: MonitorInputs, rep: MonitorReport
) -> None:
    now = inp.now or datetime.now(UTC)
    with referee.store.session() as s:
        hb = s.get(Heartbeat, "trader")
        last = None if hb is None else (hb.ts if hb.ts.tzinfo else hb.ts.replace(tzinfo=UTC))
    has_prod = referee.roles is not None and referee.roles.holder(PRODUCTION) is not None
    if has_prod and (last is None or now - last > timedelta(seconds=ncfg.heartbeat_max_age_s)):
        notifier.notify(events.missed_heartbeat("trader", last, ncfg.heartbeat_max_age_s))
        rep.alerts.append(f"missed heartbeat: trader (last {last})")
    for w in inp.stale:
        if w.stale:
            notifier.notify(events.stale_data(w.symbol, w.venue, w.last, w.age_h))
            rep.alerts.append(f"stale data: {w.describe()}")


def daily_summary_due(referee: Referee, ncfg: NotifyConfig, now: datetime) -> str | None:
    """The UTC day whose summary is due now (None when not yet due or already handled)."""
    day = f"{now:%Y-%m-%d}"
    if now.hour < ncfg.daily_summary_hour_utc:
        return None
    with referee.store.session() as s:
        q = select(NotificationRow.id).where(
            NotificationRow.event == "daily_summary", NotificationRow.key == day
        )
        return None if s.scalars(q).first() is not None else day


def _summary_lines(referee: Referee, rep: MonitorReport, now: datetime) -> list[str]:
    roles = {r: (referee.roles.holder(r) if referee.roles else None) for r in (PRODUCTION, LIVE)}
    stop = "SET" if referee.store.emergency_stopped() else "off"
    lines = [f"emergency stop: {stop}", *(f"{r}: {h or '-'}" for r, h in roles.items())]
    for a in rep.assessments:
        sharpe = a.live.get("sharpe")
        ret = a.live.get("total_return")
        fig = (
            f"Sharpe {sharpe:.2f}, return {ret:+.2%}" if sharpe is not None and ret is not None else a.status
        )
        lines.append(f"{a.run_id} {a.venue}: {a.status} ({fig}; backtest Sharpe {a.backtest.get('sharpe')})")
    with referee.store.session() as s:
        since = now - timedelta(days=1)
        n = len(list(s.scalars(select(NotificationRow.id).where(NotificationRow.ts >= since))))
    lines.append(f"notifications in the last 24 h: {n}")
    return lines


def run_monitor(
    referee: Referee,
    cfg: MonitorConfig,
    retrain: RetrainTriggerConfig,
    ncfg: NotifyConfig,
    notifier: Notifier | None = None,
    inputs: MonitorInputs | None = None,
) -> MonitorReport:
    """One monitor pass (see the module docstring)."""
    notifier = notifier or NullNotifier()
    inp = inputs or MonitorInputs()
    now = inp.now or datetime.now(UTC)
    rep = MonitorReport()
    if referee.store.emergency_stopped():
        rep.halted = True
        return rep
    prod_findings: dict[str, str] = {}
    prod = referee.roles.holder(PRODUCTION) if referee.roles is not None else None
    for run_id, role in watched(referee).items():
        for a in _assess_model(referee, run_id, cfg, inp.timeframe):
            rep.assessments.append(a)
            action = ""
            if a.status == "degraded":
                notifier.notify(events.degradation(run_id, a.venue, a.findings))
                rep.alerts.append(f"degradation: {run_id} {a.venue}: {', '.join(sorted(a.findings))}")
                action = "alert"
                if set(a.findings) & set(cfg.demote_on) and not referee.dry_run and _demote(referee, a, role):
                    rep.demoted.append(f"{run_id} ({a.venue})")
                    action = "demote"
                if run_id == prod:
                    prod_findings.update({f"{a.venue}.{k}": v for k, v in a.findings.items()})
            _record(referee, a, role, action)
    _health(referee, notifier, ncfg, inp, rep)
    rep.triggers = [
        degradation_trigger(retrain, prod, prod_findings),
        growth_trigger(retrain, inp.training_capital, _latest_equity(referee, prod)),
        drift_trigger(retrain, inp.drift),
    ]
    if not referee.dry_run:
        rep.retrain_run = fire_retrain(referee.store, retrain, rep.triggers, inp.launcher, now)
        if rep.retrain_run is not None:
            fired = [t for t in rep.triggers if t.fired]
            names, why = ",".join(t.name for t in fired), "; ".join(t.reason for t in fired)
            notifier.notify(events.retrain_triggered(names, why, rep.retrain_run))
    day = daily_summary_due(referee, ncfg, now)
    if day is not None:
        notifier.notify(events.daily_summary(day, _summary_lines(referee, rep, now)))
    return rep


def _latest_equity(referee: Referee, run_id: str | None) -> float | None:
    if run_id is None:
        return None
    from cappuccino_core.state.schema import EquitySnapshot

    with referee.store.session() as s:
        q = (
            select(EquitySnapshot.equity)
            .where(EquitySnapshot.model_run_id == run_id)
            .order_by(EquitySnapshot.ts.desc())
            .limit(1)
        )
        v = s.scalars(q).first()
    return None if v is None else float(v)
