"""Sandbox: graduates of the hill paper-trade head-to-head with production; beating it replaces it.

Several models may sit in the sandbox at once. Each one, once it has paper-traded for ``sandbox_days``
(2 by default) since it entered (its ``arena:to_sandbox`` audit row), duels production on the SAME period:
both paper records (equity snapshots and fills from the state store) from its entry time to now, scored
with the arena rule (:func:`cappuccino_core.arena.match.decide`: risk-adjusted score, minimum trades).

* It wins (score above production's by more than ``sandbox_margin``): it becomes production; the previous
  production is retired, and if it was live the live role is withdrawn (live only follows production by a
  new green light).
* It loses: eliminated.
* No production yet: an eligible sandbox model becomes the first production.

Exactly one production at a time: production only ever moves from one model to another (the registry
refuses to clear it). The emergency stop halts the review; ``dry_run`` changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cappuccino_core.arena.match import Performance, decide, eligible, performance
from cappuccino_core.arena.overrides import auto_promotion_paused
from cappuccino_core.arena.records import TradingRecord, last_audit, trading_record
from cappuccino_core.arena.referee import (
    ELIMINATED,
    LIVE,
    PRODUCTION,
    RETIRED,
    SANDBOX,
    Referee,
    Transition,
    holders,
    production_holder,
    standing,
)
from cappuccino_core.config.arena import ArenaConfig


@dataclass
class SandboxReport:
    """What one sandbox review did: production after it, one decision line per sandbox model."""

    production: str | None
    decisions: list[str] = field(default_factory=list)
    halted: bool = False
    dry_run: bool = False
    transitions: list[Transition] = field(default_factory=list)


def _perf(rec: TradingRecord, timeframe: str, cfg: ArenaConfig) -> Performance | None:
    if rec.equity.size < 3:
        return None
    return performance(rec.run_id, rec.equity, rec.trades, 0.0, timeframe, cfg)


def entered_sandbox(referee: Referee, run_id: str) -> datetime | None:
    """When the model entered the sandbox (its ``arena:to_sandbox`` audit row, else its standing's update)."""
    row = last_audit(referee.store, run_id, ("arena:to_sandbox",))
    if row is not None:
        return row.ts
    st = standing(referee.store, run_id)
    return None if st is None else (st.updated if st.updated.tzinfo else st.updated.replace(tzinfo=UTC))


def review_sandbox(
    referee: Referee, cfg: ArenaConfig, timeframe: str = "1h", now: datetime | None = None
) -> SandboxReport:
    """Decide every sandbox model whose paper period is complete (see the module docstring)."""
    now = now or datetime.now(UTC)
    store = referee.store
    prod = production_holder(store, referee.roles)
    report = SandboxReport(production=prod, dry_run=referee.dry_run)
    if auto_promotion_paused(store):
        report.decisions.append("auto-promotion paused by an operator: sandbox decisions held")
        return report
    for run_id in holders(store, SANDBOX):
        if store.emergency_stopped():
            report.halted = True
            break
        since = entered_sandbox(referee, run_id)
        if since is None or now - since < timedelta(days=cfg.sandbox_days):
            report.decisions.append(f"{run_id}: paper period not complete (since {since})")
            continue
        mine = _perf(trading_record(store, run_id, since, now), timeframe, cfg)
        if mine is None:
            report.decisions.append(f"{run_id}: no paper record since {since}; waiting")
            continue
        if prod is None:
            if eligible(mine, cfg):
                referee.apply(
                    Transition(
                        run_id,
                        "to_production",
                        PRODUCTION,
                        "first production model",
                        {"sandbox": mine.to_dict()},
                        alias=PRODUCTION,
                        clear_alias=SANDBOX,
                    )
                )
                prod = run_id
                report.decisions.append(f"{run_id}: first production")
            else:
                report.decisions.append(f"{run_id}: not eligible ({mine.trades} trades); waiting")
            continue
        theirs = _perf(trading_record(store, prod, since, now), timeframe, cfg)
        if theirs is None:
            report.decisions.append(f"{run_id}: production {prod} has no paper record since {since}; waiting")
            continue
        prod = _duel(referee, cfg, report, (run_id, mine), (prod, theirs), (since, now))
    report.production = prod
    report.transitions = list(referee.planned)
    return report


def _duel(
    referee: Referee,
    cfg: ArenaConfig,
    report: SandboxReport,
    sandbox: tuple[str, Performance],
    production: tuple[str, Performance],
    period: tuple[datetime, datetime],
) -> str:
    """A sandbox model against production on the same paper period (production given ``sandbox_margin``);
    the winner replaces production or the sandbox model is eliminated. Returns production after it."""
    (run_id, mine), (prod, theirs), (since, now) = sandbox, production, period
    shifted = Performance(**{**theirs.__dict__, "score": theirs.score + cfg.sandbox_margin})
    winner, rule = decide(shifted, mine, cfg)
    ev = {
        "sandbox": mine.to_dict(),
        "production": theirs.to_dict(),
        "margin": cfg.sandbox_margin,
        "since": since.isoformat(),
        "until": now.isoformat(),
    }
    if winner != run_id:
        referee.apply(
            Transition(
                run_id, "eliminate", ELIMINATED, f"lost to production {prod}: {rule}", ev, clear_alias=SANDBOX
            )
        )
        report.decisions.append(f"{run_id}: eliminated by production {prod} ({rule})")
        return prod
    if referee.roles is not None and referee.roles.holder(LIVE) == prod:
        referee.apply(
            Transition(prod, "demote", None, f"production replaced by {run_id}", ev, clear_alias=LIVE)
        )
    referee.apply(Transition(prod, "retire", RETIRED, f"replaced by {run_id}: {rule}", ev))
    referee.apply(
        Transition(
            run_id,
            "replace_production",
            PRODUCTION,
            f"beat production {prod}: {rule}",
            ev,
            alias=PRODUCTION,
            clear_alias=SANDBOX,
        )
    )
    report.decisions.append(f"{run_id}: replaces production {prod} ({rule})")
    return run_id
