"""The accelerated soak: the ensemble in the bar loop over replayed 5m bars (72 h by default) against the
loopback exchange, with broker faults and a simulated prop-firm breach.

* Bars: the newest ``hours`` of the configured tickers' 5m sample, replayed as fast as the loop runs.
* Faults: every ``fault_every`` bars one 503 / 429 / dropped connection on every exchange route (once).
* Breach: from hour ``crash_hour`` every price is ``1 - crash`` of what it was (a gap down): an account
  holding its position cap loses more than the prop firm's daily limit, and the guard must flatten it and
  refuse buys for the rest of that UTC day.
* Reported: bars replayed, errors, the breach time, buys after it the same day (must be 0), every high-tier
  signal (recorded, and sent through ``notifier`` when given), and the live win rate beside the backtest's
  on the same bars and rules.
* Forecasts: ``tables_for(frames)``; :func:`model_tables` makes it from trained models (each forecast
  from its stored FeatureSpec over the replayed, crashed bars: causal, so the gap is seen only from its bar
  on). Members are weighted by ``[supervised] weight_*`` (a name without a weight counts 1).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select

from cappuccino_core.config import Settings
from cappuccino_core.state.schema import OrderRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.supervised.ensemble import (
    EnsemblePolicy,
    ForecastTable,
    bar_loop_decider,
    forecast_table,
)
from cappuccino_core.supervised.signals import SignalBoard
from cappuccino_core.supervised.tracking import SupervisedModel
from cappuccino_core.trading.risk.manager import RiskManager, rules_from_config
from cappuccino_core.trading.risk.signal_caps import SignalCaps
from cappuccino_core.trading.risk.signal_threshold import SignalThreshold

BAR_NS = 300 * 10**9
PRICE_COLS = ("open", "high", "low", "close")


def crashed_frames(frames: dict[str, pl.DataFrame], from_row: int, crash: float) -> dict[str, pl.DataFrame]:
    """``frames`` with every price from row ``from_row`` on multiplied by ``1 - crash``."""
    out = {}
    for k, df in frames.items():
        f = np.where(np.arange(df.height) >= from_row, 1.0 - crash, 1.0)
        out[k] = df.with_columns([(pl.col(c) * pl.Series(f)).alias(c) for c in PRICE_COLS])
    return out


def model_tables(
    models: Sequence[SupervisedModel],
) -> Callable[[dict[str, pl.DataFrame]], list[ForecastTable]]:
    """``tables_for`` of trained models: each model's :func:`forecast_table` on the given frames."""

    def tables_for(frames: dict[str, pl.DataFrame]) -> list[ForecastTable]:
        return [forecast_table(m, frames) for m in models]

    return tables_for


def _weights(settings: Settings, tables: Sequence[ForecastTable]) -> dict[str, float]:
    configured = {
        "lstm": settings.supervised.weight_lstm,
        "transformer": settings.supervised.weight_transformer,
    }
    return {t.name: configured.get(t.name, 1.0) for t in tables}


def _risk(settings: Settings, board: SignalBoard) -> RiskManager:
    g = settings.gates
    caps = SignalCaps(board, g.supervised_max_signals_per_hour, g.supervised_max_high_tier_per_hour)
    return RiskManager([SignalThreshold(board), caps, *rules_from_config(settings.risk)])


