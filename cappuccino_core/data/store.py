"""The Parquet bar store: one file per venue/symbol/timeframe, never half-written.

Layout: ``{root}/bars/{venue}/{BASE-QUOTE}/{timeframe}.parquet`` (root is ``paths.data_root``), e.g.
``data/bars/binance/BTC-USDT/1h.parquet``. Each file holds the canonical bar frame
(:mod:`cappuccino_core.data.bars`) sorted by time, one row per time.

Writes are atomic: the frame is written to a hidden temporary file in the same directory, flushed to disk,
then ``os.replace``-d over the dataset; a crash at any point leaves the old file (or no file) intact.
``merge`` is a read-modify-write under a per-dataset lock file (``fcntl.flock`` where available), so two
processes updating the same dataset do not lose each other's bars.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from cappuccino_core.common.atomic import atomic_write_stream
from cappuccino_core.data.bars import TIME, empty_bars, to_bar_frame
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock, writes stay atomic
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_VENUE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class MissingDataset(LookupError):
    """No stored bars for the venue/symbol/timeframe asked for."""


@dataclass(frozen=True)
class DatasetInfo:
    """One stored dataset: its key, file, row count and first/last bar open time."""

    venue: str
    symbol: Symbol
    timeframe: str
    path: Path
    rows: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class MergeResult:
    """What a merge did: rows before/after, bars new to the store, stored bars replaced by newer values, and
    duplicate times inside the incoming frame (collapsed, the later row winning)."""

    path: Path
    rows_before: int
    rows_after: int
    added: int
    replaced: int
    incoming: int
    duplicates_in_input: int
    last: datetime | None


def _norm_venue(venue: str) -> str:
    v = venue.strip().lower()
    if not _VENUE.match(v):
        raise ValueError(f"venue {venue!r} must be lower-case letters, digits, '_', '-' or '.'")
    return v


@dataclass(frozen=True)
class StoreKey:
    """What a stored file's path says: venue, symbol and timeframe."""

    venue: str
    symbol: Symbol
    timeframe: str


def parse_store_path(path: str | Path) -> StoreKey | None:
    """The venue/symbol/timeframe of a store-layout path ``.../{venue}/{BASE-QUOTE}/{timeframe}.parquet``;
    None for any other path (a hidden temporary file, another suffix, a folder that is not a symbol)."""
    p = Path(path)
    if p.suffix != ".parquet" or p.name.startswith("."):
        return None
    try:
        return StoreKey(
            _norm_venue(p.parent.parent.name), parse_symbol(p.parent.name), normalise_timeframe(p.stem)
        )
    except ValueError:
        return None


def _dedupe_sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.unique(subset=TIME, keep="last", maintain_order=True).sort(TIME)


