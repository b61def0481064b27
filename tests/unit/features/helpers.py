"""Synthetic bar frames for feature tests: seeded random-walk OHLCV in the canonical schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

START = datetime(2024, 1, 1, tzinfo=UTC)


def random_ohlcv(rng: np.random.Generator, n: int, price: float = 100.0, vol: float = 0.01) -> dict:
    """OHLCV arrays of a geometric random walk: open = previous close, high/low around open and close."""
    close = price * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.r_[price, close[:-1]]
    spread = np.abs(rng.normal(0.0, vol / 2, n))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    volume = rng.lognormal(3.0, 1.0, n)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def make_placeholders(ohlcv: dict, rows) -> dict:
    """Zero-volume flat bars (open = high = low = close = previous close) at ``rows``, as Binance has them."""
    out = {k: v.copy() for k, v in ohlcv.items()}
    for i in rows:
        p = out["close"][i - 1]
        for k in ("open", "high", "low", "close"):
            out[k][i] = p
        out["volume"][i] = 0.0
    return out


def frame(ohlcv: dict, start: datetime = START, step: timedelta = timedelta(hours=1)) -> pl.DataFrame:
    n = len(ohlcv["close"])
    times = pl.datetime_range(
        start, start + step * (n - 1), step, time_unit="us", time_zone="UTC", eager=True
    )
    return pl.DataFrame({"time": times, **ohlcv})


def make_frames(
    n: int = 400, tickers=("BTC", "ETH", "SOL"), seed: int = 0, step: timedelta = timedelta(hours=1)
) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    return {t: frame(random_ohlcv(rng, n, price=10.0 ** (i + 1)), step=step) for i, t in enumerate(tickers)}
