"""Benchmarks: equal-weight buy-and-hold, single-asset hold (BTC), and alpha against them.

Prices use the dataset layout: (T, N) close prices, time first, one column per asset.

* ``equal_weight_buy_and_hold``: at the close of bar 0 spend initial_equity in EQUAL DOLLAR AMOUNTS on the
  N assets and hold (no rebalancing): E_t = initial_equity * (1 - fee_rate) * mean_i(p_{t,i} / p_{0,i}).
  Rising prices give a rising curve: assets up +20% and -10% -> E_1 / E_0 = (1.2 + 0.9) / 2 = 1.05 (+5%).
  (The predecessor inverted this sign.) With ``fee_rate`` > 0 the entry fee is paid at bar 0, so the curve
  starts at initial_equity * (1 - fee_rate); no fee is charged later.
* ``buy_and_hold``: the same for one asset (BTC hold: ``buy_and_hold(prices[:, tickers.index("BTC/USD")])``).
* ``alpha``: ANNUALISED RETURN DIFFERENCE, annualized_return(strategy) - annualized_return(benchmark), both
  CAGRs over the same bars (not a regression alpha). ``beta`` is the OLS slope of the strategy's per-bar
  returns on the benchmark's (cov / var, ddof=1), reported for context.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from cappuccino_core.metrics._arrays import as_equity, scalar_or_array
from cappuccino_core.metrics.returns import annualized_return, simple_returns


def _prices(prices: ArrayLike, ndim: int) -> np.ndarray:
    p = np.asarray(prices.to_numpy() if hasattr(prices, "to_numpy") else prices, dtype=np.float64)
    if p.ndim != ndim or p.shape[0] < 1:
        shape = "(T, N)" if ndim == 2 else "(T,)"
        raise ValueError(f"prices must be {shape}; got shape {p.shape}")
    if not np.isfinite(p).all() or (p <= 0).any():
        raise ValueError("prices must be finite and > 0")
    return p


def equal_weight_buy_and_hold(
    prices: ArrayLike, initial_equity: float = 1.0, fee_rate: float = 0.0
) -> np.ndarray:
    """Equity (T,) of buying equal dollar amounts of every asset at bar 0's close and holding."""
    p = _prices(prices, 2)
    if not 0 <= fee_rate < 1:
        raise ValueError(f"fee_rate must be in [0, 1); got {fee_rate}")
    return float(initial_equity) * (1.0 - fee_rate) * (p / p[0]).mean(axis=1)


def buy_and_hold(prices: ArrayLike, initial_equity: float = 1.0, fee_rate: float = 0.0) -> np.ndarray:
    """Equity (T,) of buying one asset at bar 0's close and holding it."""
    p = _prices(prices, 1)
    if not 0 <= fee_rate < 1:
        raise ValueError(f"fee_rate must be in [0, 1); got {fee_rate}")
    return float(initial_equity) * (1.0 - fee_rate) * (p / p[0])


def _aligned(equity: ArrayLike, benchmark: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    e = as_equity(equity)
    b = as_equity(benchmark, name="benchmark equity")
    if b.shape[-1] != e.shape[-1]:
        raise ValueError(f"benchmark has {b.shape[-1]} bars, equity has {e.shape[-1]}: align them first")
    return e, b


def alpha(equity: ArrayLike, benchmark: ArrayLike, timeframe: str | float) -> float | np.ndarray:
    """Annualised return difference: CAGR(equity) - CAGR(benchmark) over the same bars."""
    e, b = _aligned(equity, benchmark)
    return scalar_or_array(
        np.asarray(annualized_return(e, timeframe)) - np.asarray(annualized_return(b, timeframe))
    )


def beta(equity: ArrayLike, benchmark: ArrayLike) -> float | np.ndarray:
    """OLS slope of per-bar strategy returns on benchmark returns (NaN if the benchmark never moves)."""
    e, b = _aligned(equity, benchmark)
    r, rb = simple_returns(e), simple_returns(b)
    if r.shape[-1] < 2:
        return scalar_or_array(np.full(np.broadcast_shapes(r.shape, rb.shape)[:-1], np.nan))
    rc = r - r.mean(axis=-1, keepdims=True)
    bc = rb - rb.mean(axis=-1, keepdims=True)
    var = (bc**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(var > 0, (rc * bc).sum(axis=-1) / np.where(var > 0, var, 1.0), np.nan)
    return scalar_or_array(out)


def standard_benchmarks(
    prices: ArrayLike,
    tickers: list[str] | tuple[str, ...],
    initial_equity: float,
    btc: str = "BTC/USD",
    fee_rate: float = 0.0,
) -> dict[str, np.ndarray]:
    """{"equal_weight": ..., "btc_hold": ...} equity curves for prices (T, N) in ``tickers`` order.
    ``btc_hold`` is left out when ``btc`` is not among the tickers."""
    p = _prices(prices, 2)
    if p.shape[1] != len(tickers):
        raise ValueError(f"prices have {p.shape[1]} columns but {len(tickers)} tickers were named")
    out = {"equal_weight": equal_weight_buy_and_hold(p, initial_equity, fee_rate)}
    if btc in tickers:
        out["btc_hold"] = buy_and_hold(p[:, list(tickers).index(btc)], initial_equity, fee_rate)
    return out
