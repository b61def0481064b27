"""Top of book derived from replayed bars: bid/ask sit around the current bar's close with a configurable
spread; :meth:`ReplayBook.advance` moves every symbol to its next bar (and returns the new bars, so resting
orders can be checked against the bar's high/low)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from cappuccino_core.data.symbols import parse_symbol


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar of the replay."""

    time: datetime
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True)
class Top:
    """Top of book derived from the current bar (close plus/minus half the spread)."""

    symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    time: datetime


class ReplayBook:
    """Replays bars per canonical symbol (``"BTC/USD"``). ``spread_bps`` is the full bid-ask spread;
    ``touch_size`` the base quantity shown at each side (what a marketable order can take at the touch)."""

    def __init__(
        self,
        frames: dict[str, pl.DataFrame],
        *,
        spread_bps: float = 2.0,
        touch_size: float = 1e9,
        start: int = 0,
    ) -> None:
        if not frames:
            raise ValueError("ReplayBook needs at least one symbol's bars")
        if spread_bps < 0 or touch_size <= 0:
            raise ValueError(f"spread_bps must be >= 0 and touch_size > 0; got {spread_bps}, {touch_size}")
        self._bars: dict[str, list[Bar]] = {}
        for sym, df in frames.items():
            missing = {"time", "open", "high", "low", "close"} - set(df.columns)
            if missing:
                raise ValueError(f"bars for {sym} lack columns {sorted(missing)}")
            rows = [
                Bar(r["time"], *(float(r[k]) for k in ("open", "high", "low", "close")))
                for r in df.sort("time").iter_rows(named=True)
            ]
            if len(rows) <= start:
                raise ValueError(f"bars for {sym}: {len(rows)} rows, cannot start at index {start}")
            self._bars[str(parse_symbol(sym))] = rows
        self.spread_bps, self.touch_size = float(spread_bps), float(touch_size)
        self._i = start
        self._lock = threading.Lock()

    @property
    def symbols(self) -> list[str]:
        """Canonical symbols the book replays."""
        return sorted(self._bars)

    @property
    def index(self) -> int:
        """Index of the current bar."""
        return self._i

    def has(self, symbol: str) -> bool:
        """True if the book replays ``symbol``."""
        return str(parse_symbol(symbol)) in self._bars

    def bar(self, symbol: str) -> Bar:
        """The current bar of ``symbol`` (KeyError naming it when not replayed)."""
        rows = self._bars.get(str(parse_symbol(symbol)))
        if rows is None:
            raise KeyError(f"no bars for {symbol}")
        return rows[min(self._i, len(rows) - 1)]

    def top(self, symbol: str) -> Top:
        """Top of book of ``symbol`` now."""
        b = self.bar(symbol)
        half = b.close * self.spread_bps / 2e4
        return Top(
            str(parse_symbol(symbol)),
            b.close - half,
            b.close + half,
            self.touch_size,
            self.touch_size,
            b.time,
        )

    def advance(self, steps: int = 1) -> dict[str, Bar]:
        """Move to the next bar (``steps`` bars); returns each symbol's new current bar. Past the last bar the
        book stays on it."""
        with self._lock:
            self._i += steps
        return {s: self.bar(s) for s in self._bars}
