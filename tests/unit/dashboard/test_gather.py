"""The dashboard's data-gathering functions against hand-computed numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from cappuccino_core.dashboard.arena import arena_view
from cappuccino_core.dashboard.gates import candidates, verdict_counts
from cappuccino_core.dashboard.health import (
    TOKEN_ENV,
    ControlRefused,
    control_disabled_reason,
    flow_runs,
    set_emergency_stop,
    stop_state,
)
from cappuccino_core.dashboard.trading import benchmark_curves, drawdown, fee_rates, infer_timeframe
from cappuccino_core.dashboard.training import history, progress, split_sharpes
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _trial(n: int, state: str, start_h: float | None, end_h: float | None, value: float | None = None) -> Any:
    return SimpleNamespace(
        number=n,
        state=SimpleNamespace(name=state),
        value=value,
        datetime_start=None if start_h is None else T0 + timedelta(hours=start_h),
        datetime_complete=None if end_h is None else T0 + timedelta(hours=end_h),
    )


def test_progress_rate_and_eta_while_a_trial_runs() -> None:
    # 3 finished (complete at 1 h, pruned at 2 h, failed at 3 h), one running since 3 h, one waiting;
    # now = 4 h after the first start: 3 trials / 4 h = 0.75 per hour; limit 9 -> 6 left -> 8 h.
    trials = [
        _trial(0, "COMPLETE", 0, 1, 0.2),
        _trial(1, "PRUNED", 1, 2),
        _trial(2, "FAIL", 2, 3),
        _trial(3, "RUNNING", 3, None),
        _trial(4, "WAITING", None, None),
    ]
    p = progress("s", trials, 9, T0 + timedelta(hours=4))
    assert p.by_state == {"COMPLETE": 1, "RUNNING": 1, "WAITING": 1, "PRUNED": 1, "FAIL": 1}
    assert p.finished == 3 and p.total == 5
    assert p.trials_per_hour == pytest.approx(0.75)
    assert p.eta_hours == pytest.approx(8.0)


def test_progress_of_a_finished_study_and_of_an_empty_one() -> None:
    # nothing running: the span ends at the last finish (2 trials in 2 h = 1/h); the limit is reached.
    p = progress(
        "s", [_trial(0, "COMPLETE", 0, 1, 0.1), _trial(1, "COMPLETE", 1, 2, 0.3)], 2, T0 + timedelta(days=9)
    )
    assert p.trials_per_hour == pytest.approx(1.0) and p.eta_hours == 0.0
    empty = progress("s", [], 5, T0)
    assert empty.finished == 0 and empty.trials_per_hour is None and empty.eta_hours is None
    assert progress("s", [_trial(0, "COMPLETE", 0, 1, 0.1)], None, T0).eta_hours is None  # no limit known


def test_history_best_so_far_skips_unfinished_trials() -> None:
    trials = [
        _trial(2, "COMPLETE", 0, 1, 0.5),
        _trial(0, "COMPLETE", 0, 1, 0.1),
        _trial(1, "PRUNED", 0, 1),
        _trial(3, "COMPLETE", 0, 1, 0.3),
        _trial(4, "COMPLETE", 0, 1, float("nan")),
    ]
    h = history(trials)
    assert h.numbers == [0, 2, 3] and h.values == [0.1, 0.5, 0.3] and h.best_so_far == [0.1, 0.5, 0.5]


def test_split_sharpes_in_split_order() -> None:
    objective = {"test_1/agent_sharpe": 0.5, "test_0/agent_sharpe": 0.25, "test_0/ew_sharpe": 9.0}
    assert split_sharpes(objective) == [0.25, 0.5]  # the names the objective logs
    m = {
        "test_10/sharpe": 3.0,
        "test_2/sharpe": 2.0,
        "test_0/sharpe": float("nan"),
        "test/sharpe": 9.0,
        "test_2/ew_sharpe": 1.0,
    }
    assert split_sharpes(m) == [None, 2.0, 3.0]


def test_drawdown_and_benchmarks() -> None:
    assert drawdown(np.array([100.0, 110.0, 99.0, 121.0])) == pytest.approx([0.0, 0.0, -0.1, 0.0])
    close = np.array([[100.0, 10.0], [110.0, 8.0], [120.0, 12.0]])
    b = benchmark_curves(close, 1000.0, btc_column=0)
    # equal weight: mean of relatives (1.1 + 0.8) / 2 = 0.95, (1.2 + 1.2) / 2 = 1.2
    assert b["equal weight"] == pytest.approx([1000.0, 950.0, 1200.0])
    assert b["BTC hold"] == pytest.approx([1000.0, 1100.0, 1200.0])
    assert "BTC hold" not in benchmark_curves(close, 1000.0, None)


def test_fee_rates_by_liquidity() -> None:
    f = [
        SimpleNamespace(liquidity="MAKER", fee=0.6, qty=1.0, price=100.0),
        SimpleNamespace(liquidity="maker", fee=1.2, qty=2.0, price=100.0),
        SimpleNamespace(liquidity="TAKER", fee=1.2, qty=-1.0, price=100.0),
    ]
    assert fee_rates(f) == pytest.approx({"MAKER": 1.8 / 300.0, "TAKER": 0.012})  # type: ignore[arg-type]


def test_infer_timeframe() -> None:
    hours = [T0 + timedelta(hours=k) for k in range(5)]
    assert infer_timeframe(hours, "1d") == "1h"
    assert infer_timeframe([T0 + timedelta(hours=4 * k) for k in range(3)], "1h") == "4h"
    assert infer_timeframe([T0, T0 + timedelta(minutes=7)], "1h") == "1h"  # no such timeframe: the default
    assert infer_timeframe([T0], "1h") == "1h"


def _store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def test_candidates_keep_the_latest_verdict_per_gate(tmp_path: Path) -> None:
    from cappuccino_core.gates.record import save_verdict
    from cappuccino_core.gates.verdict import Verdict, check

    store = _store(tmp_path)
    save_verdict(
        Verdict.from_checks("stress", "m1", [check("median_sharpe", -0.41, ">", 0.0)], {}, {}), store
    )
    save_verdict(Verdict.from_checks("backtest", "m1", [check("sharpe_vs_ew", 0.3, ">", 0.0)], {}, {}), store)
    save_verdict(
        Verdict.from_checks(
            "stress",
            "m1",
            [check("median_sharpe", 0.2, ">", 0.0), check("worst_loss", 0.6, "<", 0.5)],
            {},
            {},
        ),
        store,
    )
    save_verdict(Verdict.from_checks("backtest", "m2", [check("sharpe_vs_ew", 0.1, ">", 0.0)], {}, {}), store)
    (c2, c1) = candidates(store)  # m2 was judged last: first
    assert c2.run_id == "m2" and c2.verdict == "passed"
    assert list(c1.gates) == ["backtest", "stress"] and c1.verdict == "failed"
    st = c1.gates["stress"]
    assert [f["name"] for f in st.failed] == ["worst_loss"]  # the earlier median_sharpe failure is replaced
    assert st.failed[0]["value"] == 0.6 and st.failed[0]["threshold"] == 0.5 and st.failed[0]["op"] == "<"
    assert verdict_counts([c2, c1]) == {
        "backtest": {"passed": 2, "failed": 0, "pending": 0},
        "stress": {"passed": 0, "failed": 1, "pending": 0},
    }


def test_arena_view_champion_streak_bouts_and_roles(tmp_path: Path) -> None:
    from tests.unit.dashboard.state import RUN_A, RUN_C, build_arena

    store = _store(tmp_path)
    assert arena_view(store).empty
    build_arena(store)
    v = arena_view(store)
    assert v.champion == RUN_C and v.champion_wins == 2 and v.champion_matches == 2
    assert [(b.incumbent, b.challenger, b.winner) for b in v.bouts] == [
        ("strategy:trend", RUN_C, RUN_C),
        (RUN_C, RUN_A, RUN_C),
    ]
    assert (v.bouts[0].incumbent_score, v.bouts[0].challenger_score) == (0.4, 1.1)
    assert [(r.run_id[:8], r.role) for r in v.roles] == [
        ("strategy", "champion"),
        ("strategy", "eliminated"),
        (RUN_C[:8], "champion"),
        (RUN_A[:8], "eliminated"),
        (RUN_C[:8], "champion"),
    ]
    assert [s.role for s in v.standings] == ["champion", "eliminated", "eliminated"]
    assert len(v.audit) == 5


def test_stop_control_needs_the_token(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert "CAPPUCCINO_DASHBOARD_TOKEN" in str(control_disabled_reason({}))
    with pytest.raises(ControlRefused, match="set CAPPUCCINO_DASHBOARD_TOKEN"):
        set_emergency_stop(store, True, "", environ={})
    with pytest.raises(ControlRefused, match="wrong token"):
        set_emergency_stop(store, True, "nope", environ={TOKEN_ENV: "right"})
    assert not store.emergency_stopped() and stop_state(store).ts is None
    st = set_emergency_stop(store, True, "right", "drill", flatten=True, environ={TOKEN_ENV: "right"})
    assert st.stopped and st.flatten and st.set_by == "dashboard" and st.reason == "drill"
    assert store.emergency_stopped() and store.flag("emergency_flatten")  # the flags the trader reads
    st = set_emergency_stop(store, False, "right", environ={TOKEN_ENV: "right"})
    assert not st.stopped and not st.flatten and not store.emergency_stopped()
    actions = [a.action for a in store.audit_log(subject=EMERGENCY_STOP)]
    assert actions == ["flag:emergency_stop=False", "flag:emergency_stop=True"]


def test_flow_runs_says_not_reachable_and_never_raises() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = flow_runs(f"http://127.0.0.1:{port}/api")
    assert not out.reachable and out.runs == [] and "Connect" in str(out.error)


def test_flow_runs_from_a_prefect_like_api() -> None:
    """The two REST calls the page makes (flow runs, then their flows' names) against a loopback server."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[tuple[str, dict[str, Any]]] = []

    class Api(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body))
            out: Any = (
                [
                    {
                        "flow_id": "f1",
                        "name": "brave-cat",
                        "state_name": "Completed",
                        "start_time": "t0",
                        "end_time": "t1",
                        "total_run_time": 12.5,
                    }
                ]
                if self.path.endswith("/flow_runs/filter")
                else [{"id": "f1", "name": "main-job"}]
            )
            data = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), Api)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        out = flow_runs(f"http://127.0.0.1:{srv.server_port}/api", limit=3)
    finally:
        srv.shutdown()
    assert out.reachable and out.runs == [
        {
            "flow": "main-job",
            "name": "brave-cat",
            "state": "Completed",
            "start": "t0",
            "end": "t1",
            "seconds": 12.5,
        }
    ]
    assert seen[0] == ("/api/flow_runs/filter", {"limit": 3, "sort": "START_TIME_DESC"})
    assert seen[1] == ("/api/flows/filter", {"flows": {"id": {"any_": ["f1"]}}})


