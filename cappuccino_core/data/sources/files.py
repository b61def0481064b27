"""Local bar files: Feather (Arrow IPC), Parquet and CSV, for offline use and the bundled sample.

File names carry what the bars are:

- ``{VENUE}_{PAIR}_{TIMEFRAME}.{ext}``: ``BINANCE_BTCUSDT_1h.feather`` (../shared/data/real), the bundled
  sample ``BINANCE_BTCUSDT_1h.parquet``; the pair may also be written ``BTC-USDT``;
- freqtrade's ``{BASE}_{QUOTE}-{TIMEFRAME}.{ext}``: ``BTC_USDT-1h.feather`` (no venue in the name).

Columns: a time column named ``time``, ``date``, ``timestamp``, ``datetime`` or ``open_time`` (any case)
holding the bar OPEN time, plus open/high/low/close/volume. Time may be a datetime (naive = UTC), an ISO
string, or integer epoch; integer epochs are converted by magnitude (< 1e11 seconds, < 1e14 milliseconds,
< 1e17 microseconds, else nanoseconds), which is unambiguous for dates between 1973 and 2286.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import polars as pl

from cappuccino_core.data.bars import to_bar_frame
from cappuccino_core.data.sources.base import check_window, finalise
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe

SUFFIXES = {
    ".feather": "ipc",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}
TIME_COLUMNS = ("time", "date", "timestamp", "datetime", "open_time")
_VENUE_NAME = re.compile(
    r"^(?P<venue>[A-Za-z0-9]+)_(?P<pair>[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)?)_(?P<tf>\d+[mhdwMHDW])$"
)
_FREQTRADE_NAME = re.compile(r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)-(?P<tf>\d+[mhdwMHDW])$")


@dataclass(frozen=True)
class FileName:
    """What a bar file's name says: venue (None for freqtrade names), symbol and timeframe."""

    venue: str | None
    symbol: Symbol
    timeframe: str


def is_bar_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def parse_file_name(path: str | Path) -> FileName:
    """Venue/symbol/timeframe from a bar file's name; ValueError naming the file when it does not fit."""
    p = Path(path)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    m = _VENUE_NAME.match(stem)
    try:
        if m:
            return FileName(m["venue"].lower(), parse_symbol(m["pair"]), normalise_timeframe(m["tf"].lower()))
        m = _FREQTRADE_NAME.match(stem)
        if m:
            return FileName(
                None, parse_symbol(f"{m['base']}/{m['quote']}"), normalise_timeframe(m["tf"].lower())
            )
    except ValueError as exc:
        raise ValueError(f"{p.name}: {exc}") from None
    raise ValueError(
        f"{p.name}: cannot read venue/symbol/timeframe from the name; expected VENUE_PAIR_TF.ext "
        "(e.g. BINANCE_BTCUSDT_1h.feather) or BASE_QUOTE-TF.ext (freqtrade), or pass them explicitly"
    )


def _epoch_to_datetime(col: pl.Series) -> pl.Series:
    peak = col.abs().max()
    if peak is None:
        return col.cast(pl.Datetime("us", "UTC"))
    mag = int(peak)  # type: ignore[arg-type]
    unit: Literal["s", "ms", "us", "ns"] = (
        "s" if mag < 10**11 else "ms" if mag < 10**14 else "us" if mag < 10**17 else "ns"
    )
    return pl.from_epoch(col, time_unit=unit).dt.replace_time_zone("UTC").alias(col.name)


def read_bar_file(path: str | Path) -> pl.DataFrame:
    """Read one bar file into the canonical schema. Does not sort or deduplicate (validation must see it)."""
    p = Path(path)
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise ValueError(f"{p}: unsupported file type {p.suffix!r}; supported: {', '.join(sorted(SUFFIXES))}")
    if not p.is_file():
        raise FileNotFoundError(f"bar file {p} does not exist")
    try:
        if kind == "ipc":
            df = pl.read_ipc(p)
        elif kind == "parquet":
            df = pl.read_parquet(p)
        else:
            df = pl.read_csv(p, try_parse_dates=True)
    except Exception as exc:
        raise ValueError(f"{p}: cannot read as {kind}: {exc}") from exc
    df = df.rename({c: c.strip().lower() for c in df.columns if c != c.strip().lower()})
    time_col = next((c for c in TIME_COLUMNS if c in df.columns), None)
    if time_col is None:
        raise ValueError(f"{p}: no time column (looked for {', '.join(TIME_COLUMNS)}); have {df.columns}")
    if df[time_col].dtype.is_integer():
        df = df.with_columns(_epoch_to_datetime(df[time_col]))
    return to_bar_frame(df, time_col=time_col, name=str(p))


class FileSource:
    """A directory of bar files as a :class:`BarSource`: finds ``{VENUE}_{PAIR}_{tf}.*`` (or the freqtrade
    name) for the symbol and returns its bars in ``[start, end)``."""

    def __init__(self, directory: str | Path, venue: str = "binance") -> None:
        self.directory = Path(directory)
        self.venue = venue.lower()

    def find(self, symbol: str | Symbol, timeframe: str) -> Path:
        sym, tf = parse_symbol(symbol), normalise_timeframe(timeframe)
        matches = []
        for p in sorted(self.directory.iterdir()) if self.directory.is_dir() else []:
            if not is_bar_file(p):
                continue
            try:
                name = parse_file_name(p)
            except ValueError:
                continue
            if name.symbol == sym and name.timeframe == tf and name.venue in (None, self.venue):
                matches.append(p)
        if not matches:
            raise FileNotFoundError(f"no {self.venue} {sym} {tf} bar file in {self.directory}")
        if len(matches) > 1:
            raise ValueError(f"several files for {self.venue} {sym} {tf} in {self.directory}: {matches}")
        return matches[0]

    def fetch(self, symbol: str | Symbol, timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        start, end = check_window(start, end)
        path = self.find(symbol, timeframe)
        return finalise([read_bar_file(path)], start, end, name=str(path))


__all__ = ["FileName", "FileSource", "is_bar_file", "parse_file_name", "read_bar_file"]
