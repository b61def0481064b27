"""Skill separated from cost: what trading costs took, and what the same trades would have made without them.

* ``zero_cost_equity``: the equity curve of the SAME fills with fees and slippage refunded, i.e. equity plus
  the costs paid up to each bar. Its Sharpe (the zero-cost Sharpe) measures what the decisions knew; the
  gap to the after-cost Sharpe is what trading them cost.
* ``cost_share``: fees + slippage paid over a window as a fraction of the starting equity.
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.metrics._arrays import as_equity


def zero_cost_equity(equity: np.ndarray, fees: np.ndarray, slippage: np.ndarray) -> np.ndarray:
    """Equity (T,) + cumulative fees and slippage; ``fees``/``slippage`` (T,) are paid in the step that ends
    at each row (row 0: nothing), as backtest records hold them."""
    e = as_equity(equity, min_len=1)
    f, s = np.asarray(fees, dtype=np.float64), np.asarray(slippage, dtype=np.float64)
    if f.shape != e.shape or s.shape != e.shape:
        raise ValueError(
            f"zero_cost_equity: fees {f.shape} and slippage {s.shape} must match equity {e.shape}"
        )
    if not (np.isfinite(f).all() and np.isfinite(s).all()) or (f < 0).any() or (s < 0).any():
        raise ValueError("zero_cost_equity: fees and slippage must be finite and >= 0")
    return e + np.cumsum(f + s)


def cost_share(fees: np.ndarray, slippage: np.ndarray, starting_equity: float) -> float:
    """(sum of fees + slippage) / starting equity."""
    if not starting_equity > 0:
        raise ValueError(f"cost_share: starting equity must be > 0, got {starting_equity}")
    return float((np.sum(fees) + np.sum(slippage)) / starting_equity)
