"""Gate 1: backtest on held-out real data, with thresholds that tighten as the study matures.

The tier is the one of ``GatesConfig.backtest_tiers`` with the largest ``min_trials`` not above the
number of COMPLETE trials in the model's study. Defaults (the issue): < 50 trials: lose less than 50%;
50-200: lose less than 20% and Sharpe > -0.5; 200-500: lose less than 10% and Sharpe > 0; 500+: profitable,
Sharpe > 0.3 and max drawdown < 15%. The verdict also reports the model's Sharpe next to the equal-weight
and BTC-hold benchmarks on the same window (from the one metrics module, through the backtest runner).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cappuccino_core.backtest.runner import BacktestResult, backtest, run_env
from cappuccino_core.common.policy import Policy
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.gates import BacktestTier, GatesConfig
from cappuccino_core.features.dataset import SOURCE_REAL, MarketDataset
from cappuccino_core.gates.verdict import Check, Verdict, check
from cappuccino_core.metrics import PerformanceSummary, bar_win_rate, simple_returns

GATE = "backtest"


def tier_for(n_complete_trials: int, cfg: GatesConfig) -> BacktestTier:
    """The backtest tier for a study with ``n_complete_trials`` COMPLETE trials: the one with the largest
    ``min_trials`` <= it."""
    if n_complete_trials < 0:
        raise ValueError(f"n_complete_trials must be >= 0; got {n_complete_trials}")
    return [t for t in cfg.backtest_tiers if t.min_trials <= n_complete_trials][-1]


def backtest_checks(summary: PerformanceSummary, tier: BacktestTier) -> list[Check]:
    """The tier's checks on a backtest summary (returns and drawdowns as fractions)."""
    checks = [check("total_return", summary.total_return, ">", -tier.max_loss, "max loss")]
    if tier.min_sharpe is not None:
        checks.append(check("sharpe", summary.sharpe, ">", tier.min_sharpe))
    if tier.require_profit:
        checks.append(check("profit", summary.total_return, ">", 0.0, "must be profitable"))
    if tier.max_drawdown is not None:
        checks.append(check("max_drawdown", -summary.max_drawdown, "<", tier.max_drawdown))
    return checks


def _figures(res: BacktestResult) -> dict[str, Any]:
    s = res.summary
    figs: dict[str, Any] = {
        "total_return": s.total_return,
        "sharpe": s.sharpe,
        "sortino": s.sortino,
        "max_drawdown": s.max_drawdown,
        # bar win rate (share of bars with a return > 0): what the degradation monitor compares live with
        "win_rate": float(bar_win_rate(simple_returns(res.equity))) if res.equity.size > 1 else None,
        "annual_return": s.annual_return,
        "n_bars": s.n_bars,
        "fills": res.ledger.height,
        "fees": res.fees,
        "slippage": res.slippage,
    }
    for name, b in s.benchmarks.items():
        figs[f"{name}_sharpe"] = b.sharpe
        figs[f"{name}_total_return"] = b.total_return
        figs[f"alpha_vs_{name}"] = b.alpha
    return figs


def run_backtest_gate(
    policy: Policy,
    held_out: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    cfg: GatesConfig,
    n_complete_trials: int,
    *,
    run_id: str = "",
    allow_synthetic: bool = False,
) -> tuple[Verdict, BacktestResult]:
    """Backtest ``policy`` on ``held_out`` (real bars the model never trained or validated on) and judge it
    by the tier of ``n_complete_trials``."""
    assert held_out.source is not None
    if not allow_synthetic and (held_out.source != SOURCE_REAL).any():
        raise ValueError("backtest gate: held_out holds synthetic bars; the gate runs on real data only")
    tier = tier_for(n_complete_trials, cfg)
    res = backtest(policy, held_out, env, costs)
    inputs = {
        "n_complete_trials": n_complete_trials,
        "tier": tier.model_dump(),
        "window_start": str(np.datetime64(int(held_out.times[0]), "ns")) + "Z",
        "window_end": str(np.datetime64(int(held_out.times[-1]), "ns")) + "Z",
        "tickers": list(held_out.tickers),
        "timeframe": held_out.spec.timeframe,
        "spec_hash": held_out.spec.content_hash(),
        "costs": costs.model_dump(),
        "env": run_env(policy, env).model_dump(),  # the env the policy traded under (its trained one)
    }
    verdict = Verdict.from_checks(GATE, run_id, backtest_checks(res.summary, tier), _figures(res), inputs)
    return verdict, res
