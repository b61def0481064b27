"""One session factory for paper, live and the hourly flow: the same bars give the same orders whether a paper
replay trades them in one process or a fresh session per bar does (as `trade live` and the hourly flow
run, the risk state coming back from the store each time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cappuccino_core.state.schema import OrderRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.loop import session as session_mod
from cappuccino_core.trading.loop.build import open_session
from cappuccino_core.trading.loop.replay import load_bars
from cappuccino_core.venues.sim.broker import SimBroker


def orders(state_url: str) -> list[tuple[Any, str, str, float]]:
    with StateStore(state_url).session() as s:
        rows = s.scalars(select(OrderRow).order_by(OrderRow.bar_time, OrderRow.asset, OrderRow.side)).all()
        return [(o.bar_time, o.asset, o.side, round(o.qty, 9)) for o in rows]


def with_state(settings: Any, path: Path) -> Any:
    paths = settings.paths.model_copy(update={"state_url": f"sqlite:///{path}"})
    return settings.model_copy(update={"paths": paths})


def test_replay_and_a_session_per_bar_place_the_same_orders(settings, sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = with_state(settings, tmp_path / "a.db"), with_state(settings, tmp_path / "b.db")
    rep = session_mod.run_paper(a, "sim", 2, "baseline", run_label="same")
    assert rep["fills"] > 0

    tf = settings.data.timeframe
    bars = load_bars(b, tf, source="sample")
    venue = SimBroker(b.costs, b.env.initial_cash, spread_bps=b.trading.sim_spread_bps)  # the account
    n = len(bars.times)
    for i, t in enumerate(range(n - 48, n)):  # the hourly way: a fresh session for every bar
        with open_session(b, "sim", "baseline", bars, tf, run_id="same", connected=venue) as s:
            if i == 0:
                s.loop.reconcile()
            s.tick(t)
    assert orders(b.paths.state_url) == orders(a.paths.state_url)
    assert len(orders(a.paths.state_url)) >= rep["fills"] > 0


def test_every_entry_point_builds_through_the_factory(settings, sample_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    real = session_mod.open_session

    seen: list[int] = []

    def spy(*args: Any, **kw: Any) -> Any:
        calls.append(args[1])
        seen.append(len(args[3].times))
        return real(*args, **kw)

    monkeypatch.setattr(session_mod, "open_session", spy)
    session_mod.run_paper(settings, "sim", 0.5, "baseline")
    import polars as pl

    from cappuccino_core.data.store import BarStore
    from cappuccino_core.trading.brokers.factory import sample_files

    store = BarStore(settings.paths.data_root)
    for t, path in sample_files(settings).items():
        store.write(settings.data.venue, t, "1h", pl.read_parquet(path).sort("time").tail(800))
    out = session_mod.live_tick(settings, "baseline", 0.5, "sim", now_ns=None)  # the hourly flow's call
    assert calls == ["sim", "sim"] and out["run_id"] == "baseline"
    assert seen[-1] == session_mod.history_bars(settings, "baseline") < 800  # a window, not the history
    with pytest.raises(Exception, match="real money"):
        session_mod.live_tick(settings, "baseline", 0.5, "coinbase")


def test_tail_bars_cuts_every_view_to_the_same_times(settings, sample_dir) -> None:  # type: ignore[no-untyped-def]
    bars = load_bars(settings, settings.data.timeframe, source="sample")
    tail = session_mod.tail_bars(bars, 30)
    assert len(tail.times) == 30 and (tail.times == bars.times[-30:]).all()
    assert (tail.close == bars.close[-30:]).all() and (tail.volume == bars.volume[-30:]).all()
    for t, df in tail.frames.items():
        assert df.height == 30 and (df["time"].dt.epoch("ns").to_numpy() == tail.times).all(), t
    assert session_mod.tail_bars(bars, 10**9) is bars
