"""Page models: each gathers its data (training, gates, arena, trading, health modules) and adds the
charts the template shows. ``charts`` maps a chart name to its HTML (empty: nothing to draw)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cappuccino_core.dashboard import charts
from cappuccino_core.dashboard.arena import ROLE_ORDER, ArenaView, arena_view
from cappuccino_core.dashboard.gates import Candidate, candidates, verdict_counts
from cappuccino_core.dashboard.health import HealthView, health_view
from cappuccino_core.dashboard.sources import Sources
from cappuccino_core.dashboard.trading import TradingView, trading_view
from cappuccino_core.dashboard.training import TrainingView, training_view


@dataclass
class Page:
    """A dashboard page: its view object and its charts (name -> plotly HTML div)."""

    data: Any
    charts: dict[str, str] = field(default_factory=dict)


def training(src: Sources, study: str | None = None) -> Page:
    """The training page for ``study`` (default: the first study): its view plus the optimisation-history,
    parameter-importance and per-CPCV-split Sharpe charts where there is data."""
    v: TrainingView = training_view(src, study)
    page = Page(v)
    if v.history is not None and v.history.numbers:
        page.charts["history"] = charts.history(v.history.numbers, v.history.values, v.history.best_so_far)
    if v.importance:
        page.charts["importance"] = charts.bars(
            "Parameter importance (fANOVA)",
            list(v.importance),
            list(v.importance.values()),
            "share",
            pct=True,
        )
    if v.best is not None and v.best.rows:
        split = {
            f"trial {r['trial']}": {
                f"split {i}": s for i, s in enumerate(r["split_sharpes"]) if s is not None
            }
            for r in v.best.rows
        }
        if any(split.values()):
            page.charts["splits"] = charts.grouped_bars("Test Sharpe per CPCV split", split, "Sharpe")
    return page


def gates(src: Sources) -> Page:
    """The gates page: the candidates and their verdict counts, plus the stress gate's median return by
    regime for up to six recent candidates."""
    cands: list[Candidate] = candidates(src.store)
    page = Page({"candidates": cands, "counts": verdict_counts(cands)})
    stress = {
        c.run_id[:12]: {r["regime"]: r["median_return"] for r in c.gates["stress"].by_regime}
        for c in cands[:6]
        if "stress" in c.gates and c.gates["stress"].by_regime
    }
    if stress:
        page.charts["regimes"] = charts.grouped_bars(
            "Stress: median return by regime (latest candidates)", stress, "median return", pct=True
        )
    return page


def arena(src: Sources) -> Page:
    """The arena page: its view plus the roles-over-time chart and the incumbent vs challenger score per
    bout."""
    v: ArenaView = arena_view(src.store)
    page = Page(v)
    if v.roles:
        events = [(r.ts, r.run_id[:28], r.role) for r in v.roles]
        page.charts["roles"] = charts.timeline("Roles over time", events, ROLE_ORDER)
    if v.bouts:
        page.charts["bouts"] = charts.lines(
            "Bout scores (incumbent vs challenger)",
            list(range(1, len(v.bouts) + 1)),
            {
                "incumbent": [
                    b.incumbent_score if b.incumbent_score is not None else float("nan") for b in v.bouts
                ],
                "challenger": [
                    b.challenger_score if b.challenger_score is not None else float("nan") for b in v.bouts
                ],
            },
            "score",
            x_title="bout",
            markers=True,
        )
    return page


def trading(src: Sources, account: str | None = None) -> Page:
    """The trading page for the account with key ``account`` (``broker|run_id``; default: the first): its
    view plus the equity vs benchmarks and drawdown charts."""
    v: TradingView = trading_view(src, account)
    page = Page(v)
    if v.times:
        page.charts["equity"] = charts.lines(
            "Equity vs equal weight and BTC hold", v.times, {"model": v.equity, **v.benchmarks}, "equity"
        )
        page.charts["drawdown"] = charts.lines("Drawdown", v.times, {"drawdown": v.drawdown}, pct=True)
    return page


def health(src: Sources) -> Page:
    """The health page: its view, no charts."""
    v: HealthView = health_view(src)
    return Page(v)
