"""The accelerated soak: the ensemble in the bar loop over replayed 5m bars (72 h by default) against the
loopback exchange, with broker faults and a simulated prop-firm breach.

* Bars: the newest ``hours`` of the configured tickers' 5m sample (or of the given ``frames``, e.g. the
  planted market of ``scripts/soak_planted.py``), replayed as fast as the loop runs.
* Faults: every ``fault_every`` bars one 503 / 429 / dropped connection on every exchange route (once).
* Breach: from hour ``crash_hour`` every price is ``1 - crash`` of what it was (a gap down): an account
  holding its position cap loses more than the prop firm's daily limit, and the guard must flatten it and
  refuse buys for the rest of that UTC day.
* Reported: bars replayed, errors, the breach time, when the prop guard first halted, buys after the breach
  the same day (must be 0), signals by tier, every high-tier signal (recorded, and sent through the
  notifier when given: the outcomes counted, sent / deduplicated / rate_limited), and the live win rate and
  round trips beside the backtest's on the same bars and rules (its first decision on the soak's first bar).
  Live round trips match sells against the quantity held: a buy's fee kept in kind (Alpaca) is not held.
  The backtest charges ``[costs]`` slippage, the loopback venue half its ``[trading] sim_spread_bps``: with
  those equal the two win rates agree trade for trade.
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


def replay_frames(frames: dict[str, pl.DataFrame]) -> Any:
    """The loop's :class:`ReplayBars` of aligned ``frames`` (every frame on the same bar times)."""
    from cappuccino_core.trading.loop.replay import ReplayBars

    first = next(iter(frames.values()))
    times = first["time"].dt.epoch("ns").to_numpy()
    for k, df in frames.items():
        if df.height != len(times) or not np.array_equal(df["time"].dt.epoch("ns").to_numpy(), times):
            raise ValueError(f"soak frames must share their bar times; {k!r} does not")
    close = np.stack([frames[t]["close"].to_numpy() for t in frames], axis=1)
    volume = np.stack([frames[t]["volume"].to_numpy() for t in frames], axis=1)
    return ReplayBars(tuple(frames), times, close, volume, dict(frames))


class SimClock:
    """The replay's clock: the close time of the bar being replayed (a notifier's rate limit and dedupe
    windows then run on market time, not on the seconds the accelerated replay takes)."""

    def __init__(self) -> None:
        self.now = datetime.fromtimestamp(0, UTC)

    def __call__(self) -> datetime:
        return self.now


class CountingNotifier:
    """Wraps a notifier and tallies the outcome of every notification (sent, deduplicated, ...)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.outcomes: dict[str, int] = {}

    def notify(self, event: Any) -> str:
        """Pass ``event`` on; count what the inner notifier returned."""
        status = str(self.inner.notify(event))
        self.outcomes[status] = self.outcomes.get(status, 0) + 1
        return status


def model_tables(
    models: Sequence[SupervisedModel],
) -> Callable[[dict[str, pl.DataFrame]], list[ForecastTable]]:
    """``tables_for`` of trained models: each model's :func:`forecast_table` on the given frames."""

    def tables_for(frames: dict[str, pl.DataFrame]) -> list[ForecastTable]:
        return [forecast_table(m, frames) for m in models]

    return tables_for


def crash_hour_when_long(
    settings: Settings,
    tables_for: Callable[[dict[str, pl.DataFrame]], Sequence[ForecastTable]],
    frames: dict[str, pl.DataFrame],
    *,
    hours: float,
    not_before: float,
    min_buys: int = 1,
) -> float:
    """The first hour (from the start of the soak's window of ``hours`` over ``frames``) at or after
    ``not_before`` whose gap-down bar comes when every asset has had at least ``min_buys`` buy signals since
    its last sell signal: the gap hits an account long every coin (each buy is up to ``[risk]
    max_trade_fraction`` of equity), the case the prop-firm guard exists for. The forecasts before that bar
    are causal, so they are the same on the crashed frames. ValueError when no such bar exists."""
    n = int(hours * 12)
    times = next(iter(frames.values()))["time"].dt.epoch("ns").to_numpy()
    if n > len(times):
        raise ValueError(f"{hours} h of 5m bars need {n} bars; the frames have {len(times)}")
    tables = list(tables_for(frames))
    ens = EnsemblePolicy(tables, _weights(settings, tables))
    p = ens.combined_p_up(times[len(times) - n :])
    thr = settings.gates.supervised_confidence_threshold
    buys = np.zeros(p.shape[1], dtype=np.int64)  # buy signals per asset since its last sell signal
    for row in range(n - 1):
        buys = np.where(p[row] <= 1.0 - thr, 0, buys + (p[row] >= thr))
        if row + 1 >= not_before * 12 and np.all(buys >= min_buys):
            return (row + 1) / 12.0
    raise ValueError(f"no bar from hour {not_before} on finds {min_buys} buy signals held on every asset")


