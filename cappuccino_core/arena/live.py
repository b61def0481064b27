"""Live trading: only by explicit green light, with capital ramped step by step, demoted on degradation.

* Green light (:func:`green_light`): BOTH ``ArenaConfig.live_enabled`` (configuration) AND ``confirm``
  (the CLI flag) must be true, a production model must exist, and when a paper grade is given it must be
  A or B. The production model then gets the ``live`` alias at the first ramp step (10-25% of capital).
* Ramp (:func:`review_live`): after ``ramp_step_days`` at a step, with live Sharpe >= ``ramp_min_sharpe``
  and no demotion condition, the model moves to the next step (e.g. 25% -> 50% -> 100%).
* Demotion: live max drawdown below ``demote_max_drawdown`` at any time, or live Sharpe below
  ``demote_min_sharpe`` after ``ramp_step_days``: the live alias is withdrawn and capital goes to 0
  (the model stays production and paper-trades).
* The current step is the newest ``arena:go_live`` / ``arena:ramp`` / ``arena:demote`` audit row
  (its evidence holds ``capital_fraction``): :func:`live_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cappuccino_core.arena.match import performance
from cappuccino_core.arena.records import last_audit, trading_record
from cappuccino_core.arena.referee import LIVE, PRODUCTION, Referee, Transition
from cappuccino_core.config.arena import ArenaConfig

LIVE_ACTIONS = ("arena:go_live", "arena:ramp", "arena:demote")


class GreenLightRefused(RuntimeError):
    """Live trading was asked for without every condition of the green light."""


@dataclass(frozen=True)
class LiveStatus:
    """The live model, the share of capital it trades and since when."""

    run_id: str | None
    capital_fraction: float
    since: datetime | None


def live_status(referee: Referee) -> LiveStatus:
    """The live model (MLflow alias ``live``), its capital fraction and since when (0 when none)."""
    run_id = referee.roles.holder(LIVE) if referee.roles is not None else None
    if run_id is None:
        return LiveStatus(None, 0.0, None)
    row = last_audit(referee.store, run_id, LIVE_ACTIONS)
    if row is None or row.action == "arena:demote":
        return LiveStatus(run_id, 0.0, None if row is None else row.ts)
    return LiveStatus(run_id, float(row.evidence.get("capital_fraction", 0.0)), row.ts)


def green_light(
    referee: Referee, cfg: ArenaConfig, *, confirm: bool, grade: str | None = None, who: str = "operator"
) -> Transition:
    """Put production live at the first ramp step, or raise :class:`GreenLightRefused` saying why."""
    if referee.store.emergency_stopped():
        raise GreenLightRefused("the emergency stop is set")
    if not cfg.live_enabled:
        raise GreenLightRefused("arena.live_enabled is false in the configuration")
    if not confirm:
        raise GreenLightRefused("live needs the explicit confirmation flag (--confirm-live)")
    prod = referee.roles.holder(PRODUCTION) if referee.roles is not None else None
    if prod is None:
        raise GreenLightRefused("there is no production model")
    if grade is not None and grade.upper() not in ("A", "B"):
        raise GreenLightRefused(f"paper grade {grade!r}: only A or B may go live")
    t = Transition(
        prod,
        "go_live",
        None,
        f"green light by {who}",
        {"capital_fraction": cfg.ramp[0], "grade": grade},
        alias=LIVE,
    )
    referee.apply(t)
    return t


def review_live(
    referee: Referee, cfg: ArenaConfig, timeframe: str = "1h", now: datetime | None = None
) -> str:
    """Ramp up, hold or demote the live model from its record at the current step; says what it did."""
    now = now or datetime.now(UTC)
    if referee.store.emergency_stopped():
        return "halted: emergency stop"
    st = live_status(referee)
    if st.run_id is None or st.since is None or st.capital_fraction <= 0:
        return "no live model"
    rec = trading_record(referee.store, st.run_id, st.since, now)
    if rec.equity.size < 3:
        return f"{st.run_id}: live record too short ({rec.equity.size} points); holding"
    perf = performance(st.run_id, rec.equity, rec.trades, 0.0, timeframe, cfg)
    ev = {"live": perf.to_dict(), "capital_fraction": st.capital_fraction, "since": st.since.isoformat()}
    matured = now - st.since >= timedelta(days=cfg.ramp_step_days)
    if perf.max_drawdown < cfg.demote_max_drawdown or (matured and perf.sharpe < cfg.demote_min_sharpe):
        why = (
            f"live degraded: drawdown {perf.max_drawdown:.3f} (limit {cfg.demote_max_drawdown}), "
            f"Sharpe {perf.sharpe:.2f} (floor {cfg.demote_min_sharpe})"
        )
        referee.apply(
            Transition(st.run_id, "demote", None, why, {**ev, "capital_fraction": 0.0}, clear_alias=LIVE)
        )
        return f"{st.run_id}: demoted ({why})"
    if not matured:
        return f"{st.run_id}: holding at {st.capital_fraction:.0%} (step not yet {cfg.ramp_step_days} days)"
    nxt = [f for f in cfg.ramp if f > st.capital_fraction]
    if not nxt:
        return f"{st.run_id}: at full capital"
    if perf.sharpe < cfg.ramp_min_sharpe:
        low = f"Sharpe {perf.sharpe:.2f} < {cfg.ramp_min_sharpe}"
        return f"{st.run_id}: holding at {st.capital_fraction:.0%} ({low})"
    referee.apply(
        Transition(
            st.run_id,
            "ramp",
            None,
            f"ramp {st.capital_fraction:.0%} -> {nxt[0]:.0%}: Sharpe {perf.sharpe:.2f}",
            {**ev, "capital_fraction": nxt[0]},
        )
    )
    return f"{st.run_id}: ramped to {nxt[0]:.0%}"
