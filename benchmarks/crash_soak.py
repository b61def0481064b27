"""Crash soak: SIGKILL/restart cycles of the trader against the loopback exchange in its own process.

Every cycle is one bar, traded by a fresh trader process (the real alpaca-py client, the bar loop, the risk
manager, one SQLite state store), as the hourly flow runs; traders are forked from a process that loaded the
imports once. With probability ``--kill`` the parent SIGKILLs the trader at a random moment of its tick; the
next cycle then restarts on the same bar or, half the time, on the next one. Broker faults are on:
injected partial fills (the rest canceled) and 429 / 503 / dropped connections on the order routes. The
exchange (its own process) keeps the account.

At the end one clean trader reconciles, then the store is compared with the venue:

* duplicates: venue orders for the same (bar, asset, side) beyond the first;
* orphans: venue orders the store does not know, and store orders still open after the final reconcile;
* lost fills: orders whose stored fill quantity differs from the venue's filled quantity;
* position mismatches: assets whose stored position differs from the venue's holding;
* rule breaches: buy fills that left a position above the 30% cap of equity at the bar (1% slack: the check
  marks at the bid, the rule at the close), or buys after the prop-firm total loss halted the account;
* failed runs: trader processes that exited with an error (not killed).

All must be 0; the last line is the JSON verdict. ``--cycles`` defaults to 1,000.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
TICKERS = ("BTC", "ETH")
H_NS = 3_600 * 10**9
CAP = 0.30

ENV = {
    "ALPACA_API_KEY": "soak-key",
    "ALPACA_SECRET_KEY": "soak-secret",
    "CAPPUCCINO_TRADING__RETRY_WAIT_S": "0.02",
    "CAPPUCCINO_TRADING__RETRY_WAIT_MAX_S": "0.1",
    "CAPPUCCINO_TRADING__REQUEST_TIMEOUT_S": "2",
}


def tick(url: str, state_url: str, t: int, t_ns: int, close: list[float], out: str) -> int:
    """One trader process's life: connect, take the lease, reconcile, trade bar ``t``, release."""
    from cappuccino_core.config import load_settings
    from cappuccino_core.state.store import StateStore
    from cappuccino_core.trading.brokers.factory import make_broker
    from cappuccino_core.trading.loop.trader import BarLoop
    from cappuccino_core.trading.risk import RiskManager

    s = load_settings(None, paths={"state_url": state_url})
    broker = make_broker(s, "alpaca", exchange_url=url)
    action = np.random.default_rng(t).choice([1.0, 1.0, 0.6, 0.0, -1.0], size=(1, len(close)))  # mostly buys
    loop = BarLoop(broker, StateStore(state_url), RiskManager.from_config(s.risk), s.env,
                   tuple(f"{x}/USDT" for x in TICKERS), lambda _t: action, run_id="soak", bar_ns=H_NS,
                   max_age_s=1e12, assets=tuple(f"{x}/USD" for x in TICKERS), heartbeat_s=0.0,
                   slippage=s.costs.slippage_bps / 1e4)  # fmt: skip
    loop.reconcile()
    res = loop.on_bar(t, t_ns, np.array(close), t_ns + H_NS + 60 * 10**9)
    loop.close()
    Path(out).write_text(json.dumps({"orders": res.orders, "skipped": res.skipped, "error": res.error}))
    return 0


def zygote_main(conn: Any) -> None:
    """Imports and compiled code loaded once; every trader is a fork of this process (its own pid, killed
    with SIGKILL like any other), so a cycle costs a tick, not an interpreter start."""
    os.environ.update(ENV)
    import traceback

    import cappuccino_core.venues.alpaca.broker  # noqa: F401
    from cappuccino_core.env.warm import warm_up
    from cappuccino_core.trading.loop import trader  # noqa: F401

    warm_up()
    conn.send("ready")
    while True:
        cmd, *args = conn.recv()
        if cmd == "run":
            pid = os.fork()
            if pid == 0:  # the trader
                code = 1
                try:
                    code = tick(*args)
                except BaseException:
                    Path(args[-1] + ".err").write_text(traceback.format_exc())
                finally:
                    os._exit(code)
            conn.send(pid)
        elif cmd == "wait":
            _, status = os.waitpid(args[0], 0)
            conn.send(os.waitstatus_to_exitcode(status))
        else:
            return


