"""One trader per account (finding 4): a lease row with heartbeat and expiry, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.state.lease import Lease, LeaseHeld, LeaseLost
from cappuccino_core.state.schema import LeaseRow
from cappuccino_core.state.store import StateStore
from tests.broker_doubles import DoubleFlags

ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def time(self) -> float:
        return self.t


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    if request.param == "sqlite":
        return StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    url = os.environ.get("CAPPUCCINO_TEST_PG_URL")
    if not url:
        pytest.skip("PostgreSQL lease test: set CAPPUCCINO_TEST_PG_URL (scripts/ci_postgres.sh sets one up)")
    try:
        s = StateStore(url)
        with s.engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL at CAPPUCCINO_TEST_PG_URL: {type(exc).__name__}")
    return s


@pytest.fixture
def account() -> str:
    return f"acct-{uuid.uuid4().hex[:8]}"  # PostgreSQL is shared between runs: a fresh account each


def test_second_trader_refused_naming_the_holder(store: StateStore, account: str) -> None:
    a = Lease(store, account, holder="trader-a").acquire()
    with pytest.raises(
        LeaseHeld, match=rf"account {account} is held by trader-a \(host .+, pid {os.getpid()}\)"
    ):
        Lease(store, account, holder="trader-b").acquire()
    a.release()
    Lease(store, account, holder="trader-b").acquire()  # released: the next one starts


def test_dead_holder_expires_and_a_late_renewal_is_lost(store: StateStore, account: str) -> None:
    clock = Clock()
    a = Lease(store, account, ttl_s=60, holder="trader-a", clock=clock).acquire()
    b = Lease(store, account, ttl_s=60, holder="trader-b", clock=clock)
    clock.t += 40
    a.renew()  # a heartbeat: expires 60 s from now
    clock.t += 59
    with pytest.raises(LeaseHeld, match="trader-a"):
        b.acquire()
    clock.t += 2  # no heartbeat for 61 s: expired
    b.acquire()
    assert b.info() is not None and b.info().holder == "trader-b"  # type: ignore[union-attr]
    with pytest.raises(LeaseLost, match="trader-b"):
        a.renew()  # the old holder learns it must stop
    assert not a.held


def test_killed_holder_on_this_host_is_taken_over_at_once(store: StateStore, account: str) -> None:
    code = (
        "import os, signal, sys; from cappuccino_core.state.store import StateStore; "
        "from cappuccino_core.state.lease import Lease; "
        "Lease(StateStore(sys.argv[1]), sys.argv[2], ttl_s=3600).acquire(); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    p = subprocess.run([sys.executable, "-c", code, store.url, account], cwd=ROOT, timeout=60)
    assert p.returncode == -9
    info = Lease(store, account).info()
    assert info is not None and info.expires_at > info.heartbeat_at + 3000  # it would hold for an hour
    Lease(store, account, holder="restarted").acquire()  # the pid is gone: no wait


def test_unknown_process_on_another_host_waits_for_expiry(store: StateStore, account: str) -> None:
    clock = Clock()
    with store.engine.begin() as c:
        c.execute(
            sa.insert(LeaseRow),
            {"account": account, "holder": "other:1", "host": "elsewhere", "pid": 1, "acquired_at": clock.t,
             "heartbeat_at": clock.t, "expires_at": clock.t + 30},
        )  # fmt: skip
    with pytest.raises(LeaseHeld, match="host elsewhere"):
        Lease(store, account, clock=clock).acquire()
    clock.t += 31
    Lease(store, account, clock=clock).acquire()


def test_racing_traders_exactly_one_wins(store: StateStore, account: str) -> None:
    wins: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(6)

    def go(i: int) -> None:
        barrier.wait()
        try:
            Lease(store, account, holder=f"t{i}").acquire()
            wins.append(f"t{i}")
        except LeaseHeld:
            refused.append(f"t{i}")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(refused) == 5


class Mem(DoubleFlags):
    name, fee_rate = "mem", 0.0

    def cash(self) -> float:
        return 10_000.0

    def positions(self) -> dict[str, float]:
        return {}

    def submit(self, *a: Any) -> dict[str, Any]:  # pragma: no cover - no orders here
        raise AssertionError

    def get_order(self, coid: str) -> None:
        return None


def test_bar_loop_takes_the_lease(tmp_path: Path) -> None:
    from cappuccino_core.trading.loop import BarLoop
    from cappuccino_core.trading.risk import RiskManager

    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")

    def trader() -> BarLoop:
        return BarLoop(Mem(), store, RiskManager([]), EnvConfig(), ("BTC",), lambda t: np.zeros((1, 1)),
                       run_id="r", bar_ns=3_600 * 10**9, max_age_s=1e12)  # fmt: skip

    first = trader()
    first.reconcile()
    second = trader()
    with pytest.raises(LeaseHeld, match=f"account mem is held by .*pid {os.getpid()}"):
        second.reconcile()
    with pytest.raises(LeaseHeld):
        second.on_bar(0, 0, np.array([1.0]), 1)
    first.close()
    second.reconcile()  # the first one stopped: the second starts
    second.close()


def test_cli_second_trader_refused_in_one_line(settings, sample_dir, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from cappuccino_cli.main import app

    db = tmp_path / "cli.db"
    cfg = tmp_path / "cappuccino.toml"
    cfg.write_text(
        f'[paths]\nsample_dir = "{settings.paths.sample_dir}"\nstate_url = "sqlite:///{db}"\n'
        f'reports_dir = "{tmp_path / "reports"}"\n'
    )
    monkeypatch.setenv("ALPACA_API_KEY", "k" * 20)
    monkeypatch.setenv("ALPACA_SECRET_KEY", "s" * 40)
    holder = Lease(StateStore(f"sqlite:///{db}"), "alpaca-paper", holder="the-hourly-trader").acquire()
    r = CliRunner().invoke(app, ["trade", "paper", "--broker", "alpaca", "--days", "1", "-c", str(cfg)])
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and "account alpaca-paper is held by the-hourly-trader" in out, r.output
    assert "Traceback" not in r.output
    holder.release()
