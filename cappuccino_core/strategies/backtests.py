"""Every strategy backtested on one window: the "strategies to beat" rows of a backtest report.

Parameters are fitted on ``history`` (the bars before the window, e.g. the training part of the data)
when it is given and long enough, otherwise each strategy runs its first grid point and says so
(``fitted = False``). Each row's figures come from the backtest's own ``metrics`` summary.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cappuccino_core.backtest.runner import BacktestResult, backtest
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.strategies.base import Params, Strategy, format_params

log = logging.getLogger(__name__)


@dataclass
class StrategyRun:
    """One strategy's backtest: the parameters used, whether they were fitted, and the result."""

    strategy: Strategy
    params: Params
    fitted: bool  # params chosen on history (else the first grid point)
    result: BacktestResult

    @property
    def fees_share(self) -> float:
        """Fees paid / starting equity."""
        return self.result.fees / float(self.result.equity[0])

    def row(self) -> dict[str, Any]:
        """The figures a report shows (fractions; ratios annualised)."""
        s = self.result.summary
        tr = s.trades
        grid = len(self.strategy.grid()) > 1
        return {
            "label": self.strategy.label,
            "exempt": self.strategy.exempt,
            "params": format_params(self.params),
            "fitted": self.fitted if grid else None,
            "total_return": s.total_return,
            "sharpe": s.sharpe,
            "max_drawdown": s.max_drawdown,
            "turnover_per_year": tr.annualized_turnover if tr is not None else 0.0,
            "fees_share": self.fees_share,
            "fills": int(self.result.ledger.height),
        }


def strategy_backtests(
    window: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    history: MarketDataset | None = None,
    strategies: Sequence[Strategy] | None = None,
) -> dict[str, StrategyRun]:
    """Backtest every strategy (default: all registered) over ``window``; see the module docstring."""
    from cappuccino_core.strategies import all_strategies

    out: dict[str, StrategyRun] = {}
    for strat in strategies if strategies is not None else all_strategies():
        params, fitted = strat.grid()[0], False
        if history is not None and len(strat.grid()) > 1:
            usable = [(s, e) for s, e in history.segments if e - s >= history.spec.lookback + 1]
            if usable:
                params, fitted = strat.fit(history, usable, env, costs).params, True
            else:
                log.warning("%s: no history long enough to fit on; default parameters", strat.name)
        result = backtest(strat.policy(params, env, window.tickers), window, env, costs)
        out[strat.name] = StrategyRun(strat, params, fitted, result)
    return out


def best_run(runs: dict[str, StrategyRun]) -> StrategyRun:
    """The run with the highest Sharpe (finite) on its window."""
    finite = [r for r in runs.values() if math.isfinite(r.result.summary.sharpe)]
    if not finite:
        raise ValueError("best_run: no strategy has a finite Sharpe on this window")
    return max(finite, key=lambda r: r.result.summary.sharpe)