def _weights(settings: Settings, tables: Sequence[ForecastTable]) -> dict[str, float]:
    configured = {
        "lstm": settings.supervised.weight_lstm,
        "transformer": settings.supervised.weight_transformer,
    }
    return {t.name: configured.get(t.name, 1.0) for t in tables}


def signal_risk(settings: Settings, board: SignalBoard) -> RiskManager:
    """The signal rules (threshold, per-hour caps) reading ``board``, in front of the ``[risk]`` rules."""
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
    notify: Any = None,
    frames: dict[str, pl.DataFrame] | None = None,
) -> dict[str, Any]:
    """Run the soak (see the module docstring); ``tables_for(frames)`` gives the supervised members'
    forecasts on the replayed (crashed) frames. ``frames``: the aligned 5m bars to replay (default: the
    configured tickers' sample); their newest ``hours`` are replayed, the older rows are the forecasters'
    warm-up. High-tier signals go through ``notifier``, or through an apprise notifier of the ``notify``
    config (a ``NotifyConfig``) on the replay's clock; the outcomes are counted in ``notifications``."""
    from cappuccino_core.trading.loop.metrics import trade_metrics
    from cappuccino_core.trading.loop.replay import ReplayBars, load_bars

    base = load_bars(settings, "5m", source="sample") if frames is None else replay_frames(frames)
    n = int(hours * 12)
    if n > len(base.times):
        raise ValueError(f"{hours} h of 5m bars need {n} bars; the frames have {len(base.times)}")
    start = len(base.times) - n
    crashed = crashed_frames(base.frames, start + round(crash_hour * 12), crash)
    close = np.stack([crashed[t]["close"].to_numpy() for t in base.tickers], axis=1)
    bars = ReplayBars(base.tickers, base.times, close, base.volume, crashed)
    store, clock = StateStore(settings.paths.state_url), SimClock()
    if notify is not None:
        from cappuccino_core.notify import AppriseNotifier

        notifier = AppriseNotifier(notify, store, clock=clock)
    counting = CountingNotifier(notifier) if notifier is not None else None
    g = settings.gates
    board = SignalBoard(g.supervised_confidence_threshold, g.supervised_high_tier, notifier=counting)
    tables = list(tables_for(crashed))
    ens = EnsemblePolicy(tables, _weights(settings, tables), board=board)
    risk = signal_risk(settings, board)
    run_id = f"soak-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    run = _replay(settings, bars, start, ens, risk, store, run_id, fault_every, clock)
    report = trade_metrics(store, run["broker"], run_id, "5m", fee_in_kind=run["fee_in_kind"])
    report.update(_breach(store, run_id, risk, int(bars.times[start + round(crash_hour * 12)])))
    bt_win, bt_trips = _backtest_win_rate(settings, crashed, tables_for, start)
    report.update(
        bars_replayed=n, decided=run["decided"], broker_errors=run["errors"], faults_injected=run["faults"],
        high_tier_signals=len(board.high_tier_events()), signals=board.n_signal, forecasts=board.n_forecasts,
        signals_by_tier={"signal": board.n_signal - board.n_high, "high": board.n_high},
        notifications=dict(counting.outcomes) if counting is not None else {},
        model=ens.name, run_id=run_id, max_confidence=_max_confidence(ens, bars.times[start:]),
        backtest_win_rate=bt_win, backtest_round_trips=bt_trips,
        prop_firm_halt_time=run["prop_firm_halt_time"],
    )  # fmt: skip
    report.setdefault("round_trips", 0)
    return report