# ---------------------------------------------------------------------------------- the exchange process
def exchange_main(conn: Any, start: int) -> None:
    import polars as pl

    from cappuccino_core.loopback.exchange import Exchange, FeeTier, ReplayBook
    from cappuccino_core.loopback.faults import Fault
    from cappuccino_core.venues.alpaca.loopback_trading import alpaca_exchange

    frames = {
        f"{t}/USD": pl.read_parquet(SAMPLE / f"BINANCE_{t}USDT_1h.parquet").sort("time") for t in TICKERS
    }
    common = set(frames["BTC/USD"]["time"].to_list()) & set(frames["ETH/USD"]["time"].to_list())
    frames = {k: v.filter(pl.col("time").is_in(list(common))) for k, v in frames.items()}
    ex = Exchange(
        ReplayBook(frames, spread_bps=2.0, start=start), cash=100_000.0, tiers=(FeeTier(0.0, 0.001, 0.002),)
    )
    ex.register_key(ENV["ALPACA_API_KEY"], ENV["ALPACA_SECRET_KEY"])
    srv = alpaca_exchange(ex).start()
    conn.send(srv.url)
    while True:
        cmd, *args = conn.recv()
        if cmd == "goto":  # the book on bar args[0] (it only moves forward)
            with ex.lock:
                if args[0] > ex.book.index:
                    ex.advance(args[0] - ex.book.index)
            conn.send(ex.book.index)
        elif cmd == "partial":
            ex.partial_then_cancel(args[0])
            conn.send(True)
        elif cmd == "fault":
            kind = args[0]
            fault = {"429": Fault.rate_limit(0), "503": Fault.server_error(503), "drop": Fault.drop()}[kind]
            srv.faults.add("*", fault, times=1)
            conn.send(True)
        elif cmd == "clear":
            srv.faults.clear()
            conn.send(True)
        elif cmd == "state":
            with ex.lock:
                orders = [
                    {"coid": o.client_order_id, "symbol": o.symbol, "side": o.side, "qty": o.qty,
                     "filled": o.filled_qty, "status": o.status}
                    for o in ex.orders.values()
                ]  # fmt: skip
                tops = {s: ex.book.top(s).bid for s in frames}
                state = {"orders": orders, "holdings": dict(ex.holdings), "cash": ex.cash,
                         "equity": ex.equity(), "bids": tops}  # fmt: skip
            conn.send(state)
        elif cmd == "stop":
            ex.closing.set()
            srv.stop()
            conn.send(True)
            return


# ---------------------------------------------------------------------------------- the soak
@dataclass
class _Tally:
    """The soak's running counts and the rule-check state."""

    kills: int = 0
    done: int = 0
    failed: int = 0
    placed: int = 0
    breaches: Counter[str] = field(default_factory=Counter)
    halted: bool = False
    last_orders: set[str] = field(default_factory=set)


