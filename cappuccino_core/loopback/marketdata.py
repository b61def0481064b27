"""The loopback server's market data: :class:`MarketData` holds canonical bar frames per symbol and
timeframe (filled from the BarStore, from files or from any frame); each venue package serves them in its
wire format (``cappuccino_core.venues.<name>.loopback_marketdata``).

An optional ``clock`` hides bars that open after "now", so a test or a demo can let time pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from cappuccino_core.data.bars import TIME, to_bar_frame
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe


class MarketData:
    """Bars the loopback serves, per canonical symbol and timeframe. Thread-safe; frames may be replaced
    while the server runs (e.g. to let new bars appear between two incremental updates)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.Lock()
        self._frames: dict[tuple[Symbol, str], pl.DataFrame] = {}
        self.clock = clock

    def add(self, symbol: str | Symbol, timeframe: str, frame: pl.DataFrame) -> MarketData:
        """Serve ``frame`` (checked as a bar frame) for ``symbol`` at ``timeframe``; returns self."""
        df = to_bar_frame(frame, name=f"loopback {symbol} {timeframe}")
        df = df.select(TIME, "open", "high", "low", "close", "volume")
        df = df.unique(subset=TIME, keep="last", maintain_order=True).sort(TIME)
        with self._lock:
            self._frames[(parse_symbol(symbol), normalise_timeframe(timeframe))] = df
        return self

    def has(self, symbol: str | Symbol) -> bool:
        """True if any timeframe of ``symbol`` is served."""
        sym = parse_symbol(symbol)
        with self._lock:
            return any(k[0] == sym for k in self._frames)

    def timeframes(self, symbol: str | Symbol) -> list[str]:
        """Timeframes served for ``symbol``."""
        sym = parse_symbol(symbol)
        with self._lock:
            return sorted(tf for s, tf in self._frames if s == sym)

    def frame(self, symbol: str | Symbol, timeframe: str) -> pl.DataFrame | None:
        """The bars visible now (the clock hides bars opening after it), or None for an unknown pair."""
        with self._lock:
            df = self._frames.get((parse_symbol(symbol), normalise_timeframe(timeframe)))
        if df is None:
            return None
        if self.clock is not None:
            df = df.filter(pl.col(TIME) <= as_utc(self.clock()))
        return df

    def window(
        self, symbol: Symbol, timeframe: str, start: datetime | None, end: datetime | None
    ) -> pl.DataFrame:
        """Bars of ``symbol`` at ``timeframe`` with open time in ``[start, end]`` (None: unbounded); KeyError
        when not served."""
        df = self.frame(symbol, timeframe)
        if df is None:
            raise KeyError((symbol, timeframe))
        if start is not None:
            df = df.filter(pl.col(TIME) >= start)
        if end is not None:
            df = df.filter(pl.col(TIME) <= end)
        return df

    @classmethod
    def from_store(
        cls,
        store: Any,
        venue: str,
        *,
        symbols: Iterable[str | Symbol] | None = None,
        timeframes: Iterable[str] | None = None,
        as_quote: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> MarketData:
        """Serve a venue's stored datasets (optionally only some symbols/timeframes). ``as_quote`` re-labels
        the quote (e.g. serve BINANCE BTC/USDT bars as BTC/USD on a USD-quoted venue simulator)."""
        md = cls(clock)
        want_syms = {parse_symbol(s) for s in symbols} if symbols is not None else None
        want_tfs = {normalise_timeframe(t) for t in timeframes} if timeframes is not None else None
        for info in store.datasets(venue):
            if want_syms is not None and info.symbol not in want_syms:
                continue
            if want_tfs is not None and info.timeframe not in want_tfs:
                continue
            sym = Symbol(info.symbol.base, as_quote) if as_quote else info.symbol
            md.add(sym, info.timeframe, store.read(venue, info.symbol, info.timeframe))
        return md

    @classmethod
    def from_files(
        cls,
        paths: Iterable[str | Path],
        *,
        as_quote: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> MarketData:
        """Serve bar files named like ``BINANCE_BTCUSDT_1h.feather`` (see sources.files)."""
        from cappuccino_core.data.sources.files import parse_file_name, read_bar_file

        md = cls(clock)
        for p in paths:
            name = parse_file_name(p)
            sym = Symbol(name.symbol.base, as_quote) if as_quote else name.symbol
            md.add(sym, name.timeframe, read_bar_file(p))
        return md


def as_utc(dt: datetime) -> datetime:
    """``dt`` in UTC (a naive time is taken as UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def market_now(market: MarketData) -> datetime:
    """The market's clock (its ``clock`` when set, else the wall clock), in UTC."""
    return as_utc(market.clock()) if market.clock is not None else datetime.now(UTC)
