"""Replay: run stored bars through the bar loop as if they arrived live (paper trading on history).

``load_bars`` gives the configured tickers' bars (store or sample, aligned by
:func:`cappuccino_core.data.market.load_aligned`); ``load_closes`` reads given bar files (one per ticker) and
joins them on common times; ``trend_baseline`` is the
model-free decision (long while the close is above its moving average); ``run_replay`` drives a
:class:`BarLoop` over the last ``days`` of bars and returns the trade metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.config.risk import ConvictionConfig
from cappuccino_core.config.settings import Settings
from cappuccino_core.data.align import AlignedBars
from cappuccino_core.data.market import Source, load_aligned
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.trading.brokers.base import BarAware
from cappuccino_core.trading.conviction import ConvictionInputs, ConvictionScorer
from cappuccino_core.trading.loop.metrics import trade_metrics
from cappuccino_core.trading.loop.trader import BarLoop


@dataclass
class ReplayBars:
    """Close and volume of several tickers on their common bar open times, plus the raw frames they came
    from."""

    tickers: tuple[str, ...]
    times: np.ndarray  # (T,) int64 ns, bar open times
    close: np.ndarray  # (T, A)
    volume: np.ndarray  # (T, A)
    frames: dict[str, pl.DataFrame]


def load_closes(files: Mapping[str, Path]) -> ReplayBars:
    """Bars of several tickers joined on their common open times (inner join), in the given order."""
    if not files:
        raise ValueError("no bar files given")
    frames = {t: pl.read_parquet(p).sort("time") for t, p in files.items()}
    joined: pl.DataFrame | None = None
    for t, df in frames.items():
        part = df.select("time", pl.col("close").alias(f"c_{t}"), pl.col("volume").alias(f"v_{t}"))
        joined = part if joined is None else joined.join(part, on="time", how="inner")
    assert joined is not None
    if joined.height == 0:
        raise ValueError(f"bar files {sorted(files)} share no bar time")
    tickers = tuple(frames)
    times = joined["time"].dt.epoch("ns").to_numpy()
    close = np.column_stack([joined[f"c_{t}"].to_numpy() for t in tickers])
    volume = np.column_stack([joined[f"v_{t}"].to_numpy() for t in tickers])
    keep = set(joined["time"].to_list())
    frames = {t: df.filter(pl.col("time").is_in(list(keep))) for t, df in frames.items()}
    return ReplayBars(tickers, times, close, volume, frames)


def bars_from_aligned(aligned: AlignedBars) -> ReplayBars:
    """The loop's view of aligned bars: open times, closes and volumes in ticker order."""
    return ReplayBars(
        aligned.tickers, aligned.times_ns(), aligned.array("close"), aligned.array("volume"), aligned.frames
    )


def load_bars(
    settings: Settings, timeframe: str | None = None, *, source: Source = "auto", last_bars: int | None = None
) -> ReplayBars:
    """The configured tickers' bars at ``timeframe`` (default ``data.timeframe``) from ``source``, aligned;
    ``last_bars``: read only about the newest ones (data.market.load_bars)."""
    return bars_from_aligned(load_aligned(settings, timeframe, source=source, last_bars=last_bars))


def trend_baseline(close: np.ndarray, window: int = 24) -> Callable[[int], np.ndarray]:
    """Action +1 (target weight = the position cap) while close > its ``window``-bar mean, else 0 (flat)."""
    c = np.asarray(close, dtype=np.float64)
    csum = np.cumsum(np.vstack([np.zeros((1, c.shape[1])), c]), axis=0)

    def decide(t: int) -> np.ndarray:
        if t + 1 < window:
            return np.zeros((1, c.shape[1]))
        ma = (csum[t + 1] - csum[t + 1 - window]) / window
        return (c[t] > ma).astype(np.float64)[None, :]

    return decide


def run_replay(
    loop: BarLoop, bars: ReplayBars, timeframe: str, days: float, backtest_sharpe: float | None = None
) -> dict[str, Any]:
    """Feed the last ``days`` of ``bars`` to ``loop`` (each bar 'now' = its close) and report."""
    bar_ns = timeframe_seconds(timeframe) * 10**9
    n = min(len(bars.times), max(1, int(days * 86_400 * 10**9 // bar_ns)))
    start = len(bars.times) - n
    loop.reconcile()
    skipped: dict[str, int] = {}
    t0 = time.perf_counter()
    for t in range(start, len(bars.times)):
        ts = int(bars.times[t])
        if isinstance(loop.broker, BarAware):  # a simulated venue learns the bar (prices, clock, limits)
            loop.broker.on_bar(
                datetime.fromtimestamp((ts + bar_ns) / 1e9, UTC),
                dict(zip(loop.assets, bars.close[t], strict=True)),
            )
        res = loop.on_bar(t, ts, bars.close[t], ts + bar_ns)
        if res.skipped:
            key = res.skipped.split(":")[0]
            skipped[key] = skipped.get(key, 0) + 1
    loop.flush()
    elapsed = time.perf_counter() - t0
    report = trade_metrics(
        loop.store, loop.broker.name, loop.run_id, timeframe, backtest_sharpe, loop.broker.fee_in_kind
    )
    report.update(bars_replayed=n, skipped=skipped, seconds=elapsed, bars_per_s=n / max(elapsed, 1e-9))
    report["final_cash"] = loop.broker.cash()
    report["positions"] = loop.broker.positions()
    return report


def conviction_hook(
    cfg: ConvictionConfig, bars: ReplayBars, confidence: np.ndarray | None = None, vol_window: int = 24
) -> Callable[[np.ndarray, int], np.ndarray]:
    """A BarLoop ``conviction`` callable: buys whose conviction (bars up to t) is under threshold are held."""
    scorer = ConvictionScorer(cfg)
    history = max(cfg.trend_windows) + 1

    def hook(qty: np.ndarray, t: int) -> np.ndarray:
        lo = max(0, t + 1 - history)
        close, volume = bars.close[lo : t + 1], bars.volume[lo : t + 1]
        rets = np.diff(np.log(close[-(vol_window + 1) :]), axis=0)
        vol = rets.std(axis=0) if len(rets) > 1 else np.zeros(close.shape[1])
        out, _ = scorer.filter(qty, ConvictionInputs(close, volume, vol, None, confidence))
        return out

    return hook
