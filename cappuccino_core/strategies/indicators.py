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
    win = np.lib.stride_tricks.sliding_window_view(x, n, axis=0)  # (T - n + 1, A, n)
    out[n - 1 :] = win.std(axis=-1)
    return out
