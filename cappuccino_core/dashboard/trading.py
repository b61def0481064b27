"""Trading page (paper and live): equity against equal weight and BTC hold, drawdown, positions, open
orders, fills with maker/taker, fees and the fee rates paid, win rate, trade duration, live Sharpe beside
the backtest's. Read from the state store the trader writes (equity snapshots carry the bar's open time)
and, for the benchmarks, the stored bars of the same times."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from cappuccino_core.dashboard.sources import Sources
from cappuccino_core.state.schema import EquitySnapshot, FillRow, OrderRow, PositionRow
from cappuccino_core.state.store import StateStore

log = logging.getLogger(__name__)

OPEN_STATUSES = ("new", "submitted", "open", "partially_filled")
LIVE_BROKERS = ("coinbase",)  # a broker that can touch real money; every other one is paper
_TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")


PAPER_SESSION_PREFIX = "paper-"  # a paper session's own id keys its orders and equity (trading/loop/session)


@dataclass(frozen=True)
class Account:
    """One trader's record: a broker and the id its orders and equity carry (a live model's run id, or a
    paper session's own id ``paper-<time>-<hex>``, whose report names the model)."""

    broker: str
    run_id: str
    snapshots: int
    first: datetime
    last: datetime
    model: str | None = None  # the model that traded (from a paper session's report); None: run_id
    timeframe: str | None = None  # from the session's report

    @property
    def kind(self) -> str:
        """'paper' for a paper session or a paper broker, 'live' for a broker that can touch real money."""
        if self.run_id.startswith(PAPER_SESSION_PREFIX):
            return "paper"
        return "live" if self.broker in LIVE_BROKERS else "paper"

    @property
    def key(self) -> str:
        """The account's key in the page's selector: ``broker|run_id``."""
        return f"{self.broker}|{self.run_id}"

    @property
    def model_id(self) -> str:
        """The id of the model that traded: the session report's model, else the run id."""
        return self.model or self.run_id


