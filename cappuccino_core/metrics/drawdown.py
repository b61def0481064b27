"""Drawdown of an equity curve, its duration, and the Calmar ratio.

Convention: a drawdown is a NEGATIVE fraction (or 0) relative to the running peak,
dd_t = E_t / max_{s<=t} E_s - 1, so every value lies in [-1, 0]. ``max_drawdown`` is the most negative value
(-0.10 means the curve fell 10% below a previous peak; 0.0 means it never fell). This is the sign empyrical
uses. A threshold "drawdown < 15%" is written ``max_drawdown(e) > -0.15`` or ``abs(max_drawdown(e)) < 0.15``.

Duration: the longest time under water, in bars, from a peak bar to the first later bar that regains the
peak (recovery) or, if the curve never recovers, to the last bar. Example: [100, 110, 99, 108.9, 111]
-> peak at bar 1, recovered at bar 4: 3 bars. [100, 110, 99, 108.9] -> peak at bar 1, never recovered: 2 bars
(bar 1 to bar 3). A curve that never falls has duration 0.

Calmar = annualized_return / |max_drawdown| (NaN when there is no drawdown), as in empyrical.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from cappuccino_core.metrics._arrays import as_equity, scalar_or_array
from cappuccino_core.metrics.returns import annualized_return


def drawdown_series(equity: ArrayLike) -> np.ndarray:
    """dd_t = E_t / running_peak_t - 1 along the last axis, same shape as equity, values in [-1, 0]."""
    e = as_equity(equity, min_len=1)
    peak = np.maximum.accumulate(e, axis=-1)
    return np.minimum(e / peak - 1.0, 0.0)


def max_drawdown(equity: ArrayLike) -> float | np.ndarray:
    """The most negative drawdown (in [-1, 0]); 0.0 when the curve never falls."""
    return scalar_or_array(drawdown_series(equity).min(axis=-1))


def max_drawdown_duration(equity: ArrayLike) -> int | np.ndarray:
    """Longest peak-to-recovery (or peak-to-end) span in bars; int for (T,), int64 array for (S, T)."""
    e = as_equity(equity, min_len=1)
    T = e.shape[-1]
    at_peak = e >= np.maximum.accumulate(e, axis=-1)
    idx = np.broadcast_to(np.arange(T), e.shape)
    last_peak = np.maximum.accumulate(np.where(at_peak, idx, 0), axis=-1)
    # For bar t >= 1: bars since the peak that held at t-1. Counts on bars under water (span so far) and on
    # the bar that recovers (full span); zero on bars that simply extend a rising curve.
    since_prev_peak = idx[..., 1:] - last_peak[..., :-1]
    counts = (~at_peak[..., 1:]) | (~at_peak[..., :-1])
    spans = np.where(counts, since_prev_peak, 0)
    out = spans.max(axis=-1) if T > 1 else np.zeros(e.shape[:-1], dtype=np.int64)
    out = np.asarray(out, dtype=np.int64)
    return int(out) if out.ndim == 0 else out


def calmar_ratio(equity: ArrayLike, timeframe: str | float) -> float | np.ndarray:
    """annualized_return / |max_drawdown|; NaN where the curve has no drawdown."""
    mdd = np.asarray(max_drawdown(equity))
    ann = np.asarray(annualized_return(equity, timeframe))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(mdd < 0, ann / np.abs(np.where(mdd < 0, mdd, 1.0)), np.nan)
    return scalar_or_array(out)
