"""A replayed week of the bundled sample through the full loop with the paper broker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.state.schema import FillRow, OrderRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.loop.replay import load_closes, run_replay, trend_baseline
from cappuccino_core.trading.loop.trader import BarLoop
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.venues.sim.broker import SimBroker
from tests.env_presets import NO_BAND


def test_replay_week_reports_and_respects_caps(tmp_path: Path, sample_dir: Path) -> None:
    bars = load_closes({t: sample_dir / f"BINANCE_{t}USDT_1h.parquet" for t in ("BTC", "ETH", "SOL")})
    broker = SimBroker(CostsConfig(slippage_vol_mult=0.0), 10_000.0)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    risk = RiskConfig()
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0)
    trend = trend_baseline(bars.close)
    loop = BarLoop(broker, store, RiskManager.from_config(risk), env, bars.tickers, trend,
                   run_id="baseline", bar_ns=3_600 * 10**9, max_age_s=risk.max_bar_age_s,
                   assets=("BTC/USDT", "ETH/USDT", "SOL/USDT"))  # fmt: skip
    rep = run_replay(loop, bars, "1h", days=7)
    assert rep["bars_replayed"] == 168 and rep["bars"] + sum(rep["skipped"].values()) == 168
    with store.session() as s:
        n_orders = s.scalar(select(func.count()).select_from(OrderRow))
        n_fills = s.scalar(select(func.count()).select_from(FillRow))
    assert n_orders and n_fills == rep["fills"] > 0
    assert rep["fees"] > 0 and rep["maker_ratio"] == 0.0
    last = {f"{t}/USDT": p for t, p in zip(bars.tickers, bars.close[-1], strict=True)}
    equity = rep["final_cash"] + sum(q * last[a] for a, q in rep["positions"].items())
    for a, q in rep["positions"].items():  # within the 30% cap (a little drift after the last decision)
        assert q * last[a] <= 0.31 * equity
    assert np.isfinite(rep["live_sharpe"])


def test_conviction_hook_holds_buys_below_threshold(sample_dir: Path) -> None:
    from cappuccino_core.config.risk import ConvictionConfig
    from cappuccino_core.trading.loop.replay import conviction_hook

    bars = load_closes({"BTC": sample_dir / "BINANCE_BTCUSDT_1h.parquet"})
    qty = np.array([[1.0]])
    t = 1000
    assert conviction_hook(ConvictionConfig(threshold=0.0), bars)(qty, t).tolist() == [[1.0]]
    assert conviction_hook(ConvictionConfig(threshold=1.0), bars)(qty, t).tolist() == [[0.0]]
    assert conviction_hook(ConvictionConfig(threshold=1.0), bars)(-qty, t).tolist() == [[-1.0]]
