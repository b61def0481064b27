"""Synthetic markets with a known answer, for the benchmark and the tests.

:func:`planted_frames`: hourly OHLCV whose log return into bar t + 1 is ``drift(hour of bar t) + vol x eps``
with ``drift = +strength x vol`` in UTC hours 0-11 and ``-strength x vol`` in hours 12-23: the direction
of the next bar is predictable from the session features alone, with a best possible accuracy of
Phi(strength) (0.79 at strength 0.8). ``strength = 0`` is a pure random walk: nothing to predict.

``bar`` sets the bar length (5 minutes for the soak); ``reversion`` (phi, 0 <= phi < 1) adds a planted mean
reversion of the bar returns: ``r[t+1] = drift(hour of bar t) - phi x r[t] + vol x eps``, so the previous
bar's return (the ``close_logret`` feature) predicts the next one's direction, most surely after a large
move: P(up | r[t]) = Phi((drift - phi x r[t]) / vol). With phi = 0.8 the returns' sd is vol / 0.6 and the
best possible accuracy is about 0.80 (0.79 with no drift); more than half the bars are forecast with a
confidence >= 0.75. That makes many confident signals in both directions, so a soak of a few days closes
many round trips (an hour-of-day drift alone flips twice a day).
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
    bar: timedelta = timedelta(hours=1),
    reversion: float = 0.0,
) -> dict[str, pl.DataFrame]:
    """Aligned frames (canonical schema, bars of length ``bar``) of ``tickers`` with the planted
    hour-of-day drift and, with ``reversion`` > 0, the planted mean reversion."""
    if n_bars < 2:
        raise ValueError(f"n_bars must be >= 2, got {n_bars}")
    if not 0.0 <= reversion < 1.0:
        raise ValueError(f"reversion must be in [0, 1), got {reversion}")
    if bar <= timedelta(0):
        raise ValueError(f"bar must be a positive duration, got {bar}")
    rng = np.random.default_rng(seed)
    times = pl.datetime_range(
        start, start + bar * (n_bars - 1), bar, time_unit="us", time_zone="UTC", eager=True
    )
    hours = np.array([(start + bar * k).hour for k in range(n_bars)])
    sign = np.where(hours < 12, 1.0, -1.0)
    out = {}
    for i, t in enumerate(tickers):
        drift = strength * vol * sign[:-1]
        eps = vol * rng.standard_normal(n_bars - 1)
        ret = np.zeros(n_bars)
        for k in range(1, n_bars):  # an AR(1) recursion (a plain drift + noise when reversion is 0)
            ret[k] = drift[k - 1] - reversion * ret[k - 1] + eps[k - 1]
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
