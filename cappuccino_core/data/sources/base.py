"""The one source protocol: ``BarSource.fetch(symbol, timeframe, start, end) -> canonical bar frame``.

Window convention everywhere in ingest: half-open ``[start, end)`` on bar OPEN time, both timezone-aware UTC
(naive datetimes are taken as UTC). A source returns the bars it has in that window, sorted by time, one row
per time (a later page wins over an earlier one), in the schema of :mod:`cappuccino_core.data.bars`.
It does not repair or validate: gaps stay gaps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import polars as pl

from cappuccino_core.data.bars import BAR_SCHEMA, TIME, empty_bars, to_bar_frame
from cappuccino_core.data.symbols import Symbol


@runtime_checkable
class BarSource(Protocol):
    """Anything that yields OHLCV bars for a symbol and timeframe over ``[start, end)``."""

    #: the store's venue name for what this source returns (alpaca, coinbase, binance, ...)
    venue: str

    def fetch(self, symbol: str | Symbol, timeframe: str, start: datetime, end: datetime) -> pl.DataFrame: ...


def utc(dt: datetime) -> datetime:
    """Timezone-aware UTC; naive input is taken as UTC (never local time)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def check_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = utc(start), utc(end)
    if end < start:
        raise ValueError(f"window end {end.isoformat()} is before start {start.isoformat()}")
    return start, end


def finalise(frames: list[pl.DataFrame], start: datetime, end: datetime, *, name: str) -> pl.DataFrame:
    """Concatenate pages, cast to the canonical schema, keep ``[start, end)``, one row per time (the later
    page wins), sorted by time."""
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_bars()
    df = to_bar_frame(pl.concat(frames, how="vertical_relaxed"), name=name)
    s, e = utc(start), utc(end)
    df = df.filter((pl.col(TIME) >= s) & (pl.col(TIME) < e))
    return df.unique(subset=TIME, keep="last", maintain_order=True).sort(TIME).select(list(BAR_SCHEMA))
