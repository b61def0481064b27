"""Market-state features of one asset from its OHLCV bars: volatility regime, volume, spread and slippage.

All are causal: the value at bar t reads bars <= t only (rolling windows end at t; at the start of the data
a window holds the bars seen so far). Definitions:

* ``vol_short`` / ``vol_long``: population std of log close-to-close returns over ``short`` / ``long`` bars;
  ``vol_regime`` = log(vol_short / vol_long) (> 0: a more volatile regime than usual), ``log_vol_short``.
* ``volume_ratio`` = log(volume / mean volume over ``short`` bars), ``dollar_volume`` = log(1 + close x
  volume averaged over ``short`` bars).
* ``spread_cs``: the Corwin-Schultz (2012) bid-ask spread estimate from two consecutive bars' highs and lows
  (negative estimates set to 0), averaged over ``short`` bars.
* ``slippage_amihud``: log(1 + 1e6 x mean of |return| / dollar volume over ``short`` bars) (Amihud 2002
  illiquidity: the price move per unit of traded value, the slippage a market order should expect to pay).
"""

from __future__ import annotations

import numpy as np

MARKET_STATE_OUTPUTS: tuple[str, ...] = (
    "vol_regime",
    "log_vol_short",
    "volume_ratio",
    "dollar_volume",
    "spread_cs",
    "slippage_amihud",
)
_TINY = 1e-12


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``x[max(0, t - window + 1) : t + 1]`` for every t (causal; expanding at the start)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    c = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    t = np.arange(len(x))
    lo = np.maximum(t - window + 1, 0)
    return (c[t + 1] - c[lo]) / (t + 1 - lo)


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Population std over the same causal windows as :func:`rolling_mean` (0 for a single value)."""
    m = rolling_mean(x, window)
    m2 = rolling_mean(x * x, window)
    return np.sqrt(np.maximum(m2 - m * m, 0.0))


def corwin_schultz(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Per-bar Corwin-Schultz spread estimate from bars t-1 and t (0 at the first bar and where negative)."""
    hl = np.log(high / low) ** 2
    beta = np.zeros_like(hl)
    beta[1:] = hl[1:] + hl[:-1]
    gamma = np.zeros_like(hl)
    gamma[1:] = np.log(np.maximum(high[1:], high[:-1]) / np.minimum(low[1:], low[:-1])) ** 2
    k = 3.0 - 2.0 * np.sqrt(2.0)
    alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / k - np.sqrt(gamma / k)
    spread = 2.0 * (np.exp(alpha) - 1.0) / (1.0 + np.exp(alpha))
    spread[0] = 0.0
    return np.maximum(spread, 0.0)


def market_state_features(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    volume: np.ndarray,
    *,
    short: int = 24,
    long: int = 168,
) -> np.ndarray:
    """(T, 6) float64 features in MARKET_STATE_OUTPUTS order (see the module docstring)."""
    if not 1 < short < long:
        raise ValueError(f"need 1 < short ({short}) < long ({long}) windows")
    close, high, low = (np.asarray(a, dtype=np.float64) for a in (close, high, low))
    volume = np.asarray(volume, dtype=np.float64)
    ret = np.zeros_like(close)
    ret[1:] = np.diff(np.log(close))
    vs, vl = rolling_std(ret, short), rolling_std(ret, long)
    regime = np.log((vs + _TINY) / (vl + _TINY))
    vol_ratio = np.log((volume + 1.0) / (rolling_mean(volume, short) + 1.0))
    dollar = close * volume
    dollar_vol = np.log1p(rolling_mean(dollar, short))
    spread = rolling_mean(corwin_schultz(high, low), short)
    amihud = np.log1p(1e6 * rolling_mean(np.abs(ret) / (dollar + 1.0), short))
    return np.stack([regime, np.log(vs + _TINY), vol_ratio, dollar_vol, spread, amihud], axis=1)
