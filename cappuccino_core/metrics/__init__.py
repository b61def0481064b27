"""THE metrics module: every Sharpe, drawdown, win rate and benchmark figure in Cappuccino comes from here.

Nothing else in the project computes a Sharpe ratio. Conventions (details in each module's docstring):

* Inputs: an EQUITY curve is total equity per bar (cash + holdings marked to market, ``mark_to_market``);
  RETURNS are its per-bar simple returns (``simple_returns``), never cash-only changes or dollar differences.
  Functions named after a return statistic (sharpe, sortino, volatility, bar win rate, PSR, DSR) take
  returns; path statistics (total/annualised return, drawdown, Calmar, alpha) take equity.
* Time runs along the last axis: (T,) -> float, (S, T) -> one value per row (batched stress scenarios).
* Annualisation from the bar interval only: sqrt(bars_per_year(timeframe)), 8766 bars a year for "1h".
* Sharpe: mean / std(ddof=1) of excess per-bar returns, risk-free 0 by default (annual rate otherwise).
* Sortino: downside deviation sqrt(mean(min(r - target, 0)^2)) over all bars.
* Drawdown: negative fraction in [-1, 0]; duration in bars from peak to recovery (or to the end).
* Alpha: annualised return (CAGR) difference against a benchmark; benchmarks are buy-and-hold from bar 0
  (equal dollar amounts per asset, no rebalancing; or one asset such as BTC).
* PSR / DSR / PBO work in PER-BAR (non-annualised) Sharpe units.
"""

from cappuccino_core.metrics._arrays import as_equity as as_equity_curve
from cappuccino_core.metrics._arrays import periods_per_year
from cappuccino_core.metrics.benchmark import (
    alpha,
    beta,
    buy_and_hold,
    equal_weight_buy_and_hold,
    standard_benchmarks,
)
from cappuccino_core.metrics.costs import cost_share, zero_cost_equity
from cappuccino_core.metrics.deflated import (
    EULER_GAMMA,
    deflated_sharpe_ratio,
    dsr_from_stats,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    psr_from_stats,
    return_moments,
)
from cappuccino_core.metrics.drawdown import (
    calmar_ratio,
    drawdown_series,
    max_drawdown,
    max_drawdown_duration,
)
from cappuccino_core.metrics.ledger import Ledger, to_datetime64
from cappuccino_core.metrics.pbo import PBOResult, probability_of_backtest_overfitting
from cappuccino_core.metrics.ratios import (
    annualize_sharpe,
    annualized_volatility,
    deannualize_sharpe,
    downside_deviation,
    per_bar_rate,
    sharpe_per_bar,
    sharpe_ratio,
    sortino_ratio,
)
from cappuccino_core.metrics.returns import (
    annualized_return,
    equity_from_returns,
    log_returns,
    mark_to_market,
    simple_returns,
    total_return,
)
from cappuccino_core.metrics.summary import (
    BenchmarkComparison,
    PerformanceSummary,
    TradeSummary,
    summarize,
)
from cappuccino_core.metrics.trades import (
    RoundTrips,
    annualized_turnover,
    bar_win_rate,
    fees_paid,
    round_trips,
    stats_by_asset,
    trade_win_rate,
    traded_notional,
    turnover,
)

__all__ = [
    "EULER_GAMMA",
    "BenchmarkComparison",
    "Ledger",
    "PBOResult",
    "PerformanceSummary",
    "RoundTrips",
    "TradeSummary",
    "alpha",
    "annualize_sharpe",
    "annualized_return",
    "annualized_turnover",
    "annualized_volatility",
    "as_equity_curve",
    "bar_win_rate",
    "beta",
    "buy_and_hold",
    "calmar_ratio",
    "cost_share",
    "deannualize_sharpe",
    "deflated_sharpe_ratio",
    "downside_deviation",
    "drawdown_series",
    "dsr_from_stats",
    "equal_weight_buy_and_hold",
    "equity_from_returns",
    "expected_max_sharpe",
    "fees_paid",
    "log_returns",
    "mark_to_market",
    "max_drawdown",
    "max_drawdown_duration",
    "per_bar_rate",
    "periods_per_year",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "psr_from_stats",
    "return_moments",
    "round_trips",
    "sharpe_per_bar",
    "sharpe_ratio",
    "simple_returns",
    "sortino_ratio",
    "standard_benchmarks",
    "stats_by_asset",
    "summarize",
    "to_datetime64",
    "total_return",
    "trade_win_rate",
    "traded_notional",
    "turnover",
    "zero_cost_equity",
]
