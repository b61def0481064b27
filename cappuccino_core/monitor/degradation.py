"""Degradation: a live or paper model against its own backtest (the backtest gate's stored figures).

:func:`assess` takes the model's recent equity curve (the last ``MonitorConfig.window_bars`` snapshots of
one broker) and its backtest figures, and returns the findings, each a sentence with both numbers:

* ``sharpe``: rolling Sharpe < backtest Sharpe - ``sharpe_margin``;
* ``drawdown``: max drawdown worse than the backtest's worst x ``drawdown_tolerance``;
* ``win_rate``: bar win rate (share of bars with a return > 0) outside backtest +- ``win_rate_band``;
* ``drift``: (:func:`paper_live_drift`) a model on a paper and a live venue whose total returns over the
  same period differ by more than ``drift_max``.

All figures come from :mod:`cappuccino_core.metrics`; the bar interval annualises the Sharpe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select

from cappuccino_core.config.monitor import MonitorConfig
from cappuccino_core.metrics import bar_win_rate, max_drawdown, sharpe_ratio, simple_returns, total_return
from cappuccino_core.state.schema import EquitySnapshot, GateVerdict
from cappuccino_core.state.store import StateStore


@dataclass(frozen=True)
class Curve:
    """Equity snapshots of one model on one broker, in time order."""

    broker: str
    times: list[datetime]
    equity: np.ndarray


@dataclass
class Assessment:
    """The monitor's verdict on one model on one venue."""

    run_id: str
    venue: str  # paper | live
    broker: str
    status: str  # ok | degraded | insufficient | no_backtest
    live: dict[str, Any] = field(default_factory=dict)
    backtest: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, str] = field(default_factory=dict)


def backtest_figures(store: StateStore, run_id: str) -> dict[str, Any] | None:
    """Figures of the newest backtest-gate verdict of ``run_id`` (None when it has none)."""
    with store.session() as s:
        q = (
            select(GateVerdict)
            .where(GateVerdict.run_id == run_id, GateVerdict.gate == "backtest")
            .order_by(GateVerdict.id.desc())
            .limit(1)
        )
        row = s.scalars(q).first()
    return None if row is None else dict(row.figures or {})


def curves(store: StateStore, run_id: str, last: int) -> list[Curve]:
    """The last ``last`` equity snapshots of ``run_id`` per broker."""
    with store.session() as s:
        brokers = list(
            s.scalars(select(EquitySnapshot.broker).where(EquitySnapshot.model_run_id == run_id).distinct())
        )
        out = []
        for b in sorted(brokers):
            q = (
                select(EquitySnapshot)
                .where(EquitySnapshot.model_run_id == run_id, EquitySnapshot.broker == b)
                .order_by(EquitySnapshot.ts.desc())
                .limit(last)
            )
            rows = list(reversed(list(s.scalars(q))))
            ts = [r.ts if r.ts.tzinfo else r.ts.replace(tzinfo=UTC) for r in rows]
            out.append(Curve(b, ts, np.asarray([r.equity for r in rows], dtype=np.float64)))
    return out


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def live_figures(equity: np.ndarray, timeframe: str) -> dict[str, float | None]:
    """Sharpe, max drawdown, bar win rate and total return of an equity curve (>= 3 points)."""
    rets = simple_returns(equity)
    return {
        "sharpe": _finite(sharpe_ratio(rets, timeframe)),
        "max_drawdown": _finite(max_drawdown(equity)),
        "win_rate": _finite(bar_win_rate(rets)),
        "total_return": _finite(total_return(equity)),
        "bars": int(equity.size),
    }


def assess(
    run_id: str, venue: str, curve: Curve, bt: dict[str, Any] | None, cfg: MonitorConfig, timeframe: str
) -> Assessment:
    """Compare one curve with the backtest figures (see the module docstring)."""
    a = Assessment(run_id, venue, curve.broker, "ok")
    if bt is None:
        a.status = "no_backtest"
        return a
    a.backtest = {k: bt.get(k) for k in ("sharpe", "max_drawdown", "win_rate", "total_return")}
    if curve.equity.size < cfg.min_bars:
        a.status, a.live = "insufficient", {"bars": int(curve.equity.size)}
        return a
    live = live_figures(curve.equity, timeframe)
    a.live = live
    bs, ls = _finite(bt.get("sharpe")), live["sharpe"]
    if bs is not None and ls is not None and ls < bs - cfg.sharpe_margin:
        a.findings["sharpe"] = f"rolling Sharpe {ls:.2f} < backtest {bs:.2f} - margin {cfg.sharpe_margin:g}"
    bd, ld = _finite(bt.get("max_drawdown")), live["max_drawdown"]
    if bd is not None and ld is not None and ld < bd * cfg.drawdown_tolerance - 1e-12:
        a.findings["drawdown"] = f"drawdown {ld:.2%} beyond the backtest's worst {bd:.2%}"
    bw, lw = _finite(bt.get("win_rate")), live["win_rate"]
    if bw is not None and lw is not None and abs(lw - bw) > cfg.win_rate_band + 1e-12:
        a.findings["win_rate"] = (
            f"win rate {lw:.1%} outside backtest {bw:.1%} +- {cfg.win_rate_band * 100:g} points"
        )
    a.status = "degraded" if a.findings else "ok"
    return a


def paper_live_drift(paper: Curve, live: Curve, cfg: MonitorConfig) -> str | None:
    """A sentence when the two venues' total returns over their common period differ by > ``drift_max``."""
    if not paper.times or not live.times:
        return None
    lo, hi = max(paper.times[0], live.times[0]), min(paper.times[-1], live.times[-1])

    def ret(c: Curve) -> float | None:
        idx = [i for i, t in enumerate(c.times) if lo <= t <= hi]
        return float(total_return(c.equity[idx])) if len(idx) >= 2 else None

    rp, rl = ret(paper), ret(live)
    if rp is None or rl is None or abs(rp - rl) <= cfg.drift_max:
        return None
    return f"paper {rp:+.2%} vs live {rl:+.2%} since {lo:%Y-%m-%d %H:%M} (limit {cfg.drift_max:.2%})"
