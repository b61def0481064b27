"""Equity curve -> returns, total and annualised return.

An equity curve is TOTAL equity per bar: cash + every holding marked to market at the bar's close
(``mark_to_market``). Returns are relative changes of that curve, never of cash alone and never dollar
differences (both were bugs of the predecessor).

* ``simple_returns``: r_t = E_t / E_{t-1} - 1, shape (..., T-1). After equity reaches exactly 0 (a wiped-out
  account) later returns are 0: nothing is left to gain or lose.
* ``log_returns``: log(E_t / E_{t-1}); -inf on the bar the account is wiped out.
* ``total_return``: E_last / E_first - 1.
* ``annualized_return``: the compound annual growth rate over the curve's T-1 bars,
  (E_last / E_first) ** (bars_per_year / (T-1)) - 1 (the same figure as empyrical's ``annual_return`` with
  ``annualization=bars_per_year``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from cappuccino_core.metrics._arrays import (
    as_equity,
    as_series,
    periods_per_year,
    scalar_or_array,
)


def mark_to_market(cash: ArrayLike, quantities: ArrayLike, prices: ArrayLike) -> np.ndarray:
    """Total equity per bar: cash (T,) + sum over assets of quantities (T, N) x prices (T, N)."""
    c = np.asarray(cash, dtype=np.float64)
    q = np.asarray(quantities, dtype=np.float64)
    p = np.asarray(prices, dtype=np.float64)
    if q.shape != p.shape or q.ndim != c.ndim + 1 or q.shape[:-1] != c.shape:
        raise ValueError(f"cash {c.shape}, quantities {q.shape}, prices {p.shape}: need (T,), (T, N), (T, N)")
    return c + (q * p).sum(axis=-1)


def simple_returns(equity: ArrayLike) -> np.ndarray:
    """Per-bar simple returns E_t / E_{t-1} - 1 along the last axis: (T,) -> (T-1,), (S, T) -> (S, T-1)."""
    e = as_equity(equity)
    prev, cur = e[..., :-1], e[..., 1:]
    alive = prev > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cur / np.where(alive, prev, 1.0) - 1.0
    return np.where(alive, r, 0.0)


def log_returns(equity: ArrayLike) -> np.ndarray:
    """Per-bar log returns log(E_t / E_{t-1}) along the last axis (-inf when equity drops to 0)."""
    e = as_equity(equity)
    prev, cur = e[..., :-1], e[..., 1:]
    alive = prev > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(cur / np.where(alive, prev, 1.0))
    return np.where(alive, lr, 0.0)


def equity_from_returns(returns: ArrayLike, start: float = 1.0) -> np.ndarray:
    """Inverse of ``simple_returns``: start, start*(1+r_1), ... along the last axis ((.., T-1) -> (.., T))."""
    r = as_series(returns, name="returns")
    if (r < -1).any():
        raise ValueError("a simple return below -100% is impossible for a long-only account")
    growth = np.cumprod(1.0 + r, axis=-1)
    first = np.ones((*r.shape[:-1], 1))
    return float(start) * np.concatenate([first, growth], axis=-1)


def total_return(equity: ArrayLike) -> float | np.ndarray:
    """E_last / E_first - 1 (a fraction: 0.05 is +5%)."""
    e = as_equity(equity)
    return scalar_or_array(e[..., -1] / e[..., 0] - 1.0)


def annualized_return(equity: ArrayLike, timeframe: str | float) -> float | np.ndarray:
    """Compound annual growth rate over the curve's T-1 bars (a fraction; -1.0 if wiped out)."""
    e = as_equity(equity)
    years = (e.shape[-1] - 1) / periods_per_year(timeframe)
    growth = e[..., -1] / e[..., 0]
    with np.errstate(over="ignore"):
        return scalar_or_array(np.power(growth, 1.0 / years) - 1.0)
