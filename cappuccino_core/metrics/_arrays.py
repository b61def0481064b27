"""Input checks and small helpers shared by the metrics modules (private).

Conventions for every public function in ``cappuccino_core.metrics``:

* Time runs along the LAST axis. A 1-D input ``(T,)`` gives a Python ``float``; a 2-D input ``(S, T)``
  (S scenarios, episodes or trials) gives a ``(S,)`` float64 array, one value per row.
* Inputs must be finite: a NaN or inf in an equity curve or a return series is an upstream bug and raises
  ``ValueError`` instead of being skipped silently.
* ``timeframe`` is a bar interval string ("5m", "1h", "1d") or, for tests and foreign data, a positive
  number of periods per year.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from cappuccino_core.data.timeframes import bars_per_year


def periods_per_year(timeframe: str | float) -> float:
    """Bars per year for a timeframe string ("1h" -> 8766.0), or a positive number passed through."""
    if isinstance(timeframe, str):
        return bars_per_year(timeframe)
    value = float(timeframe)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"periods per year must be a positive number or a timeframe string; got {timeframe!r}"
        )
    return value


def as_series(x: ArrayLike, *, name: str, min_len: int = 1) -> np.ndarray:
    """A finite float64 array of shape (T,) or (S, T) with T >= min_len."""
    arr = _to_numpy(x)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D (T,) or 2-D (S, T) with time on the last axis; got shape {arr.shape}"
        )
    if arr.shape[-1] < min_len:
        raise ValueError(f"{name} needs at least {min_len} points along time; got {arr.shape[-1]}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise ValueError(f"{name} has {int(bad.sum())} non-finite value(s) (first at index {where})")
    return arr


def as_equity(x: ArrayLike, *, name: str = "equity", min_len: int = 2) -> np.ndarray:
    """An equity curve: finite, non-negative, first point strictly positive."""
    arr = as_series(x, name=name, min_len=min_len)
    if (arr < 0).any():
        raise ValueError(f"{name} has negative values: equity is cash + holdings marked to market, never < 0")
    if (arr[..., 0] <= 0).any():
        raise ValueError(f"{name} must start strictly positive (got {arr[..., 0].min()})")
    return arr


def _to_numpy(x: ArrayLike) -> np.ndarray:
    if hasattr(x, "columns") and hasattr(x, "to_numpy"):
        # A (T x k) frame would be read as k-long rows: make the caller pick the column (time on last axis).
        raise TypeError("pass a Series or an array (time on the last axis), not a DataFrame")
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        # polars / pandas Series (and 1-column frames' columns); DataFrames are refused by ndim below.
        x = x.to_numpy()
    return np.asarray(x, dtype=np.float64)


def scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    """0-d -> Python float; otherwise a float64 array."""
    x = np.asarray(x, dtype=np.float64)
    return float(x) if x.ndim == 0 else x


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0; where den == 0: 0.0 if num == 0, else +-inf (sign of num)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    positive = den > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = num / np.where(positive, den, 1.0)
    degenerate = np.where(num == 0, 0.0, np.copysign(np.inf, num))
    return np.where(positive, q, degenerate)


# A standard deviation below this fraction of |mean| is floating-point residue, not risk: returns computed
# from a curve growing by exactly 1% a bar differ in the last bits, and dividing by that residue would turn
# an infinite ratio into an arbitrary 1e15. (A per-bar Sharpe above 1e12 never describes a real strategy.)
ZERO_DISPERSION_RTOL = 1e-12
# Returns are ratios of equity values (e1 / e0 - 1), each good to ~2.2e-16 (float64's epsilon): a spread of
# returns below 64 epsilon is rounding, not risk (returns of 1e-15 computed from a scaled curve differ by
# 1e-16 and would give a "Sharpe" of -90). No real series has per-bar returns this alike.
ZERO_DISPERSION_ATOL = 64 * float(np.finfo(np.float64).eps)


def zero_dispersion(std: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """True where std is 0 or floating-point residue: relative to |mean|, or below return resolution."""
    return np.asarray(std <= np.maximum(ZERO_DISPERSION_RTOL * np.abs(mean), ZERO_DISPERSION_ATOL))


def constant_along_time(x: np.ndarray) -> np.ndarray:
    """True where every value of a row is identical (its sample std is 0, floating residue aside)."""
    return np.asarray(x.max(axis=-1) == x.min(axis=-1))