def session_report(reports_dir: Path, session: str) -> dict[str, Any] | None:
    """The report a paper session wrote (``<reports_dir>/paper_<broker>_<model>_<session>.json``)."""
    if not session.startswith(PAPER_SESSION_PREFIX) or not reports_dir.is_dir():
        return None
    for path in sorted(reports_dir.glob(f"*_{session}.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("unreadable session report %s: %s", path, exc)
            continue
        if isinstance(data, dict) and data.get("session") == session:
            return data
    return None


def accounts(store: StateStore, reports_dir: Path | None = None) -> list[Account]:
    """Every (broker, run id) with equity snapshots, the most recently active first; a paper session's model
    and timeframe from its report under ``reports_dir``."""
    with store.session() as s:
        rows = s.execute(
            select(
                EquitySnapshot.broker,
                EquitySnapshot.model_run_id,
                func.count(EquitySnapshot.id),
                func.min(EquitySnapshot.ts),
                func.max(EquitySnapshot.ts),
            ).group_by(EquitySnapshot.broker, EquitySnapshot.model_run_id)
        ).all()
    out = []
    for b, m, n, lo, hi in rows:
        rep = session_report(reports_dir, m) if reports_dir is not None else None
        model = str(rep["model"]) if rep and rep.get("model") else None
        tf = str(rep["timeframe"]) if rep and rep.get("timeframe") else None
        out.append(Account(b, m, int(n), _utc(lo), _utc(hi), model, tf))
    return sorted(out, key=lambda a: a.last, reverse=True)


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Fraction below the running peak at each point (0 at a new high, negative below it)."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size == 0:
        return eq
    return eq / np.maximum.accumulate(eq) - 1.0


def benchmark_curves(close: np.ndarray, start_equity: float, btc_column: int | None) -> dict[str, np.ndarray]:
    """Buy and hold from the first row, scaled to ``start_equity``: equal weight over every column (mean of
    the price relatives) and BTC alone (when ``btc_column`` is given); no fees."""
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0:
        return {}
    rel = c / c[0]
    out = {"equal weight": start_equity * rel.mean(axis=1)}
    if btc_column is not None:
        out["BTC hold"] = start_equity * rel[:, btc_column]
    return out


def fee_rates(fills: list[FillRow]) -> dict[str, float]:
    """Fees paid per unit of traded notional, by liquidity (MAKER/TAKER): the fee tier the venue applied."""
    fees: dict[str, float] = {}
    notional: dict[str, float] = {}
    for f in fills:
        liq = f.liquidity.upper()
        fees[liq] = fees.get(liq, 0.0) + float(f.fee)
        notional[liq] = notional.get(liq, 0.0) + abs(float(f.qty) * float(f.price))
    return {k: fees[k] / notional[k] for k in sorted(fees) if notional[k] > 0}


def infer_timeframe(times: list[datetime], default: str) -> str:
    """The timeframe whose length equals the median spacing of ``times`` (``default`` when none does)."""
    from cappuccino_core.data.timeframes import timeframe_seconds

    if len(times) < 2:
        return default
    step = float(np.median(np.diff([t.timestamp() for t in times])))
    for tf in _TIMEFRAMES:
        if timeframe_seconds(tf) == round(step):
            return tf
    return default


def _closes(src: Sources, tf: str, times: list[datetime]) -> tuple[np.ndarray, list[str]] | None:
    """Closes of the configured tickers at ``times`` (None when a ticker has no bar at one of them)."""
    import polars as pl

    from cappuccino_core.data.market import Source, read_bars

    want = pl.DataFrame({"time": [t.replace(tzinfo=None) for t in times]})
    cols: list[np.ndarray] = []
    tickers = list(src.settings.data.tickers)
    places: tuple[Source, ...] = ("store", "sample")  # a paper replay trades the sample; live the store
    for tk in tickers:
        for source in places:
            try:
                df = read_bars(src.settings, tk, tf, source=source, start=times[0])
            except FileNotFoundError:
                continue
            df = df.with_columns(pl.col("time").dt.replace_time_zone(None))
            got = want.join(df.select("time", "close"), on="time", how="left")["close"].to_numpy()
            got = got.astype(np.float64)
            if not np.isnan(got).any():
                cols.append(got)
                break
        else:
            return None
    return np.column_stack(cols), tickers


def backtest_sharpe(src: Sources, run_id: str) -> float | None:
    """The model's mean test Sharpe over its CPCV splits (MLflow ``test/sharpe``); None for a strategy."""
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        return None
    trk = src.tracking()
    if trk is None:
        return None
    try:
        v = trk.activate().get_run(run_id).data.metrics.get("test/sharpe")
    except Exception as exc:  # a run the tracking store does not know
        log.info("no backtest Sharpe for %s: %s", run_id, exc)
        return None
    return float(v) if v is not None and np.isfinite(v) else None


@dataclass
class TradingView:
    """Everything the trading page shows for the selected account: equity (with benchmarks) and drawdown
    over time, trade metrics, positions, open orders, the newest fills and fee rates (``accounts``
    empty: nothing traded yet)."""

    accounts: list[Account]
    account: Account | None = None
    times: list[datetime] = field(default_factory=list)
    equity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    benchmarks: dict[str, np.ndarray] = field(default_factory=dict)
    benchmark_note: str | None = None
    drawdown: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metrics: dict[str, Any] = field(default_factory=dict)
    timeframe: str = ""
    positions: list[PositionRow] = field(default_factory=list)
    open_orders: list[OrderRow] = field(default_factory=list)
    fills: list[FillRow] = field(default_factory=list)
    fee_rates: dict[str, float] = field(default_factory=dict)


def trading_view(src: Sources, key: str | None = None, fills_limit: int = 200) -> TradingView:
    """Build the trading page's view for the account with key ``key`` (default: the first), with at most
    ``fills_limit`` fills, newest first."""
    from cappuccino_core.trading.loop.metrics import trade_metrics
    from cappuccino_core.venues import fee_in_kind

    store = src.store
    reports = Path(src.settings.paths.reports_dir) / src.settings.trading.reports_subdir
    accts = accounts(store, reports)
    view = TradingView(accts)
    if not accts:
        return view
    acct = next((a for a in accts if a.key == key), accts[0])
    view.account = acct
    with store.session() as s:
        eq = list(
            s.scalars(
                select(EquitySnapshot)
                .where(EquitySnapshot.broker == acct.broker, EquitySnapshot.model_run_id == acct.run_id)
                .order_by(EquitySnapshot.ts, EquitySnapshot.id)
            )
        )
        view.positions = list(
            s.scalars(select(PositionRow).where(PositionRow.broker == acct.broker, PositionRow.qty != 0))
        )
        orders = select(OrderRow).where(OrderRow.broker == acct.broker, OrderRow.model_run_id == acct.run_id)
        view.open_orders = list(s.scalars(orders.where(OrderRow.status.in_(OPEN_STATUSES))))
        mine = (
            select(FillRow)
            .join(OrderRow, OrderRow.client_order_id == FillRow.client_order_id)
            .where(FillRow.broker == acct.broker, OrderRow.model_run_id == acct.run_id)
        )
        all_fills = list(s.scalars(mine.order_by(FillRow.ts, FillRow.id)))
    view.fills = all_fills[-fills_limit:][::-1]
    view.fee_rates = fee_rates(all_fills)
    view.times = [_utc(e.ts) for e in eq]
    view.equity = np.asarray([e.equity for e in eq], dtype=np.float64)
    view.drawdown = drawdown(view.equity)
    view.timeframe = acct.timeframe or infer_timeframe(view.times, src.settings.data.timeframe)
    view.metrics = trade_metrics(
        store,
        acct.broker,
        acct.run_id,
        view.timeframe,
        backtest_sharpe(src, acct.model_id),
        fee_in_kind=fee_in_kind(acct.broker),  # Alpaca keeps a buy's fee in the coin, as the replay counts
    )
    try:
        got = _closes(src, view.timeframe, view.times) if view.times else None
    except (FileNotFoundError, ValueError, OSError) as exc:
        got, view.benchmark_note = None, f"benchmarks unavailable: {exc}"
    if got is not None:
        close, tickers = got
        btc = next((i for i, t in enumerate(tickers) if t.upper().startswith("BTC/")), None)
        view.benchmarks = benchmark_curves(close, float(view.equity[0]), btc)
    elif view.benchmark_note is None:
        view.benchmark_note = "benchmarks unavailable: the stored bars do not cover every equity time"
    return view
