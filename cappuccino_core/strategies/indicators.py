"""Causal rolling statistics over one contiguous segment: row ``t`` uses rows ``t - n + 1 .. t`` only,
NaN until ``n`` rows exist. Columns are assets."""

from __future__ import annotations

import numpy as np


def rolling_mean(x: np.ndarray, n: int) -> np.ndarray:
    """(T, A) mean of the last ``n`` rows (this one included); NaN for the first n - 1 rows."""
    if n < 1:
        raise ValueError(f"rolling window must be >= 1 bar, got {n}")
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if x.shape[0] < n:
        return out
    c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """(T, A) population std of the last ``n`` rows (centred per window); NaN for the first n - 1 rows."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if n < 2 or x.shape[0] < n:
        return out
    y = x - x[0]  # shifted (variance is unchanged): keeps the running sums small
    z = np.zeros((1, x.shape[1]))
    c1, c2 = np.cumsum(np.vstack([z, y]), axis=0), np.cumsum(np.vstack([z, y * y]), axis=0)
    mean = (c1[n:] - c1[:-n]) / n
    var = (c2[n:] - c2[:-n]) / n - mean * mean
    out[n - 1 :] = np.sqrt(np.maximum(var, 0.0))
    return out