def _parse_args() -> argparse.Namespace:
    """The command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--kill", type=float, default=0.5, help="probability a cycle's trader is SIGKILLed")
    ap.add_argument("--faults", type=float, default=0.3, help="probability of a broker fault per cycle")
    ap.add_argument("--seed", type=int, default=13)
    return ap.parse_args()


def _load_bars() -> tuple[np.ndarray, np.ndarray]:
    """(times in epoch ns, (T, 2) BTC/ETH closes) of the sample bars both tickers have."""
    import polars as pl

    closes = {
        t: pl.read_parquet(SAMPLE / f"BINANCE_{t}USDT_1h.parquet").sort("time").select("time", "close")
        for t in TICKERS
    }
    joined = closes["BTC"].join(closes["ETH"], on="time", suffix="_eth")
    times = joined["time"].dt.epoch("ns").to_numpy()
    close = np.column_stack([joined["close"].to_numpy(), joined["close_eth"].to_numpy()])
    return times, close


Trade = Callable[[str, str, int, bool], tuple[int, bool, "dict[str, Any] | None", str]]


def _make_trade(zparent: Any, rnd: random.Random, url: str, times: np.ndarray, close: np.ndarray) -> Trade:
    """A function that runs one trader on bar ``t`` through the zygote, SIGKILLing it when asked."""

    def trade(tmp: str, state_url: str, t: int, kill: bool) -> tuple[int, bool, dict[str, Any] | None, str]:
        out = str(Path(tmp) / f"res-{t}-{time.monotonic_ns()}.json")
        zparent.send(("run", url, state_url, t, int(times[t]), close[t].tolist(), out))
        pid = zparent.recv()
        killed = False
        if kill:
            time.sleep(rnd.uniform(0.0, 0.15))  # a tick takes ~0.05-0.3 s: killed anywhere in it
            try:
                os.kill(pid, signal.SIGKILL)
                killed = True
            except ProcessLookupError:
                pass
        zparent.send(("wait", pid))
        code = zparent.recv()
        killed = killed and code == -signal.SIGKILL
        res = json.loads(Path(out).read_text()) if Path(out).is_file() else None
        err = Path(out + ".err").read_text() if Path(out + ".err").is_file() else ""
        return code, killed, res, err

    return trade


def _check_rules(st: dict[str, Any], tally: _Tally, initial: float = 100_000.0) -> None:
    """Count the rule breaches of the bar's new venue orders (position cap, buys after the total loss)."""
    new = {o["coid"] for o in st["orders"]} - tally.last_orders
    tally.last_orders |= new
    bought = {o["symbol"] for o in st["orders"] if o["coid"] in new and o["side"] == "buy" and o["filled"]}
    eq = st["equity"]
    for sym in bought:
        if st["holdings"].get(sym, 0.0) * st["bids"][sym] / eq > CAP * 1.01:  # bid vs close: slack
            tally.breaches["position_cap"] += 1
    if tally.halted and bought:
        tally.breaches["buy_after_total_loss"] += 1
    tally.halted = tally.halted or eq <= initial * 0.9


def _soak(
    a: argparse.Namespace,
    rnd: random.Random,
    ask: Callable[..., Any],
    trade: Trade,
    tally: _Tally,
    start: int,
    n_bars: int,
    tmp: str,
    state_url: str,
) -> int:
    """Run the kill/fault cycles from bar ``start``; returns the bar the final reconcile trades."""
    t = start
    for cycle in range(a.cycles):
        if t + 1 >= n_bars:
            break
        assert ask("goto", t) == t
        if rnd.random() < a.faults:
            if rnd.random() < 0.5:
                ask("partial", rnd.uniform(0.2, 0.8))
            else:
                ask("fault", rnd.choice(["429", "503", "drop"]))
        code, killed, res, err = trade(tmp, state_url, t, rnd.random() < a.kill)
        if killed:
            tally.kills += 1
            ask("clear")
            if rnd.random() < 0.5:
                continue  # restart on the same bar
        elif code != 0 or res is None:
            tally.failed += 1
            print(f"cycle {cycle}: trader exit {code}: {err.strip().splitlines()[-1:]}", flush=True)
        else:
            tally.done += 1
            tally.placed += len(res["orders"])
        _check_rules(ask("state"), tally)  # rule checks on the venue after the bar's orders
        t += 1
        if (cycle + 1) % 100 == 0:
            print(
                f"  cycle {cycle + 1}: bar {t - start}, kills {tally.kills}, orders {tally.placed}",
                flush=True,
            )
    return t


def _report(
    a: argparse.Namespace, tally: _Tally, verdict: dict[str, Any], st: dict[str, Any], elapsed: float
) -> int:
    """Print the counts and the last-line JSON verdict; 0 when there is no violation."""
    breaches, kills, done, placed = tally.breaches, tally.kills, tally.done, tally.placed
    verdict["rule_breaches"] = sum(breaches.values())
    verdict["failed_runs"] = tally.failed
    kinds = ("duplicates", "orphans", "lost_fills", "position_mismatches", "rule_breaches", "failed_runs")
    total = sum(verdict[k] for k in kinds)
    for k in kinds:
        print(f"{k}: {verdict[k]}")
    print(f"{a.cycles} cycles, {kills} SIGKILLs, {done} clean ticks, {placed} orders acknowledged, "
          f"{len(st['orders'])} venue orders, {elapsed:.0f} s")  # fmt: skip
    out = {"metric": "crash_soak_violations", "value": total, "unit": "count", "baseline": 0,
           "baseline_kind": "the invariant (no violation)", "ratio": None, "pass": total == 0,
           "cycles": a.cycles, "kills": kills, "venue_orders": len(st["orders"]),
           "seconds": round(elapsed, 1), **verdict, "breaches": dict(breaches)}  # fmt: skip
    print(json.dumps(out))
    return 0 if total == 0 else 1


