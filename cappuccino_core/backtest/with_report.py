"""Backtest a policy on a window and write the report a person reads: the one path the CLI and flows use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cappuccino_core.backtest.report import ReportFiles, write_report
from cappuccino_core.backtest.runner import BacktestResult, backtest, run_env
from cappuccino_core.common.policy import Policy
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset


def backtest_with_report(
    policy: Policy,
    window: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    out: Path,
    name: str,
    metadata: dict[str, Any] | None = None,
    *,
    history: MarketDataset | None = None,
    strategies: bool = True,
) -> tuple[BacktestResult, ReportFiles]:
    """Run :func:`~.runner.backtest` over ``window`` and write the HTML tearsheet, PNGs and metrics JSON.

    ``strategies``: also backtest every strategy of ``cappuccino_core.strategies`` on the window (fitted on
    ``history``, the bars before it, when given) and show them in the report ("strategies to beat")."""
    result = backtest(policy, window, env, costs)
    rows = {}
    if strategies:
        from cappuccino_core.strategies.backtests import strategy_backtests

        rows = {k: r.row() for k, r in strategy_backtests(window, env, costs, history).items()}
    files = write_report(
        out,
        result.equity,
        result.times,
        window.spec.timeframe,
        benchmarks=result.benchmarks,
        ledger=result.ledger,
        title=f"Backtest: {name}",
        summary=result.summary,
        strategies=rows,
        metadata={
            "policy": name,
            "spec_hash": window.spec.content_hash(),
            "tickers": list(window.tickers),
            "costs": costs.model_dump(),
            "env": run_env(policy, env).model_dump(),
            "fees_paid": result.fees,
            "slippage_paid": result.slippage,
            **(metadata or {}),
        },
    )
    return result, files