def test_accounts_name_the_model_of_a_paper_session(tmp_path: Path) -> None:
    import json

    from cappuccino_core.dashboard.trading import accounts
    from cappuccino_core.state.schema import EquitySnapshot

    store = _store(tmp_path)
    with store.session() as s:
        for k in range(3):
            s.add(
                EquitySnapshot(
                    broker="alpaca-paper",
                    model_run_id="paper-1-ab",
                    ts=T0 + timedelta(hours=k),
                    equity=100.0 + k,
                    cash=100.0,
                )
            )
        s.add(EquitySnapshot(broker="coinbase", model_run_id="f" * 32, ts=T0, equity=5.0, cash=5.0))
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "paper_local_m1_paper-1-ab.json").write_text(
        json.dumps({"session": "paper-1-ab", "model": "m1", "timeframe": "4h"})
    )
    paper, live = accounts(store, reports)
    assert (paper.kind, paper.model_id, paper.timeframe, paper.snapshots) == ("paper", "m1", "4h", 3)
    assert paper.last == T0 + timedelta(hours=2)
    assert (live.kind, live.model_id, live.timeframe) == ("live", "f" * 32, None)
    assert accounts(store)[0].model is None  # no reports directory: the run id stands for the model


def test_the_stop_control_tells_the_operators(tmp_path: Path) -> None:
    """The dashboard's stop is the project's one stop: it sends the same emergency_stop event as the CLI."""
    store = _store(tmp_path)
    heard: list[Any] = []

    class Recorder:
        def notify(self, event: Any) -> str:
            heard.append(event)
            return "sent"

    env = {TOKEN_ENV: "right"}
    with pytest.raises(ControlRefused):  # a refused stop says nothing
        set_emergency_stop(store, True, "nope", environ=env, notifier=Recorder())
    assert heard == []
    set_emergency_stop(store, True, "right", "drill", environ=env, notifier=Recorder())
    set_emergency_stop(store, False, "right", environ=env, notifier=Recorder())
    assert [(e.kind, e.data["active"], e.data["who"]) for e in heard] == [
        ("emergency_stop", True, "dashboard"),
        ("emergency_stop", False, "dashboard"),
    ]
    assert heard[0].body == "drill"