def main() -> int:
    """Soak, reconcile once cleanly, compare the store with the venue and print the verdict."""
    a = _parse_args()
    rnd = random.Random(a.seed)
    times, close = _load_bars()
    start = max(0, len(times) - a.cycles - 2)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=exchange_main, args=(child, start), daemon=True)
    proc.start()
    url = parent.recv()

    def ask(*cmd: Any) -> Any:
        parent.send(cmd)
        return parent.recv()

    zparent, zchild = ctx.Pipe()
    zygote = ctx.Process(target=zygote_main, args=(zchild,), daemon=True)
    zygote.start()
    assert zparent.recv() == "ready"
    trade = _make_trade(zparent, rnd, url, times, close)

    with tempfile.TemporaryDirectory() as tmp:
        state_url = f"sqlite:///{Path(tmp) / 'state.db'}"
        tally = _Tally()
        t0 = time.perf_counter()
        t = _soak(a, rnd, ask, trade, tally, start, len(times), tmp, state_url)
        ask("clear")
        code, _, _res, err = trade(tmp, state_url, t, False)  # one clean trader reconciles everything
        if code != 0:
            tally.failed += 1
            print("final reconcile failed:", err.strip().splitlines()[-3:], flush=True)
        st = ask("state")
        verdict = compare(state_url, st)
        elapsed = time.perf_counter() - t0
    zparent.send(("stop",))
    zygote.join(timeout=10)
    ask("stop")
    proc.join(timeout=10)
    return _report(a, tally, verdict, st, elapsed)


def compare(state_url: str, venue: dict[str, Any]) -> dict[str, int]:
    from sqlalchemy import func, select

    from cappuccino_core.state.schema import FillRow, OrderRow, PositionRow, RiskState
    from cappuccino_core.state.store import StateStore

    store = StateStore(state_url)
    with store.session() as s:
        orders = {o.client_order_id: o for o in s.scalars(select(OrderRow))}
        filled: dict[str, float] = dict(
            s.execute(
                select(FillRow.client_order_id, func.sum(FillRow.qty)).group_by(FillRow.client_order_id)
            )
            .tuples()
            .all()
        )
        pos = {
            p.asset: p.qty for p in s.scalars(select(PositionRow).where(PositionRow.broker == "alpaca-paper"))
        }
    keys: Counter[tuple[Any, str, str]] = Counter()
    orphans = 0
    lost = 0
    for o in venue["orders"]:
        rec = orders.get(o["coid"])
        if rec is None:
            orphans += 1
            continue
        keys[(rec.bar_time, rec.asset, rec.side)] += 1
        if abs(float(filled.get(o["coid"], 0.0)) - o["filled"]) > 1e-9 * max(1.0, o["filled"]):
            lost += 1
    orphans += sum(1 for o in orders.values() if o.status in ("new", "submitted", "open", "partially_filled"))
    dup = sum(n - 1 for n in keys.values() if n > 1)
    mism = sum(
        1
        for a in set(pos) | set(venue["holdings"])
        if abs(pos.get(a, 0.0) - venue["holdings"].get(a, 0.0)) > 1e-9 * max(1.0, abs(pos.get(a, 0.0)))
    )
    with store.session() as s:
        row = s.get(RiskState, "alpaca-paper")
        rules = row.data.get("rules", {}) if row is not None else {}
    halts = sorted(
        f"{rule}.{k}" for rule, arrays in rules.items() for k, v in arrays.items()
        if k in ("dead", "day_halt", "halted") and any(np.ravel(v["data"]))
    )  # fmt: skip
    print(f"risk halts in force at the end: {halts or 'none'}")
    return {"duplicates": dup, "orphans": orphans, "lost_fills": lost, "position_mismatches": mism}


if __name__ == "__main__":
    sys.exit(main())
