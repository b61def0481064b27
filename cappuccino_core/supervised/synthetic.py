"""Synthetic markets with a known answer, for the benchmark and the tests.

:func:`planted_frames`: hourly OHLCV whose log return into bar t + 1 is ``drift(hour of bar t) + vol x eps``
with ``drift = +strength x vol`` in UTC hours 0-11 and ``-strength x vol`` in hours 12-23: the direction
of the next bar is predictable from the session features alone, with a best possible accuracy of
Phi(strength) (0.79 at strength 0.8). ``strength = 0`` is a pure random walk: nothing to predict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

START = datetime(2024, 1, 1, tzinfo=UTC)


def planted_frames(
    n_bars: int,
    tickers: Sequence[str] = ("AAA/USD", "BBB/USD"),
    *,
    strength: float = 0.8,
    vol: float = 0.01,
    seed: int = 0,
    start: datetime = START,
) -> dict[str, pl.DataFrame]:
    """Aligned 1h frames (canonical schema) of ``tickers`` with the planted hour-of-day drift."""
    if n_bars < 2:
        raise ValueError(f"n_bars must be >= 2, got {n_bars}")
    rng = np.random.default_rng(seed)
    times = pl.datetime_range(
        start,
        start + timedelta(hours=n_bars - 1),
        timedelta(hours=1),
        time_unit="us",
        time_zone="UTC",
        eager=True,
    )
    hours = (np.arange(n_bars) + start.hour) % 24
    sign = np.where(hours < 12, 1.0, -1.0)
    out = {}
    for i, t in enumerate(tickers):
        ret = np.zeros(n_bars)
        ret[1:] = strength * vol * sign[:-1] + vol * rng.standard_normal(n_bars - 1)
        close = 10.0 * (i + 1) * np.exp(np.cumsum(ret))
        open_ = np.r_[close[0], close[:-1]]
        wick = np.abs(rng.normal(0.0, vol / 3, n_bars))
        high = np.maximum(open_, close) * (1 + wick)
        low = np.minimum(open_, close) * (1 - wick)
        volume = rng.lognormal(5.0, 0.5, n_bars)
        out[t] = pl.DataFrame(
            {"time": times, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
        )
    return out
