"""Every event kind reaches the loopback receiver from where it happens: the gates, the referee
(promotion, demotion), the emergency stop (CLI), the trader loop (error), the monitor (degradation, missed
heartbeat, stale data, retrain trigger, daily summary)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from cappuccino_core.arena import Referee, Transition
from cappuccino_core.config import load_settings
from cappuccino_core.config.monitor import MonitorConfig, RetrainTriggerConfig
from cappuccino_core.data.freshness import SymbolWindow
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.features.dataset import SOURCE_REAL
from cappuccino_core.gates import run_all_gates
from cappuccino_core.monitor import MonitorInputs, run_monitor
from cappuccino_core.state.schema import Heartbeat
from tests.unit.arena.conftest import DictRoles, write_record
from tests.unit.gates.policies import Alternate, Constant

from .receiver import Receiver

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _titles(rx: Receiver) -> list[str]:
    return [r["body"]["title"] for r in rx.received]


def test_gate_passed_and_failed(tmp_path, notifier, rx: Receiver, store) -> None:
    s = load_settings(
        None, paths={"state_url": store.url, "reports_dir": tmp_path}, gates={"enabled": ["backtest"]}
    )
    data = toy_dataset(200, 3, 2, 4, seed=11)
    data.source[:] = SOURCE_REAL
    run_all_gates("run-ok", s, store=store, policy=Constant(3, -1.0), held_out=data, n_complete_trials=5,
                  mirror=False, notifier=notifier)  # fmt: skip
    run_all_gates("run-bad", s, store=store, policy=Alternate(3), held_out=data, n_complete_trials=0,
                  mirror=False, notifier=notifier)  # fmt: skip
    assert _titles(rx) == ["Gate backtest passed: run-ok", "Gate backtest failed: run-bad"]
    assert "total_return" in rx.received[1]["body"]["message"]  # the failed check and its figure


def test_promotion_and_demotion_from_the_referee(notifier, rx: Receiver, store) -> None:
    ref = Referee(store, DictRoles(), actor="test", notifier=notifier)
    ref.apply(Transition("m1", "to_sandbox", "sandbox", "20 consecutive wins", alias="sandbox"))
    ref.apply(Transition("m1", "defend", "sandbox", "bookkeeping: no notification"))
    ref.apply(Transition("m1", "retire", "retired", "replaced by m2"))
    assert _titles(rx) == ["Promotion (to_sandbox -> sandbox): m1", "Demotion (retire -> retired): m1"]
    assert rx.received[0]["body"]["message"] == "20 consecutive wins"


def test_emergency_stop_from_the_cli(tmp_path, rx: Receiver, monkeypatch) -> None:
    from typer.testing import CliRunner

    from cappuccino_cli.main import app

    monkeypatch.setenv("OPS_HOOK", rx.url("stop"))
    monkeypatch.setenv(
        "CAPPUCCINO_NOTIFY__TARGETS", json.dumps([{"name": "ops", "kind": "json", "url_env": "OPS_HOOK"}])
    )
    monkeypatch.setenv("CAPPUCCINO_PATHS__STATE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    r = CliRunner().invoke(app, ["pipeline", "stop", "--reason", "venue outage"])
    assert r.exit_code == 0, r.output
    [got] = rx.received
    assert got["body"]["title"] == "Emergency stop SET by cli" and got["body"]["message"] == "venue outage"
    assert got["body"]["type"] == "failure"


def test_trader_error_from_the_bar_loop(tmp_path, notifier, rx: Receiver) -> None:
    from tests.unit.trading.test_loop_fail_closed import CLOSE, T0, H, Mem, make

    loop = make(tmp_path, Mem(fail_on=0), lambda t: np.array([[0.3, 0.3]]))
    loop.notifier = notifier
    res = loop.on_bar(0, T0, CLOSE, T0 + H)
    assert res.error is not None
    [got] = rx.received
    assert got["body"]["title"] == "Trader error in trader:mem"
    assert "HTTP 503 from the venue" in got["body"]["message"]


def _monitor(store, notifier, roles, **inputs):
    ref = Referee(store, roles, actor="monitor", notifier=notifier)
    cfg = MonitorConfig(window_bars=48, min_bars=10)
    retrain = RetrainTriggerConfig(on_data_drift=False, on_account_growth=False)
    ncfg = load_settings(None).notify.model_copy(update={"daily_summary_hour_utc": 23})
    return run_monitor(ref, cfg, retrain, ncfg, notifier, MonitorInputs(now=NOW, **inputs))


def _backtest(store, run_id: str, sharpe: float, dd: float, win: float) -> None:
    store.record_verdict(
        run_id, "backtest", True, {}, {"sharpe": sharpe, "max_drawdown": dd, "win_rate": win}, {}
    )


def test_degradation_and_the_retrain_trigger_from_the_monitor(notifier, rx: Receiver, store) -> None:
    roles = DictRoles()
    roles.assign("prod", "production")
    _backtest(store, "prod", 2.0, -0.05, 0.6)  # live: 20 of 39 bars up (51.3%), 8.7 points below
    falling = list(100.0 * np.cumprod(1 + np.tile([-0.004, 0.001], 20)))
    write_record(store, "prod", NOW - timedelta(hours=40), falling, trades=3)
    store.beat("trader")
    launched: list[str] = []
    rep = _monitor(store, notifier, roles, launcher=lambda name, p: launched.append(name) or "run-1")
    assert launched == ["retrain/monthly"] and rep.retrain_run == "run-1"
    titles = _titles(rx)
    assert titles[0] == "Degradation of prod (paper): drawdown,sharpe,win_rate"
    assert titles[1] == "Demotion (demote -> demoted): prod"
    assert titles[2] == "Retrain triggered: degradation"


def test_missed_heartbeat_and_stale_data_from_the_monitor(notifier, rx: Receiver, store) -> None:
    roles = DictRoles()
    roles.assign("prod", "production")
    with store.session() as s:
        s.merge(Heartbeat(component="trader", ts=NOW - timedelta(hours=5), detail={}))
    last = NOW - timedelta(hours=30)
    stale = SymbolWindow("alpaca", "BTC/USD", "1h", last - timedelta(days=9), last, 100, 30.0, True)
    fresh = SymbolWindow("alpaca", "ETH/USD", "1h", last, NOW, 100, 1.0, False)
    _monitor(store, notifier, roles, stale=[stale, fresh])
    assert _titles(rx) == ["Missed heartbeat: trader", "Stale data: alpaca BTC/USD"]
    assert "30.0 h old" in rx.received[1]["body"]["message"]


def test_daily_summary_once_a_day(notify_cfg, store, rx: Receiver) -> None:
    from cappuccino_core.notify import AppriseNotifier

    n = AppriseNotifier(notify_cfg, store, clock=lambda: NOW)
    ref = Referee(store, DictRoles(), actor="monitor", notifier=n)
    cfg, retrain = MonitorConfig(), RetrainTriggerConfig()
    ncfg = notify_cfg.model_copy(update={"daily_summary_hour_utc": 7})
    early = MonitorInputs(now=NOW.replace(hour=6))
    run_monitor(ref, cfg, retrain, ncfg, n, early)
    assert rx.received == []  # not yet 07:00 UTC
    for _ in range(2):
        run_monitor(ref, cfg, retrain, ncfg, n, MonitorInputs(now=NOW))
    [got] = rx.received
    assert got["body"]["title"] == "Cappuccino daily summary 2026-03-02"
    assert "emergency stop: off" in got["body"]["message"]