def soak(
    settings: Settings,
    tables_for: Callable[[dict[str, pl.DataFrame]], Sequence[ForecastTable]],
    *,
    hours: float = 72.0,
    crash_hour: float = 36.0,
    crash: float = 0.3,
    fault_every: int = 12,
    notifier: Any = None,
) -> dict[str, Any]:
    """Run the soak (see the module docstring); ``tables_for(frames)`` gives the supervised members'
    forecasts on the replayed (crashed) frames; ``notifier`` hears every high-tier signal."""
    from cappuccino_core.loopback.faults import Fault
    from cappuccino_core.trading.brokers.factory import make_broker, venue_symbol
    from cappuccino_core.trading.loop.metrics import trade_metrics
    from cappuccino_core.trading.loop.replay import ReplayBars, load_bars
    from cappuccino_core.trading.loop.trader import BarLoop

    base = load_bars(settings, "5m", source="sample")
    n = int(hours * 12)
    if n > len(base.times):
        raise ValueError(f"{hours} h of 5m bars need {n} bars; the sample has {len(base.times)}")
    start = len(base.times) - n
    frames = crashed_frames(base.frames, start + int(crash_hour * 12), crash)
    close = np.stack([frames[t]["close"].to_numpy() for t in base.tickers], axis=1)
    bars = ReplayBars(base.tickers, base.times, close, base.volume, frames)
    g = settings.gates
    board = SignalBoard(g.supervised_confidence_threshold, g.supervised_high_tier, notifier=notifier)
    tables = list(tables_for(frames))
    ens = EnsemblePolicy(tables, _weights(settings, tables), board=board)
    risk = _risk(settings, board)
    raw: Any = make_broker(settings, "local", frames=frames)
    assets = tuple(venue_symbol(t, "local") for t in bars.tickers)
    run_id = f"soak-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    store = StateStore(settings.paths.state_url)
    kinds = [Fault.server_error(503), Fault.rate_limit(0), Fault.drop()]
    errors, decided, faults = 0, 0, 0
    try:
        loop = BarLoop(
            raw, store, risk, settings.env, bars.tickers, bar_loop_decider(ens, bars.times, bars.tickers),
            run_id=run_id, bar_ns=BAR_NS, max_age_s=settings.risk.max_bar_age_s, assets=assets,
            model=ens.name,
        )  # fmt: skip
        loop.reconcile()
        for t in range(start, len(bars.times)):
            ts = int(bars.times[t])
            raw.on_bar(
                datetime.fromtimestamp((ts + BAR_NS) / 1e9, UTC), dict(zip(assets, close[t], strict=True))
            )
            if (t - start) % fault_every == fault_every - 1:
                raw.server.faults.add("*", kinds[faults % len(kinds)], times=1)
                faults += 1
            res = loop.on_bar(t, ts, close[t], ts + BAR_NS)
            errors += res.error is not None
            decided += res.skipped is None
        loop.reconcile()
        loop.flush()
    finally:
        raw.close()
    report = trade_metrics(store, loop.broker.name, run_id, "5m")
    report.update(_breach(store, run_id, risk, int(bars.times[start + int(crash_hour * 12)])))
    report.update(
        bars_replayed=n, decided=decided, broker_errors=errors, faults_injected=faults,
        high_tier_signals=len(board.high_tier_events()), signals=board.n_signal, forecasts=board.n_forecasts,
        model=ens.name, run_id=run_id, max_confidence=_max_confidence(ens, bars.times[start:]),
        backtest_win_rate=_backtest_win_rate(settings, frames, tables_for, start),
    )  # fmt: skip
    return report


def _max_confidence(ens: EnsemblePolicy, times: np.ndarray) -> float:
    """The highest confidence (max(p, 1 - p)) of the ensemble's combined forecast over the replayed bars."""
    p = ens.combined_p_up(times) if ens.tables else np.empty(0)
    p = p[np.isfinite(p)]
    return float(np.max(np.maximum(p, 1.0 - p))) if p.size else float("nan")


def _breach(store: StateStore, run_id: str, risk: RiskManager, crash_ns: int) -> dict[str, Any]:
    """The prop guard's state and the buys placed after the crash on the same UTC day (must be none)."""
    crash = datetime.fromtimestamp(crash_ns / 1e9, UTC)
    day_end = datetime(crash.year, crash.month, crash.day, tzinfo=UTC).timestamp() + 86_400
    with store.session() as s:
        orders = list(s.scalars(select(OrderRow).where(OrderRow.model_run_id == run_id)))
    after = [o for o in orders if o.side == "buy" and crash.timestamp() <= _ts(o.bar_time) < day_end]
    status = risk.status()
    return {
        "crash_time": crash.isoformat(),
        "buys_after_breach_same_day": len(after),
        "prop_firm_halted": status.get("prop_firm", []),
        "orders": len(orders),
    }


def _ts(d: datetime) -> float:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def _backtest_win_rate(
    settings: Settings,
    frames: dict[str, pl.DataFrame],
    tables_for: Callable[[dict[str, pl.DataFrame]], Sequence[ForecastTable]],
    start: int,
) -> float:
    """Win rate of closed round trips of the same ensemble and rules in the backtester on the same bars."""
    from cappuccino_core.backtest.runner import backtest
    from cappuccino_core.config.features import FeaturesConfig
    from cappuccino_core.features.builder import build_dataset
    from cappuccino_core.metrics import trade_win_rate

    data = build_dataset(frames, FeaturesConfig(indicators=[{"name": "close"}]), "5m")
    g = settings.gates
    board = SignalBoard(g.supervised_confidence_threshold, g.supervised_high_tier)
    tables = list(tables_for(frames))
    ens = EnsemblePolicy(tables, _weights(settings, tables), board=board)
    first = int(np.searchsorted(data.times, int(frames[next(iter(frames))]["time"].dt.epoch("ns")[start])))
    res = backtest(ens, data, settings.env, settings.costs, start=first, rules=[_risk(settings, board)])
    return float(trade_win_rate(res.ledger))
