"""The backtest report a person reads: an HTML tearsheet, its PNG plots and a metrics JSON.

``write_report(out_dir, equity, times, timeframe, benchmarks=..., ledger=...)`` writes, ATOMICALLY (into a
temporary sibling folder that then replaces ``out_dir``; a reader sees the old report or the new one, never
half of one):

* ``report.html``: self-contained (plots embedded as base64 PNG, each linked to its file) with the period,
  a metrics table (strategy beside every benchmark), a per-asset trade table and the plots.
* ``equity.png``: cumulative return of the strategy and the benchmarks (each rebased to its own first bar).
* ``drawdown.png``: drawdown of the strategy (and benchmark lines).
* ``trades.png`` (only with a ledger that has fills): fees (maker/taker) and fills (buys/sells) per asset.
* ``metrics.json``: ``{"title", "generated_at", "timeframe", "start", "end", "summary": summarize(...)
  .to_dict(), "per_asset": {...}, "strategies": {...}, "metadata": {...}}``, standard JSON (NaN/inf
  written as null).

``strategies``: the "strategies to beat" (``cappuccino_core.strategies.backtests``) on the same window,
name -> row of figures (label, params, total_return, sharpe, max_drawdown, turnover_per_year, fees_share,
fills), shown in their own table beside the policy's own figures.

Every number comes from ``cappuccino_core.metrics``; nothing here computes a statistic of its own.
Plots use matplotlib's Agg canvas directly (no pyplot state, safe in worker threads).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cappuccino_core.backtest.report_html import render_html
from cappuccino_core.common.atomic import atomic_dir
from cappuccino_core.metrics import (
    Ledger,
    PerformanceSummary,
    as_equity_curve,
    drawdown_series,
    stats_by_asset,
    summarize,
    to_datetime64,
)

HTML_NAME = "report.html"
METRICS_NAME = "metrics.json"
EQUITY_PNG = "equity.png"
DRAWDOWN_PNG = "drawdown.png"
TRADES_PNG = "trades.png"


@dataclass(frozen=True)
class ReportFiles:
    """The files one report consists of, and the summary they show."""

    directory: Path
    html: Path
    metrics_json: Path
    pngs: dict[str, Path]  # plot name -> file
    summary: PerformanceSummary


def write_report(
    out_dir: str | Path,
    equity: Any,
    times: Any,
    timeframe: str,
    *,
    benchmarks: Mapping[str, Any] | None = None,
    ledger: Any = None,
    title: str = "Backtest report",
    summary: PerformanceSummary | None = None,
    metadata: Mapping[str, Any] | None = None,
    risk_free: float = 0.0,
    strategies: Mapping[str, Mapping[str, Any]] | None = None,
) -> ReportFiles:
    """Write the report for one equity curve (T,) with UTC bar times (T,) into ``out_dir`` (replaced).

    ``times``: numpy datetime64, int64 ns since the epoch (MarketDataset.times), a polars/pandas datetime
    series (tz-aware ones are converted to UTC; naive ones are taken as UTC) or a list of datetimes.
    ``benchmarks``: name -> equity (T,), e.g. ``metrics.standard_benchmarks(prices, tickers, initial_cash)``.
    ``ledger``: the fills (frame or dict with time, asset, side, quantity, price, fee, liquidity).
    ``summary``: pass the one already computed (it must describe this equity); computed otherwise.
    ``metadata``: JSON-serialisable context (model id, dataset hash, fee settings) copied into the JSON and
    shown in the HTML.
    """
    out = Path(out_dir)
    e = as_equity_curve(equity)
    t = to_datetime64(times)
    if t.shape != e.shape:
        raise ValueError(f"times has {t.shape[0]} entries, equity {e.shape[0]}: one time per equity point")
    if e.shape[0] > 1 and np.any(np.diff(t) <= np.timedelta64(0, "ns")):
        raise ValueError("times must be strictly increasing")
    benches = {str(k): as_equity_curve(v, name=f"benchmark {k!r}") for k, v in (benchmarks or {}).items()}
    for k, b in benches.items():
        if b.shape != e.shape:
            raise ValueError(f"benchmark {k!r} has {b.shape[0]} points, equity {e.shape[0]}")
    led = Ledger.from_any(ledger) if ledger is not None else None
    if summary is None:
        summary = summarize(e, timeframe, ledger=led, benchmarks=benches, risk_free=risk_free)
    per_asset = stats_by_asset(led) if led is not None and len(led) else {}

    doc = {
        "title": title,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "timeframe": timeframe,
        "start": _iso(t[0]),
        "end": _iso(t[-1]),
        "summary": summary.to_dict(),
        "per_asset": _json_safe(per_asset),
        "strategies": _json_safe({str(k): dict(v) for k, v in (strategies or {}).items()}),
        "metadata": _json_safe(dict(metadata or {})),
    }

    with atomic_dir(out) as tmp:
        pngs = {"equity": tmp / EQUITY_PNG, "drawdown": tmp / DRAWDOWN_PNG}
        _plot_equity(pngs["equity"], t, e, benches, title)
        _plot_drawdown(pngs["drawdown"], t, e, benches)
        if per_asset:
            pngs["trades"] = tmp / TRADES_PNG
            _plot_trades(pngs["trades"], per_asset)
        (tmp / METRICS_NAME).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        (tmp / HTML_NAME).write_text(render_html(doc, summary, per_asset, pngs, METRICS_NAME))
    return ReportFiles(
        directory=out,
        html=out / HTML_NAME,
        metrics_json=out / METRICS_NAME,
        pngs={k: out / p.name for k, p in pngs.items()},
        summary=summary,
    )


def _iso(t: np.datetime64) -> str:
    return str(np.datetime_as_string(t.astype("datetime64[s]"), unit="s")) + "Z"


def _json_safe(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, (str, type(None))):
        return x
    return str(x)


# ---------------------------------------------------------------------------------------------- plots


def _figure(height: float = 4.0) -> tuple[Figure, Any]:
    fig = Figure(figsize=(10, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png")


def _plot_equity(
    path: Path, t: np.ndarray, e: np.ndarray, benches: dict[str, np.ndarray], title: str
) -> None:
    fig, ax = _figure()
    ax.plot(t, (e / e[0] - 1.0) * 100, label="strategy", color="black", linewidth=1.4)
    for name, b in benches.items():
        ax.plot(t, (b / b[0] - 1.0) * 100, label=name, linewidth=1.0, alpha=0.85)
    ax.axhline(0.0, color="grey", linewidth=0.6)
    ax.set_title(f"{title}: cumulative return")
    ax.set_ylabel("return since start (%)")
    ax.set_xlabel("time (UTC)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    _save(fig, path)


def _plot_drawdown(path: Path, t: np.ndarray, e: np.ndarray, benches: dict[str, np.ndarray]) -> None:
    fig, ax = _figure(3.0)
    dd = drawdown_series(e) * 100
    ax.fill_between(t, dd, 0.0, color="firebrick", alpha=0.35, label="strategy")
    ax.plot(t, dd, color="firebrick", linewidth=0.8)
    for name, b in benches.items():
        ax.plot(t, drawdown_series(b) * 100, linewidth=0.8, alpha=0.8, label=name)
    ax.set_title("drawdown from running peak")
    ax.set_ylabel("drawdown (%)")
    ax.set_xlabel("time (UTC)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left")
    _save(fig, path)


def _plot_trades(path: Path, per_asset: dict[str, dict[str, float]]) -> None:
    fig = Figure(figsize=(10, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax_fee, ax_n = fig.subplots(1, 2)
    assets = list(per_asset)
    x = np.arange(len(assets))
    maker = np.array([_num(per_asset[a]["maker_fees"]) for a in assets])
    taker = np.array([_num(per_asset[a]["taker_fees"]) for a in assets])
    total = np.array([per_asset[a]["fees"] for a in assets], dtype=float)
    other = np.maximum(total - maker - taker, 0.0)  # fees of fills without a liquidity flag
    ax_fee.bar(x, taker, label="taker", color="indianred")
    ax_fee.bar(x, maker, bottom=taker, label="maker", color="steelblue")
    if other.any():
        ax_fee.bar(x, other, bottom=taker + maker, label="unflagged", color="grey")
    ax_fee.set_title("fees paid per asset (quote currency)")
    buys = np.array([per_asset[a]["buys"] for a in assets], dtype=float)
    sells = np.array([per_asset[a]["sells"] for a in assets], dtype=float)
    ax_n.bar(x - 0.2, buys, width=0.4, label="buys", color="seagreen")
    ax_n.bar(x + 0.2, sells, width=0.4, label="sells", color="darkorange")
    ax_n.set_title("fills per asset")
    ax_n.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (ax_fee, ax_n):
        ax.set_xticks(x, assets, rotation=30, ha="right")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(loc="best")
    _save(fig, path)


def _num(v: Any) -> float:
    v = float(v)
    return v if math.isfinite(v) else 0.0
