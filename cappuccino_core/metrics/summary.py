"""``summarize``: every headline figure of one equity curve, in one dataclass.

Field units: returns, drawdowns, volatility, alpha and win rates are FRACTIONS (0.05 = 5%); Sharpe, Sortino
and Calmar are annualised from the timeframe (``sharpe_per_bar`` is not); max_drawdown is <= 0;
durations are in bars; money is in quote currency. ``to_dict`` gives JSON-safe nested values (non-finite
-> None) for the state store and report files; ``flat_metrics`` gives finite floats with dotted keys for
``mlflow.log_metrics``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cappuccino_core.metrics._arrays import as_equity, periods_per_year
from cappuccino_core.metrics.benchmark import alpha, beta
from cappuccino_core.metrics.deflated import probabilistic_sharpe_ratio, return_moments
from cappuccino_core.metrics.drawdown import calmar_ratio, max_drawdown, max_drawdown_duration
from cappuccino_core.metrics.ledger import Ledger
from cappuccino_core.metrics.ratios import (
    annualized_volatility,
    per_bar_rate,
    sharpe_per_bar,
    sharpe_ratio,
    sortino_ratio,
)
from cappuccino_core.metrics.returns import annualized_return, simple_returns, total_return
from cappuccino_core.metrics.trades import (
    annualized_turnover,
    bar_win_rate,
    round_trips,
    trade_win_rate,
    turnover,
)


@dataclass(frozen=True)
class BenchmarkComparison:
    """A benchmark's figures on the same bars, and the strategy's alpha and beta against it."""

    total_return: float
    annual_return: float
    sharpe: float
    max_drawdown: float
    alpha: float  # strategy CAGR - benchmark CAGR
    beta: float  # OLS slope of strategy returns on benchmark returns


@dataclass(frozen=True)
class TradeSummary:
    """Trade statistics from the fill ledger: fills, FIFO round trips, P&L, fees and turnover."""

    n_fills: int
    n_buys: int
    n_sells: int
    n_round_trips: int  # closed, one per sell fill (FIFO)
    trade_win_rate: float  # share of round trips with net pnl > 0 (NaN if none)
    realized_pnl: float  # net of fees, closed round trips only
    fees_paid: float
    maker_fees: float
    taker_fees: float
    traded_notional: float  # buys + sells
    turnover: float  # traded_notional / mean equity
    annualized_turnover: float  # turnover x bars_per_year / n_bars


@dataclass(frozen=True)
class PerformanceSummary:
    """Every figure of one equity curve (returns, risk, drawdowns, ratios), with trades and benchmarks when
    given."""

    timeframe: str
    bars_per_year: float
    n_bars: int  # number of returns (equity points - 1)
    start_equity: float
    end_equity: float
    total_return: float
    annual_return: float  # CAGR
    annual_volatility: float
    sharpe: float
    sortino: float
    sharpe_per_bar: float
    psr: float  # P(true Sharpe > 0), Bailey & Lopez de Prado 2012
    skew: float
    kurtosis: float  # not excess (normal = 3)
    max_drawdown: float  # <= 0
    max_drawdown_duration_bars: int
    calmar: float
    bar_win_rate: float
    trades: TradeSummary | None = None
    benchmarks: dict[str, BenchmarkComparison] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain-Python dict; NaN/inf become None so that json.dumps writes standard JSON."""
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PerformanceSummary:
        """Inverse of ``to_dict`` (None -> NaN)."""

        def f(v: Any) -> Any:
            return float("nan") if v is None else v

        base = {k: f(v) for k, v in d.items() if k not in ("trades", "benchmarks")}
        trades = d.get("trades")
        return cls(
            **base,
            trades=TradeSummary(**{k: f(v) for k, v in trades.items()}) if trades else None,
            benchmarks={
                n: BenchmarkComparison(**{k: f(v) for k, v in b.items()})
                for n, b in (d.get("benchmarks") or {}).items()
            },
        )

    def flat_metrics(self) -> dict[str, float]:
        """Finite numeric fields with dotted keys ("sharpe", "trades.fees_paid", "equal_weight.alpha")."""
        out: dict[str, float] = {}

        def put(prefix: str, obj: dict[str, Any]) -> None:
            for k, v in obj.items():
                if isinstance(v, dict):
                    put(f"{prefix}{k}.", v)
                elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    out[f"{prefix}{k}"] = float(v)

        d = self.to_dict()
        benches = d.pop("benchmarks")
        put("", d)
        put("", benches)
        return out


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def summarize(
    equity: Any,
    timeframe: str | float,
    ledger: Any = None,
    benchmarks: dict[str, Any] | None = None,
    *,
    risk_free: float = 0.0,
) -> PerformanceSummary:
    """Summarise one total-equity curve (T,) sampled once per bar of ``timeframe``.

    ``ledger``: the fills (polars/pandas frame or dict, see ``metrics.ledger``), optional.
    ``benchmarks``: name -> equity curve (T,) on the same bars, e.g. ``standard_benchmarks(...)``.
    ``risk_free``: annual rate; Sharpe subtracts it per bar and Sortino uses it as the target.
    """
    e = as_equity(equity)
    if e.ndim != 1:
        raise ValueError(f"summarize takes one equity curve (T,); got shape {e.shape}")
    bpy = periods_per_year(timeframe)
    r = simple_returns(e)
    n = int(r.shape[0])
    enough = n >= 2
    sk, ku = return_moments(r) if enough else (np.nan, np.nan)
    trades = _trade_summary(ledger, e, timeframe) if ledger is not None else None
    benches = {}
    for name, b in (benchmarks or {}).items():
        bb = as_equity(b, name=f"benchmark {name!r}")
        if bb.shape != e.shape:
            raise ValueError(f"benchmark {name!r} has shape {bb.shape}, equity {e.shape}: align them first")
        benches[name] = BenchmarkComparison(
            total_return=float(total_return(bb)),
            annual_return=float(annualized_return(bb, timeframe)),
            sharpe=float(sharpe_ratio(simple_returns(bb), timeframe, risk_free)),
            max_drawdown=float(max_drawdown(bb)),
            alpha=float(alpha(e, bb, timeframe)),
            beta=float(beta(e, bb)),
        )
    return PerformanceSummary(
        timeframe=str(timeframe),
        bars_per_year=bpy,
        n_bars=n,
        start_equity=float(e[0]),
        end_equity=float(e[-1]),
        total_return=float(total_return(e)),
        annual_return=float(annualized_return(e, timeframe)),
        annual_volatility=float(annualized_volatility(r, timeframe)),
        sharpe=float(sharpe_ratio(r, timeframe, risk_free)),
        sortino=float(sortino_ratio(r, timeframe, target=per_bar_rate(risk_free, timeframe))),
        sharpe_per_bar=float(sharpe_per_bar(r)),
        psr=float(probabilistic_sharpe_ratio(r)) if enough else float("nan"),
        skew=float(sk),
        kurtosis=float(ku),
        max_drawdown=float(max_drawdown(e)),
        max_drawdown_duration_bars=int(max_drawdown_duration(e)),
        calmar=float(calmar_ratio(e, timeframe)),
        bar_win_rate=float(bar_win_rate(r)),
        trades=trades,
        benchmarks=benches,
    )


def _trade_summary(ledger: Any, equity: np.ndarray, timeframe: str | float) -> TradeSummary:
    led = Ledger.from_any(ledger)
    rt = round_trips(led)
    liq = led.liquidity
    return TradeSummary(
        n_fills=len(led),
        n_buys=int(led.is_buy.sum()),
        n_sells=int((~led.is_buy).sum()),
        n_round_trips=len(rt),
        trade_win_rate=trade_win_rate(rt),
        realized_pnl=float(rt.pnl.sum()),
        fees_paid=float(led.fee.sum()),
        maker_fees=float(led.fee[liq == "maker"].sum()) if liq is not None else float("nan"),
        taker_fees=float(led.fee[liq == "taker"].sum()) if liq is not None else float("nan"),
        traded_notional=float(led.notional.sum()),
        turnover=turnover(led, equity),
        annualized_turnover=annualized_turnover(led, equity, timeframe),
    )
