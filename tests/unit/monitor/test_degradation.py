"""Degradation checks with hand-computed figures; paper-vs-live drift; demotion by role through the
referee; no demotion on dry runs or under the emergency stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cappuccino_core.arena import Referee, Transition, holders
from cappuccino_core.config.monitor import MonitorConfig, RetrainTriggerConfig
from cappuccino_core.config.notify import NotifyConfig
from cappuccino_core.monitor import MonitorInputs, assess, run_monitor
from cappuccino_core.monitor.degradation import Curve
from cappuccino_core.state.schema import EquitySnapshot, MonitorCheck
from tests.unit.arena.conftest import DictRoles

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CFG = MonitorConfig(min_bars=4, window_bars=100, sharpe_margin=1.0, win_rate_band=0.05)


def _curve(equity: list[float], broker: str = "paper") -> Curve:
    return Curve(broker, [T0 + timedelta(hours=i) for i in range(len(equity))], np.asarray(equity))


def test_drawdown_and_win_rate_against_hand_computed_figures() -> None:
    # 100 -> 110 -> 99 -> 104.5 -> 88: worst drawdown 88/110 - 1 = -20%; 2 of 4 bars up = 50%.
    c = _curve([100.0, 110.0, 99.0, 104.5, 88.0])
    bt = {"sharpe": -50.0, "max_drawdown": -0.15, "win_rate": 0.56}
    a = assess("m", "paper", c, bt, CFG, "1h")
    assert a.live["max_drawdown"] == pytest.approx(-0.20)
    assert a.live["win_rate"] == pytest.approx(0.5)
    assert a.live["total_return"] == pytest.approx(-0.12)
    assert set(a.findings) == {"drawdown", "win_rate"} and a.status == "degraded"
    assert "-20.00%" in a.findings["drawdown"] and "-15.00%" in a.findings["drawdown"]
    # inside the +-5 point band (55% is 5 points from 50%) and within the backtest's worst drawdown
    ok = assess("m", "paper", c, {"sharpe": -50.0, "max_drawdown": -0.25, "win_rate": 0.55}, CFG, "1h")
    assert ok.status == "ok" and ok.findings == {}


def test_rolling_sharpe_below_the_backtest_by_the_margin() -> None:
    from cappuccino_core.metrics import sharpe_ratio, simple_returns

    eq = [100.0, 101.0, 100.5, 101.5, 101.0, 102.0]
    live_sharpe = float(sharpe_ratio(simple_returns(np.asarray(eq)), "1h"))
    at_margin = assess("m", "paper", _curve(eq), {"sharpe": live_sharpe + 1.0}, CFG, "1h")
    assert "sharpe" not in at_margin.findings  # exactly at backtest - margin: not below
    below = assess("m", "paper", _curve(eq), {"sharpe": live_sharpe + 1.01}, CFG, "1h")
    assert "sharpe" in below.findings


def test_too_short_and_without_backtest() -> None:
    assert assess("m", "paper", _curve([100.0, 99.0]), {"sharpe": 1.0}, CFG, "1h").status == "insufficient"
    assert assess("m", "paper", _curve([100.0] * 10), None, CFG, "1h").status == "no_backtest"


def _snapshots(store, run_id: str, broker: str, equity: list[float]) -> None:
    with store.session() as s:
        for i, e in enumerate(equity):
            s.add(
                EquitySnapshot(
                    broker=broker, model_run_id=run_id, ts=T0 + timedelta(hours=i), equity=e, cash=e
                )
            )


def _run(store, roles, dry_run: bool = False, **cfg):
    ref = Referee(store, roles, actor="monitor", dry_run=dry_run)
    rcfg = RetrainTriggerConfig(on_data_drift=False, on_account_growth=False, on_degradation=False)
    ncfg = NotifyConfig(daily_summary_hour_utc=23)
    return run_monitor(
        ref, CFG.model_copy(update=cfg), rcfg, ncfg, None, MonitorInputs(now=T0 + timedelta(hours=9))
    )


FLAT_UP = [100.0 + 0.1 * i for i in range(10)]


def test_paper_vs_live_drift_on_the_live_venue(store) -> None:
    roles = DictRoles()
    roles.assign("m", "production")
    roles.assign("m", "live")
    store.record_verdict(
        "m", "backtest", True, {}, {"sharpe": None, "max_drawdown": -0.5, "win_rate": None}, {}
    )
    _snapshots(store, "m", "alpaca", FLAT_UP)  # paper: +0.9%
    _snapshots(store, "m", "coinbase", [100.0 - 0.3 * i for i in range(10)])  # live: -2.7%
    rep = _run(store, roles, demote_on=["drift"])
    by_venue = {a.venue: a for a in rep.assessments}
    assert by_venue["paper"].status == "ok"
    assert "paper +0.90% vs live -2.70%" in by_venue["live"].findings["drift"]
    assert (
        roles.holder("live") is None and roles.holder("production") == "m"
    )  # live withdrawn, stays production
    row = store.audit_log(subject="m")[0]
    assert row.action == "arena:demote" and row.evidence["capital_fraction"] == 0.0


def test_sandbox_model_eliminated_production_marked_demoted_and_checks_recorded(store) -> None:
    roles = DictRoles()
    ref = Referee(store, roles, actor="test")
    ref.apply(Transition("p", "to_production", "production", "t", alias="production"))
    ref.apply(Transition("s", "to_sandbox", "sandbox", "t", alias="sandbox"))
    crash = [100.0, 90.0, 80.0, 70.0, 60.0, 50.0]
    for run_id in ("p", "s"):
        store.record_verdict(
            run_id, "backtest", True, {}, {"sharpe": 1.0, "max_drawdown": -0.1, "win_rate": 0.5}, {}
        )
        _snapshots(store, run_id, "alpaca", crash)
    rep = _run(store, roles)
    assert sorted(rep.demoted) == ["p (paper)", "s (paper)"]
    assert holders(store, "eliminated") == ["s"] and roles.holder("sandbox") is None
    assert holders(store, "demoted") == ["p"] and roles.holder("production") == "p"  # one production kept
    again = _run(store, roles)
    assert again.demoted == []  # already demoted: alerts only
    with store.session() as s:
        checks = list(s.query(MonitorCheck).order_by(MonitorCheck.id))
    assert [(c.run_id, c.status, c.action) for c in checks[:2]] == [
        ("p", "degraded", "demote"),
        ("s", "degraded", "demote"),
    ]
    assert checks[0].backtest["max_drawdown"] == -0.1 and checks[0].live["max_drawdown"] == pytest.approx(
        -0.5
    )


def test_dry_run_and_emergency_stop_demote_nothing(store) -> None:
    roles = DictRoles()
    Referee(store, roles).apply(Transition("s", "to_sandbox", "sandbox", "t", alias="sandbox"))
    store.record_verdict("s", "backtest", True, {}, {"sharpe": 1.0, "max_drawdown": -0.1}, {})
    _snapshots(store, "s", "alpaca", [100.0, 90.0, 80.0, 70.0, 60.0])
    assert _run(store, roles, dry_run=True).demoted == []
    assert holders(store, "sandbox") == ["s"]
    store.set_flag("emergency_stop", True, "test")
    rep = _run(store, roles)
    assert rep.halted and rep.assessments == [] and holders(store, "sandbox") == ["s"]