def _replay(
    settings: Settings,
    bars: Any,
    start: int,
    ens: EnsemblePolicy,
    risk: RiskManager,
    store: StateStore,
    run_id: str,
    fault_every: int,
    clock: SimClock,
) -> dict[str, Any]:
    """Replay ``bars`` from row ``start`` through the bar loop against the loopback exchange, a fault on
    every route every ``fault_every`` bars; returns the counts and the broker's name."""
    from cappuccino_core.loopback.faults import Fault
    from cappuccino_core.trading.brokers.factory import make_broker, venue_symbol
    from cappuccino_core.trading.loop.trader import BarLoop

    raw: Any = make_broker(settings, "local", frames=bars.frames)
    assets = tuple(venue_symbol(t, "local") for t in bars.tickers)
    kinds = [Fault.server_error(503), Fault.rate_limit(0), Fault.drop()]
    errors, decided, faults = 0, 0, 0
    halted_at: str | None = None
    try:
        loop = BarLoop(
            raw, store, risk, settings.env, bars.tickers, bar_loop_decider(ens, bars.times, bars.tickers),
            run_id=run_id, bar_ns=BAR_NS, max_age_s=settings.risk.max_bar_age_s, assets=assets,
            model=ens.name,
        )  # fmt: skip
        loop.reconcile()
        for t in range(start, len(bars.times)):
            ts = int(bars.times[t])
            clock.now = datetime.fromtimestamp((ts + BAR_NS) / 1e9, UTC)
            raw.on_bar(clock.now, dict(zip(assets, bars.close[t], strict=True)))
            if (t - start) % fault_every == fault_every - 1:
                raw.server.faults.add("*", kinds[faults % len(kinds)], times=1)
                faults += 1
            res = loop.on_bar(t, ts, bars.close[t], ts + BAR_NS)
            errors += res.error is not None
            decided += res.skipped is None
            if halted_at is None and any(risk.status().get("prop_firm", [])):
                halted_at = clock.now.isoformat()  # the first bar at whose close the prop guard halts
        loop.reconcile()
        loop.flush()
    finally:
        raw.close()
    return {
        "errors": errors, "decided": decided, "faults": faults, "broker": loop.broker.name,
        "fee_in_kind": bool(loop.broker.fee_in_kind), "prop_firm_halt_time": halted_at,
    }  # fmt: skip


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
) -> tuple[float, int]:
    """Win rate and count of the closed round trips of the same ensemble and rules in the backtester on
    the same bars."""
    from cappuccino_core.config.features import FeaturesConfig
    from cappuccino_core.features.builder import build_dataset

    data = build_dataset(frames, FeaturesConfig(indicators=[{"name": "close"}]), "5m")
    g = settings.gates
    board = SignalBoard(g.supervised_confidence_threshold, g.supervised_high_tier)
    tables = list(tables_for(frames))
    ens = EnsemblePolicy(tables, _weights(settings, tables), board=board)
    return ensemble_win_rate(settings, ens, board, data, frames, start)


def ensemble_win_rate(
    settings: Settings, ens: Any, board: SignalBoard, data: Any, frames: dict[str, pl.DataFrame], start: int
) -> tuple[float, int]:
    """Win rate and count of the closed round trips of ``ens`` in the backtester on ``data``, the signal
    rules reading ``board`` in front of ``[risk]``, deciding from row ``start`` of ``frames`` on."""
    from cappuccino_core.backtest.runner import backtest
    from cappuccino_core.metrics import round_trips, trade_win_rate

    first = int(np.searchsorted(data.times, int(frames[next(iter(frames))]["time"].dt.epoch("ns")[start])))
    # The backtester's first decision is the window's first bar with a full observation lookback: start the
    # window lookback - 1 bars early so that it decides on that row's bar, as the bar loop does.
    first = max(0, first - (data.spec.lookback - 1))
    res = backtest(ens, data, settings.env, settings.costs, start=first, rules=[signal_risk(settings, board)])
    trips = round_trips(res.ledger)
    return float(trade_win_rate(trips)), len(trips)
