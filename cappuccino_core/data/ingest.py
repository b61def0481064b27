"""Ingest: download a window, update incrementally, import local files; everything lands in the BarStore.

- :func:`download` fetches ``[start, end)`` per symbol and merges it into the store. The window is cut into
  chunks of ``chunk_bars`` bars (progress is reported per chunk) but a symbol's bars are written once, after
  its last chunk arrived: if the source stays down the store is left exactly as it was for that symbol
  (symbols finished before the failure keep what they got). The failure propagates as
  :class:`~cappuccino_core.data.http.SourceUnavailable` naming the source, symbol and last error.
- :func:`update` fetches only bars after the last stored one (``start = last + 1 interval``); a symbol that
  has nothing stored needs ``start``.
- :func:`import_files` reads Feather/Parquet/CSV files (or every such file in a directory); venue, symbol
  and timeframe come from the file name (``BINANCE_BTCUSDT_1h.parquet``) unless given. Every file is
  validated before anything is merged; one bad file refuses the whole import and leaves the store as it was.

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

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.bars import TIME
from cappuccino_core.data.sources.base import BarSource, utc
from cappuccino_core.data.sources.files import is_bar_file, parse_file_name, read_bar_file
from cappuccino_core.data.store import BarStore, MergeResult, next_open
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.data.validate import DataValidationError, Problem, fmt_time, validate_bars

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
        """Bars new to the store (0 when nothing was merged)."""
        return self.merge.added if self.merge else 0

    @property
    def rows(self) -> int:
        """Stored bars after the merge (0 when nothing was merged)."""
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


@dataclass(frozen=True)
class _Checked:
    path: Path
    venue: str
    symbol: Symbol
    timeframe: str
    frame: pl.DataFrame


class ImportRefused(DataValidationError):
    """An import refused whole: at least one file failed validation, nothing was written to the store.
    ``failures`` maps each failing file to the checks it failed (one line each)."""

    def __init__(self, failures: dict[Path, list[str]]) -> None:
        self.failures = failures
        lines = [f"{p}: {'; '.join(checks)}" for p, checks in failures.items()]
        n = len(failures)
        super().__init__(
            f"import refused, nothing written: {n} file(s) failed validation\n" + "\n".join(lines),
            where=", ".join(str(p) for p in failures),
        )


def _check_file(
    f: Path,
    venue: str | None,
    symbol: str | Symbol | None,
    timeframe: str | None,
    config: DataConfig,
) -> _Checked:
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
    report = validate_bars(frame, str(sym), tf, config=config, source=str(f))
    errors = [p for p in report.errors() if p.kind not in _STAGE_CHECKS]
    if not errors and config.import_max_jump > 0:
        errors += _jumps(frame, config.import_max_jump)
    if errors:
        raise DataValidationError(
            "; ".join(f"{p.kind}: {p.message}" for p in errors), where=str(f), problems=errors
        )
    # The only repairs made on import: rows sorted by time and exact duplicate rows collapsed (both
    # reported as warnings by the validation and lossless); gaps and placeholders are left to the stages'
    # repair policy, which reads the stored history.
    frame = frame.unique(maintain_order=True).sort(TIME, maintain_order=True)
    return _Checked(f, v.lower(), sym, tf, frame)


def _jumps(frame: pl.DataFrame, limit: float) -> list[Problem]:
    """Bars whose close is more than ``limit`` times (or less than 1/``limit`` of) the previous bar's close.
    Wicks (high/low) are not judged: real crashes print them (LINK's low of 0.0001 on 2020-03-12)."""
    df = frame.sort(TIME).with_columns((pl.col("close") / pl.col("close").shift(1)).alias("_r"))
    bad = df.filter(((pl.col("_r") > limit) | (pl.col("_r") < 1.0 / limit)).fill_null(False))
    if bad.is_empty():
        return []
    times = bad[TIME].to_list()
    more = f" (+{len(times) - 5} more)" if len(times) > 5 else ""
    shown = ", ".join(fmt_time(t) for t in times[:5]) + more
    return [
        Problem("jump", "error", tuple(times),
                f"{len(times)} close(s) moving more than x{limit:g} from the previous close at {shown} "
                "(data.import_max_jump)")
    ]  # fmt: skip


# Findings that concern the history as a whole rather than the values in a file: the stages apply the
# [data] repair policy to them when they read the store, so an import does not refuse a file for them.
_STAGE_CHECKS = frozenset({"gaps", "gaps_fillable", "placeholders", "stale"})


def import_files(
    paths: Iterable[str | Path],
    store: BarStore,
    venue: str | None = None,
    *,
    symbol: str | Symbol | None = None,
    timeframe: str | None = None,
    progress: ProgressCallback | None = None,
    config: DataConfig | None = None,
) -> list[IngestResult]:
    """Import bar files into the store (merged: the file's bars win over stored ones at the same time).

    Every file is read and validated before anything is merged: a file with NaN/null, infinite,
    non-positive prices (or negative volume), high/low violations, times off the timeframe grid,
    conflicting duplicate times, a non-number column or no rows refuses the whole import with
    :class:`ImportRefused` listing every failing file and its failed checks, and the store is left
    byte-for-byte as it was. ``config`` is the ``[data]`` policy (default ``DataConfig()``).

    Venue/symbol/timeframe come from each file name unless given; ``symbol`` may only be given for a single
    file. Raises ValueError naming the file when its name says nothing usable and no value was given."""
    policy = config if config is not None else DataConfig.model_validate({})
    files = expand_paths(paths)
    if symbol is not None and len(files) > 1:
        raise ValueError(f"--symbol applies to one file, got {len(files)} files")
    checked: list[_Checked] = []
    failures: dict[Path, list[str]] = {}
    for f in files:
        try:
            checked.append(_check_file(f, venue, symbol, timeframe, policy))
        except DataValidationError as exc:
            failures[f] = [f"{p.kind}: {p.message}" for p in exc.problems] or [str(exc)]
        except ValueError as exc:
            failures[f] = [str(exc).removeprefix(f"{f}: ").removeprefix(f"{f.name}: ")]
    if failures:
        raise ImportRefused(failures)
    results = []
    bars = 0
    _notify(progress, Progress("import", "start", 0, len(files)))
    for i, c in enumerate(checked):
        merge = store.merge(c.venue, c.symbol, c.timeframe, c.frame)
        log.info("imported %s -> %s (%d rows, %d new)", c.path, merge.path, c.frame.height, merge.added)
        results.append(
            IngestResult(
                c.venue, c.symbol, c.timeframe, None, None, c.frame.height, merge, source=str(c.path)
            )
        )
        bars += c.frame.height
        _notify(progress, Progress("import", "advance", i + 1, len(files), bars))
    _notify(progress, Progress("import", "done", len(files), len(files), bars))
    return results
