"""Sharpe, Sortino and volatility: THE definitions used everywhere in Cappuccino.

Input: per-bar SIMPLE returns of total equity (``simple_returns(equity)``), time on the last axis; (T,) gives
a float, (S, T) gives one value per row. Conventions:

* Annualisation comes from the bar interval: a per-bar figure is multiplied by sqrt(bars_per_year(timeframe))
  (8766 bars a year for "1h", 365.25 for "1d"; crypto trades around the clock). Nothing else (no 252, no
  8760, no sqrt(P/N)).
* ``risk_free`` is an ANNUAL rate (fraction, default 0), turned into a per-bar rate
  rf_bar = (1 + risk_free) ** (1 / bars_per_year) - 1 and subtracted from every return.
* Sharpe = mean(r - rf_bar) / std(r - rf_bar, ddof=1) * sqrt(bars_per_year): arithmetic mean, SAMPLE
  standard deviation (ddof=1). Same figure as ``empyrical.sharpe_ratio(r, annualization=bars_per_year)``.
* Sortino = mean(r - target) / DD * sqrt(bars_per_year) with the downside deviation
  DD = sqrt(mean(min(r - target, 0) ** 2)) taken over ALL T bars (bars above the target count as 0, divisor T,
  not T-1 and not the number of losing bars). ``target`` is a per-bar minimum acceptable return (default 0).
  Same figure as ``empyrical.sortino_ratio(r, required_return=target, annualization=bars_per_year)``.
* Degenerate cases, chosen so that gates can compare the result: fewer than 2 returns -> NaN; zero
  dispersion (every return equal, e.g. an agent that stays in cash; a std below 1e-12 x |mean| counts as
  floating-point residue, i.e. zero) -> 0.0 when the mean excess return is 0,
  +inf / -inf when it is positive / negative. Sortino with no bar below the target likewise gives +inf
  (mean > 0) or 0.0 (mean == 0).
* ``sharpe_per_bar`` is the NON-annualised Sharpe (mean / std, ddof=1): the unit PSR, DSR and PBO work in.
  ``annualize_sharpe`` / ``deannualize_sharpe`` convert between the two.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from cappuccino_core.metrics._arrays import (
    as_series,
    constant_along_time,
    periods_per_year,
    safe_ratio,
    scalar_or_array,
    zero_dispersion,
)


def per_bar_rate(annual_rate: float, timeframe: str | float) -> float:
    """Annual rate -> per-bar rate with compounding: (1 + annual) ** (1 / bars_per_year) - 1."""
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year(timeframe)) - 1.0)


def _excess(returns: ArrayLike, timeframe: str | float, risk_free: float) -> np.ndarray:
    r = as_series(returns, name="returns")
    return r - per_bar_rate(risk_free, timeframe) if risk_free else r


def _sharpe_unscaled(x: np.ndarray) -> np.ndarray:
    """mean / std(ddof=1) along the last axis with the documented degenerate cases (x is validated)."""
    if x.shape[-1] < 2:
        return np.full(x.shape[:-1], np.nan)
    mean = x.mean(axis=-1)
    std = x.std(axis=-1, ddof=1)
    std = np.where(constant_along_time(x) | zero_dispersion(std, mean), 0.0, std)
    return safe_ratio(mean, std)


def sharpe_per_bar(returns: ArrayLike, risk_free_per_bar: float = 0.0) -> float | np.ndarray:
    """Non-annualised Sharpe: mean(r - rf) / std(r - rf, ddof=1), per bar."""
    r = as_series(returns, name="returns")
    return scalar_or_array(_sharpe_unscaled(r - risk_free_per_bar))


def sharpe_ratio(returns: ArrayLike, timeframe: str | float, risk_free: float = 0.0) -> float | np.ndarray:
    """Annualised Sharpe ratio (see the module docstring for the exact convention)."""
    x = _excess(returns, timeframe, risk_free)
    return scalar_or_array(_sharpe_unscaled(x) * np.sqrt(periods_per_year(timeframe)))


def downside_deviation(returns: ArrayLike, timeframe: str | float, target: float = 0.0) -> float | np.ndarray:
    """Annualised downside deviation: sqrt(mean(min(r - target, 0)^2)) * sqrt(bars_per_year), divisor T."""
    r = as_series(returns, name="returns")
    shortfall = np.minimum(r - target, 0.0)
    dd = np.sqrt(np.mean(shortfall**2, axis=-1))
    return scalar_or_array(dd * np.sqrt(periods_per_year(timeframe)))


def sortino_ratio(returns: ArrayLike, timeframe: str | float, target: float = 0.0) -> float | np.ndarray:
    """Annualised Sortino ratio: mean(r - target) / DD * sqrt(bars_per_year) (DD over all bars, divisor T)."""
    r = as_series(returns, name="returns")
    if r.shape[-1] < 2:
        return scalar_or_array(np.full(r.shape[:-1], np.nan))
    x = r - target
    mean = x.mean(axis=-1)
    dd = np.sqrt(np.mean(np.minimum(x, 0.0) ** 2, axis=-1))
    dd = np.where(zero_dispersion(dd, mean), 0.0, dd)
    return scalar_or_array(safe_ratio(mean, dd) * np.sqrt(periods_per_year(timeframe)))


def annualized_volatility(returns: ArrayLike, timeframe: str | float) -> float | np.ndarray:
    """std(r, ddof=1) * sqrt(bars_per_year); NaN for fewer than 2 returns."""
    r = as_series(returns, name="returns")
    if r.shape[-1] < 2:
        return scalar_or_array(np.full(r.shape[:-1], np.nan))
    std = np.where(constant_along_time(r), 0.0, r.std(axis=-1, ddof=1))
    return scalar_or_array(std * np.sqrt(periods_per_year(timeframe)))


def annualize_sharpe(sharpe_bar: ArrayLike, timeframe: str | float) -> float | np.ndarray:
    """Per-bar Sharpe -> annualised: x sqrt(bars_per_year)."""
    return scalar_or_array(np.asarray(sharpe_bar, dtype=np.float64) * np.sqrt(periods_per_year(timeframe)))


def deannualize_sharpe(sharpe_annual: ArrayLike, timeframe: str | float) -> float | np.ndarray:
    """Annualised Sharpe -> per bar: / sqrt(bars_per_year)."""
    return scalar_or_array(np.asarray(sharpe_annual, dtype=np.float64) / np.sqrt(periods_per_year(timeframe)))
