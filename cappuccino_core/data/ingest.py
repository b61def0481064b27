"""Ingest: download a window, update incrementally, import local files; everything lands in the BarStore.

- :func:`download` fetches ``[start, end)`` per symbol and merges it into the store. The window is cut into
  chunks of ``chunk_bars`` bars (progress is reported per chunk) but a symbol's bars are written once, after
  its last chunk arrived: if the source stays down the store is left exactly as it was for that symbol
  (symbols finished before the failure keep what they got). The failure propagates as
  :class:`~cappuccino_core.data.http.SourceUnavailable` naming the source, symbol and last error.
- :func:`update` fetches only bars after the last stored one (``start = last + 1 interval``); a symbol that
  has nothing stored needs ``start``.
- :func:`import_files` reads Feather/Parquet/CSV files (or every such file in a directory); venue, symbol
  and timeframe come from the file name (``BINANCE_BTCUSDT_1h.parquet``) unless given.

Only closed bars are stored: ``end`` is clamped to the open time of the bar in progress at ``now``, so a
half-built bar is never written (``update`` starts after the last stored bar and would never revisit it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from cappuccino_core.data.sources.base import BarSource, utc
from cappuccino_core.data.sources.files import is_bar_file, parse_file_name, read_bar_file
from cappuccino_core.data.store import BarStore, MergeResult, next_open
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """One progress report. ``completed``/``total`` count bar intervals of the window (files for imports);
    ``stage`` is "start", "advance" or "done"."""

    key: str
    stage: str
    completed: int
    total: int
    bars: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class IngestResult:
    """What ingest did for one dataset."""

    venue: str
    symbol: Symbol
    timeframe: str
    start: datetime | None
    end: datetime | None
    fetched: int
    merge: MergeResult | None
    source: str = ""

    @property
    def added(self) -> int:
        return self.merge.added if self.merge else 0

    @property
    def rows(self) -> int:
        return self.merge.rows_after if self.merge else 0


def closed_bar_end(timeframe: str, now: datetime | None = None) -> datetime:
    """Open time of the bar in progress at ``now``: bars opening before it are closed."""
    step = timeframe_seconds(timeframe)
    now = utc(now) if now is not None else datetime.now(UTC)
    return datetime.fromtimestamp((int(now.timestamp()) // step) * step, UTC)


def _notify(progress: ProgressCallback | None, event: Progress) -> None:
    if progress is not None:
        progress(event)


def _fetch_window(
    source: BarSource,
    sym: Symbol,
    tf: str,
    start: datetime,
    end: datetime,
    chunk_bars: int,
    progress: ProgressCallback | None,
) -> pl.DataFrame:
    step = timeframe_seconds(tf)
    total = max(0, int((end - start).total_seconds() // step))
    key = str(sym)
    _notify(progress, Progress(key, "start", 0, total))
    frames: list[pl.DataFrame] = []
    bars = 0
    s = start
    chunk = timedelta(seconds=step * chunk_bars)
    while s < end:
        e = min(s + chunk, end)
        df = source.fetch(sym, tf, s, e)
        frames.append(df)
        bars += df.height
        s = e
        done = min(total, int((s - start).total_seconds() // step))
        _notify(progress, Progress(key, "advance", done, total, bars))
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def download(
    source: BarSource,
    store: BarStore,
    symbols: Sequence[str | Symbol],
    timeframe: str,
    start: datetime,
    end: datetime | None = None,
    *,
    progress: ProgressCallback | None = None,
    chunk_bars: int = 6_000,
    now: datetime | None = None,
) -> list[IngestResult]:
    """Fetch ``[start, end)`` (end defaults to now; clamped to closed bars) for each symbol into the store."""
    tf = normalise_timeframe(timeframe)
    syms = [parse_symbol(s) for s in symbols]
    if not syms:
        raise ValueError("download: no symbols given")
    if chunk_bars < 1:
        raise ValueError(f"chunk_bars must be >= 1, got {chunk_bars}")
    start = utc(start)
    limit = closed_bar_end(tf, now)
    end = min(utc(end), limit) if end is not None else limit
    if end <= start:
        raise ValueError(
            f"download window is empty: start {start.isoformat()} is not before end {end.isoformat()} "
            f"(end is clamped to the last closed {tf} bar)"
        )
    results = []
    for sym in syms:
        results.append(_ingest_one(source, store, sym, tf, start, end, chunk_bars, progress))
    return results


def _ingest_one(
    source: BarSource,
    store: BarStore,
    sym: Symbol,
    tf: str,
    start: datetime,
    end: datetime,
    chunk_bars: int,
    progress: ProgressCallback | None,
) -> IngestResult:
    frame = _fetch_window(source, sym, tf, start, end, chunk_bars, progress)
    merge = store.merge(source.venue, sym, tf, frame) if frame.height else None
    log.info(
        "%s %s %s: fetched %d bar(s) in [%s, %s), %d new",
        source.venue,
        sym,
        tf,
        frame.height,
        start.isoformat(),
        end.isoformat(),
        merge.added if merge else 0,
    )
    total = max(0, int((end - start).total_seconds() // timeframe_seconds(tf)))
    _notify(progress, Progress(str(sym), "done", total, total, frame.height))
    return IngestResult(source.venue, sym, tf, start, end, frame.height, merge, source=type(source).__name__)


def update(
    source: BarSource,
    store: BarStore,
    symbols: Sequence[str | Symbol],
    timeframe: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: ProgressCallback | None = None,
    chunk_bars: int = 6_000,
    now: datetime | None = None,
) -> list[IngestResult]:
    """Fetch only the bars after the last stored one, for each symbol. ``start`` is used only for a symbol
    with nothing stored yet (ValueError naming it when missing). Up-to-date symbols make no request."""
    tf = normalise_timeframe(timeframe)
    syms = [parse_symbol(s) for s in symbols]
    if not syms:
        raise ValueError("update: no symbols given")
    limit = closed_bar_end(tf, now)
    stop = min(utc(end), limit) if end is not None else limit
    results = []
    for sym in syms:
        last = store.last_time(source.venue, sym, tf)
        if last is not None:
            s = next_open(last, tf)
        elif start is not None:
            s = utc(start)
        else:
            raise ValueError(
                f"update: no stored {source.venue} {sym} {tf} bars to continue from; "
                "give a start (or run `cappuccino data download --start ...`) first"
            )
        if s >= stop:
            log.info("%s %s %s: up to date (last bar %s)", source.venue, sym, tf, last)
            _notify(progress, Progress(str(sym), "done", 0, 0, 0))
            results.append(
                IngestResult(source.venue, sym, tf, s, stop, 0, None, source=type(source).__name__)
            )
            continue
        results.append(_ingest_one(source, store, sym, tf, s, stop, chunk_bars, progress))
    return results


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, directories expanded to the bar files directly inside them (sorted)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if is_bar_file(f))
            if not found:
                raise FileNotFoundError(f"no Feather/Parquet/CSV bar files in directory {p}")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p} does not exist")
    return out


def import_files(
    paths: Iterable[str | Path],
    store: BarStore,
    venue: str | None = None,
    *,
    symbol: str | Symbol | None = None,
    timeframe: str | None = None,
    progress: ProgressCallback | None = None,
) -> list[IngestResult]:
    """Import bar files into the store (merged: the file's bars win over stored ones at the same time).

    Venue/symbol/timeframe come from each file name unless given; ``symbol`` may only be given for a single
    file. Raises ValueError naming the file when its name says nothing usable and no value was given."""
    files = expand_paths(paths)
    if symbol is not None and len(files) > 1:
        raise ValueError(f"--symbol applies to one file, got {len(files)} files")
    results = []
    bars = 0
    _notify(progress, Progress("import", "start", 0, len(files)))
    for i, f in enumerate(files):
        name = None
        if venue is None or symbol is None or timeframe is None:
            try:
                name = parse_file_name(f)
            except ValueError:
                if symbol is None or timeframe is None:
                    raise
        v = venue or (name.venue if name else None)
        if v is None:
            raise ValueError(f"{f.name}: the file name carries no venue; pass venue (--venue)")
        sym = parse_symbol(symbol) if symbol is not None else name.symbol  # type: ignore[union-attr]
        tf = normalise_timeframe(timeframe) if timeframe is not None else name.timeframe  # type: ignore[union-attr]
        frame = read_bar_file(f)
        merge = store.merge(v, sym, tf, frame)
        log.info("imported %s -> %s (%d rows, %d new)", f, merge.path, frame.height, merge.added)
        results.append(IngestResult(v.lower(), sym, tf, None, None, frame.height, merge, source=str(f)))
        bars += frame.height
        _notify(progress, Progress("import", "advance", i + 1, len(files), bars))
    _notify(progress, Progress("import", "done", len(files), len(files), bars))
    return results