class BarStore:
    """Read, write and merge stored bars under ``{root}/bars``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.bars_dir = self.root / "bars"

    def __repr__(self) -> str:
        return f"BarStore({str(self.root)!r})"

    # ---------------------------------------------------------------- paths
    def path(self, venue: str, symbol: str | Symbol, timeframe: str) -> Path:
        """The dataset's file, ``{root}/bars/{venue}/{BASE-QUOTE}/{timeframe}.parquet`` (it may not exist
        yet)."""
        sym = parse_symbol(symbol)
        return self.bars_dir / _norm_venue(venue) / sym.store / f"{normalise_timeframe(timeframe)}.parquet"

    def exists(self, venue: str, symbol: str | Symbol, timeframe: str) -> bool:
        """Whether the dataset is stored."""
        return self.path(venue, symbol, timeframe).is_file()

    # ---------------------------------------------------------------- read
    def read(
        self,
        venue: str,
        symbol: str | Symbol,
        timeframe: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pl.DataFrame:
        """Stored bars with ``start <= time < end`` (both optional). MissingDataset if nothing is stored."""
        p = self.path(venue, symbol, timeframe)
        if not p.is_file():
            raise MissingDataset(
                f"{_describe(venue, symbol, timeframe)} (expected {p}); "
                "run `cappuccino data download` or `cappuccino data import`"
            )
        lf = pl.scan_parquet(p)
        if start is not None:
            lf = lf.filter(pl.col(TIME) >= _utc(start))
        if end is not None:
            lf = lf.filter(pl.col(TIME) < _utc(end))
        return lf.collect()

    def read_or_empty(self, venue: str, symbol: str | Symbol, timeframe: str) -> pl.DataFrame:
        """Every stored bar of the dataset, or an empty bar frame when nothing is stored."""
        try:
            return self.read(venue, symbol, timeframe)
        except MissingDataset:
            return empty_bars()

    def last_time(self, venue: str, symbol: str | Symbol, timeframe: str) -> datetime | None:
        """Open time of the last stored bar, or None when nothing is stored."""
        p = self.path(venue, symbol, timeframe)
        if not p.is_file():
            return None
        last = pl.scan_parquet(p).select(pl.col(TIME).max()).collect().item()
        return _utc(last) if last is not None else None

    def staleness(
        self, venue: str, symbol: str | Symbol, timeframe: str, *, now: datetime | None = None
    ) -> float:
        """Age of the last stored bar in intervals: ``(now - last open time) / interval``.

        With closed bars only, an up-to-date hourly dataset reads between 1 and 2; compare with
        ``data.stale_after_bars``. MissingDataset when nothing is stored."""
        last = self.last_time(venue, symbol, timeframe)
        if last is None:
            raise MissingDataset(_describe(venue, symbol, timeframe))
        now = _utc(now) if now is not None else datetime.now(UTC)
        return (now - last).total_seconds() / timeframe_seconds(timeframe)

    def datasets(self, venue: str | None = None) -> list[DatasetInfo]:
        """Every stored dataset (optionally one venue's), sorted by venue, symbol, timeframe."""
        out: list[DatasetInfo] = []
        if not self.bars_dir.is_dir():
            return out
        venues = [self.bars_dir / _norm_venue(venue)] if venue else sorted(self.bars_dir.iterdir())
        for vdir in venues:
            if not vdir.is_dir():
                continue
            for f in sorted(vdir.glob("*/*.parquet"), key=lambda f: (f.parent.name, f.name)):
                key = parse_store_path(f)
                if key is None or not f.is_file():
                    continue
                stats = (
                    pl.scan_parquet(f)
                    .select(pl.len().alias("n"), pl.col(TIME).min().alias("a"), pl.col(TIME).max().alias("b"))
                    .collect()
                )
                a, b = stats["a"][0], stats["b"][0]
                out.append(
                    DatasetInfo(
                        venue=key.venue,
                        symbol=key.symbol,
                        timeframe=key.timeframe,
                        path=f,
                        rows=int(stats["n"][0]),
                        first=_utc(a) if a is not None else None,
                        last=_utc(b) if b is not None else None,
                    )
                )
        return out

    # ---------------------------------------------------------------- write
    def write(self, venue: str, symbol: str | Symbol, timeframe: str, frame: pl.DataFrame) -> Path:
        """Replace the dataset with ``frame`` (cast to the canonical schema, one row per time, sorted)."""
        p = self.path(venue, symbol, timeframe)
        df = _dedupe_sorted(to_bar_frame(frame, name=str(p)))
        with self._lock(p):
            _atomic_write_parquet(df, p)
        return p

    def merge(self, venue: str, symbol: str | Symbol, timeframe: str, frame: pl.DataFrame) -> MergeResult:
        """Merge ``frame`` into the stored bars: by time, the incoming row wins over a stored one (a newer
        fetch corrects an older one), the result sorted. Writes only when something changed."""
        p = self.path(venue, symbol, timeframe)
        new = to_bar_frame(frame, name=str(p)) if frame.height or frame.columns else empty_bars()
        incoming_unique = _dedupe_sorted(new)
        dups = new.height - incoming_unique.height
        if dups:
            log.warning("%s: %d duplicate time(s) in the incoming bars; the later row kept", p, dups)
        with self._lock(p):
            old = pl.read_parquet(p) if p.is_file() else empty_bars()
            if incoming_unique.height == 0:
                last = old[TIME].max() if old.height else None
                return MergeResult(p, old.height, old.height, 0, 0, new.height, dups, _utc_or_none(last))
            present, changed = 0, 0
            if old.height:
                both = incoming_unique.join(old, on=TIME, how="inner", suffix="_old")
                present = both.height
                cols = [c for c in incoming_unique.columns if c != TIME and c in old.columns]
                if present and cols:
                    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in cols])
                    changed = both.filter(differs).height
            added = incoming_unique.height - present
            if added == 0 and changed == 0:
                last = _utc_or_none(old[TIME].max())
                return MergeResult(p, old.height, old.height, 0, 0, new.height, dups, last)
            merged = _dedupe_sorted(pl.concat([old, incoming_unique], how="diagonal_relaxed"))
            _atomic_write_parquet(merged, p)
        return MergeResult(
            p, old.height, merged.height, added, changed, new.height, dups, _utc_or_none(merged[TIME].max())
        )

    @contextlib.contextmanager
    def _lock(self, p: Path) -> Iterator[None]:
        p.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(p.parent / f".{p.name}.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _atomic_write_parquet(df: pl.DataFrame, path: Path) -> None:
    """Write to a hidden temp file beside ``path``, fsync, then os.replace: all or nothing."""
    atomic_write_stream(path, lambda fh: df.write_parquet(fh, compression="zstd", statistics=True))


def _describe(venue: str, symbol: str | Symbol, timeframe: str) -> str:
    return f"no stored bars for {_norm_venue(venue)} {parse_symbol(symbol)} {normalise_timeframe(timeframe)}"


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _utc_or_none(dt: Any) -> datetime | None:
    return _utc(dt) if isinstance(dt, datetime) else None


def next_open(last: datetime, timeframe: str) -> datetime:
    """Open time of the bar after ``last``."""
    return _utc(last) + timedelta(seconds=timeframe_seconds(timeframe))
