"""Reliability against the loopback exchange (real alpaca-py client, trader in its own process):

* SIGKILL between submit and acknowledgement (the venue accepted the order, the answer is held back by the
  ``stall_after_accept`` fault): the restarted trader reconciles the order by its client id, places no
  duplicate, and the state store agrees with the venue.
* The emergency stop set from another process (``cappuccino trade stop``) mid-run: no order after it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from cappuccino_core.loopback.exchange import Exchange, FeeTier, ReplayBook
from cappuccino_core.state.schema import FillRow, OrderRow, PositionRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.brokers.factory import make_broker, sample_files
from cappuccino_core.trading.loop.trader import BarLoop
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.venues.alpaca.loopback_trading import alpaca_exchange

HOUR_NS = 3_600 * 10**9
START = 30  # the book's current bar (enough history for nothing; the decision is "buy")
TRADER = """
import json, sys
import numpy as np
from cappuccino_core.config import load_settings
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.brokers.factory import make_broker
from cappuccino_core.trading.loop.trader import BarLoop
from cappuccino_core.trading.risk import RiskManager

url, state_url, mode = sys.argv[1], sys.argv[2], sys.argv[5]
t_ns, close = int(sys.argv[3]), float(sys.argv[4])
s = load_settings(None, paths={"state_url": state_url})
broker = make_broker(s, "alpaca", exchange_url=url)  # credentials from the environment
loop = BarLoop(broker, StateStore(state_url), RiskManager.from_config(s.risk), s.env, ("BTC/USDT",),
               lambda t: np.ones((1, 1)), run_id="crash", bar_ns=3_600 * 10**9, max_age_s=1e12,
               assets=("BTC/USD",))
out = {"reconciled": loop.reconcile()} if mode == "restart" else {}
print("SUBMITTING", flush=True)
res = loop.on_bar(0, t_ns, np.array([close]), t_ns + 3_600 * 10**9)
out.update(orders=res.orders, skipped=res.skipped)
loop.close()
print(json.dumps(out), flush=True)
"""


def _btc(settings) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return pl.read_parquet(sample_files(settings)["BTC/USDT"]).sort("time").tail(60)


def _trader(script: Path, url: str, settings, t_ns: int, close: float, mode: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    env = os.environ | {"ALPACA_API_KEY": "throwaway-key", "ALPACA_SECRET_KEY": "throwaway-secret"}
    args = [sys.executable, str(script), url, settings.paths.state_url, str(t_ns), repr(close), mode]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_between_submit_and_ack_then_restart_reconciles(settings, sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    df = _btc(settings)
    book = ReplayBook({"BTC/USD": df}, spread_bps=2.0, start=START)
    ex = Exchange(book, cash=settings.env.initial_cash, tiers=(FeeTier(0.0, 0.001, 0.002),))
    ex.stall_after_accept(120.0)  # the first order is executed, its answer held back for 2 minutes
    script = tmp_path / "trader.py"
    script.write_text(TRADER)
    t_ns = int(df["time"][START].timestamp() * 10**9)
    close = float(df["close"][START])
    ex.register_key("throwaway-key", "throwaway-secret")  # the keys _trader puts in the environment
    with alpaca_exchange(ex) as srv:
        try:
            first = _trader(script, srv.url, settings, t_ns, close, "first")
            deadline = time.monotonic() + 120
            while not ex.orders and time.monotonic() < deadline and first.poll() is None:
                time.sleep(0.05)
            assert ex.orders, f"the order never reached the exchange: {first.communicate(timeout=5)}"
            assert first.poll() is None  # accepted at the venue, the trader still waits for the answer
            os.kill(first.pid, signal.SIGKILL)
            assert first.wait(timeout=30) == -signal.SIGKILL
            (placed,) = ex.orders.values()
            assert placed.status == "filled"  # the venue executed it
            store = StateStore(settings.paths.state_url)
            with store.session() as s:
                (rec,) = s.scalars(select(OrderRow)).all()
            # written before submission, never updated: the crash left it "new"
            assert rec.client_order_id == placed.client_order_id and rec.status == "new"

            again = _trader(script, srv.url, settings, t_ns, close, "restart")
            out, err = again.communicate(timeout=120)
            assert again.returncode == 0, err
            res = json.loads(out.strip().splitlines()[-1])
            assert res["reconciled"] == 1 and res["orders"] == []  # found by id; the bar not traded twice
            assert len(ex.orders) == 1 and srv.log.count("/v2/orders", method="POST") == 1  # no duplicate
            with store.session() as s:
                (rec,) = s.scalars(select(OrderRow)).all()
                fills = s.scalars(select(FillRow)).all()
                pos = s.scalars(select(PositionRow).where(PositionRow.asset == "BTC/USD")).all()
            assert rec.status == "filled" and rec.broker_order_id == placed.id
            assert rec.filled_qty == pytest.approx(placed.filled_qty)
            assert rec.avg_fill_price == pytest.approx(close * (1 + 1e-4))  # the ask: close + 1 bp
            assert len(fills) == 1 and fills[0].qty == pytest.approx(placed.filled_qty)
            assert len(pos) == 1 and pos[0].qty == pytest.approx(ex.holdings["BTC/USD"])
        finally:
            ex.closing.set()  # releases the stalled answer


def test_emergency_stop_from_another_process_halts_orders(settings, sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    df = _btc(settings)
    frames = {"BTC/USDT": df}
    times = df["time"].dt.epoch("ns").to_numpy()
    close = df["close"].to_numpy()
    cfg = tmp_path / "cappuccino.toml"
    cfg.write_text(f'[paths]\nstate_url = "{settings.paths.state_url}"\n')
    with make_broker(settings, "local", venue="alpaca", frames=frames) as broker:
        store = StateStore(settings.paths.state_url)
        decide = lambda t: np.array([[1.0 if t % 2 == 0 else 0.0]])  # noqa: E731  buy, sell, buy, ...
        loop = BarLoop(
            broker, store, RiskManager.from_config(settings.risk), settings.env, ("BTC/USDT",), decide,
            run_id="stop", bar_ns=HOUR_NS, max_age_s=1e12, assets=("BTC/USD",), heartbeat_s=0.0,
        )  # fmt: skip
        placed_before = 0
        for t in range(12):
            if t == 6:  # another process sets the flag through the state store
                cli = Path(sys.executable).with_name("cappuccino")
                r = subprocess.run(
                    [str(cli), "trade", "stop", "-c", str(cfg)], capture_output=True, text=True
                )
                assert r.returncode == 0, r.stderr
                placed_before = len(broker.exchange.orders)
            broker.on_bar(datetime.fromtimestamp((times[t] + HOUR_NS) / 1e9, UTC), {})
            res = loop.on_bar(t, int(times[t]), close[t : t + 1], int(times[t]) + HOUR_NS)
            if t >= 6:
                assert res.skipped == "emergency stop" and res.orders == []
        loop.close()
        assert placed_before >= 3  # it was trading every bar before the stop
        assert len(broker.exchange.orders) == placed_before  # and nothing reached the venue after it
