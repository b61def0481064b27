"""The configured tickers' bars at a timeframe: read, resampled when needed, aligned. One implementation for
training, the gates, the CLIs and the trading loop.

Where bars come from (``source``):

- ``"store"``: the Parquet bar store under ``paths.data_root``
  (:class:`~cappuccino_core.data.store.BarStore`);
- ``"sample"``: the committed sample under ``paths.sample_dir``, files ``<VENUE>_<BASE><QUOTE>_<tf>.parquet``
  (e.g. ``BINANCE_BTCUSDT_1h.parquet``);
- ``"auto"`` (default): the store, or, for a ticker/timeframe the store lacks, the sample.

A timeframe is available for a ticker when it is stored directly or a finer stored timeframe divides it
(1h -> 4h by :func:`~cappuccino_core.data.resample.resample_bars`); the coarsest such timeframe is read (the
cheapest to resample). :func:`load_aligned` then aligns the tickers (config order) with
:func:`~cappuccino_core.data.align.align_bars` and the ``[data]`` repair policy. A missing ticker raises
:class:`MissingBars` naming the ticker, the timeframe and every place looked in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl

from cappuccino_core.config import Settings
from cappuccino_core.data.align import AlignedBars, align_bars
from cappuccino_core.data.resample import resample_bars
from cappuccino_core.data.store import BarStore, MissingDataset
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds

log = logging.getLogger(__name__)

Source = Literal["auto", "store", "sample"]
SOURCES: tuple[str, ...] = ("auto", "store", "sample")
# Stored timeframes a coarser one may be resampled from, tried coarsest first.
BASE_CANDIDATES: tuple[str, ...] = ("1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d")


class MissingBars(MissingDataset, FileNotFoundError):
    """No bars for a ticker at a timeframe (nor at a finer one dividing it) in the places looked in."""


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"source {source!r} must be one of {', '.join(SOURCES)}")


def sample_path(settings: Settings, ticker: str, tf: str) -> Path:
    """The committed sample's file of ``ticker`` at ``tf``: ``data/sample/BINANCE_BTCUSDT_1h.parquet``."""
    sym = parse_symbol(ticker)
    name = f"{settings.data.venue.upper()}_{sym.base}{sym.quote}_{normalise_timeframe(tf)}.parquet"
    return Path(settings.paths.sample_dir) / name


def _places(settings: Settings, ticker: str, tf: str, source: str) -> list[tuple[str, Path]]:
    """(label, path) of every place ``source`` looks in for ``ticker`` at ``tf``, in priority order."""
    _check_source(source)
    out: list[tuple[str, Path]] = []
    if source in ("auto", "store"):
        store = BarStore(settings.paths.data_root)
        out.append(("the bar store", store.path(settings.data.venue, ticker, tf)))
    if source in ("auto", "sample"):
        out.append(("the sample", sample_path(settings, ticker, tf)))
    return out


def _missing(settings: Settings, ticker: str, tf: str, source: str, finer: bool) -> MissingBars:
    kind = {"store": "stored ", "sample": "sample "}.get(source, "")
    also = " (nor at a finer timeframe that divides it)" if finer else ""
    where = " and ".join(f"{label} ({p})" for label, p in _places(settings, ticker, tf, source))
    return MissingBars(f"no {kind}bars for {parse_symbol(ticker)} at {tf}{also}: looked in {where}")


def read_bars(
    settings: Settings, ticker: str, tf: str, *, source: Source = "auto", start: datetime | None = None
) -> pl.DataFrame:
    """Bars of ``ticker`` at exactly ``tf`` from the first place of ``source`` that has them (from ``start``
    on when given: the store reads only those row groups)."""
    tf = normalise_timeframe(tf)
    for label, p in _places(settings, ticker, tf, source):
        if p.is_file():
            if label == "the bar store":
                return BarStore(settings.paths.data_root).read(settings.data.venue, ticker, tf, start=start)
            df = pl.read_parquet(p)
            return df if start is None else df.filter(pl.col("time") >= start)
    raise _missing(settings, ticker, tf, source, finer=False)


def newest_time(settings: Settings, ticker: str, tf: str, *, source: Source = "auto") -> datetime | None:
    """Open time of the newest bar of ``ticker`` at exactly ``tf`` in ``source`` (None: nothing there)."""
    tf = normalise_timeframe(tf)
    for label, p in _places(settings, ticker, tf, source):
        if p.is_file():
            if label == "the bar store":
                return BarStore(settings.paths.data_root).last_time(settings.data.venue, ticker, tf)
            last = pl.scan_parquet(p).select(pl.col("time").max()).collect().item()
            return last if isinstance(last, datetime) else None
    return None


def source_timeframe(settings: Settings, ticker: str, target: str, *, source: Source = "auto") -> str | None:
    """The coarsest timeframe of ``ticker`` in ``source`` that divides ``target``; None when there is none."""
    secs = timeframe_seconds(target)
    for tf in sorted({*BASE_CANDIDATES, normalise_timeframe(target)}, key=timeframe_seconds, reverse=True):
        s = timeframe_seconds(tf)
        if s <= secs and secs % s == 0 and any(p.is_file() for _, p in _places(settings, ticker, tf, source)):
            return tf
    return None


def available_timeframes(
    settings: Settings, candidates: Iterable[str], *, source: Source = "auto"
) -> list[str]:
    """The candidates every configured ticker can provide (directly or by resampling), in given order."""
    out = []
    for tf in candidates:
        tf = normalise_timeframe(tf)
        missing = [
            t for t in settings.data.tickers if source_timeframe(settings, t, tf, source=source) is None
        ]
        if missing:
            log.info("timeframe %s unavailable: no bars for %s", tf, missing)
        else:
            out.append(tf)
    return out


def load_bars(
    settings: Settings,
    ticker: str,
    timeframe: str,
    *,
    source: Source = "auto",
    last_bars: int | None = None,
) -> pl.DataFrame:
    """Bars of ``ticker`` at ``timeframe``, resampled from the coarsest finer stored timeframe if needed.

    ``last_bars``: read only the newest ~``last_bars`` bars (twice as many hours back from the newest stored
    bar, to cover gaps, from a ``timeframe`` boundary so that resampled buckets stay whole): what a live
    tick needs, at a cost that does not grow with the stored history."""
    tf = normalise_timeframe(timeframe)
    src = source_timeframe(settings, ticker, tf, source=source)
    if src is None:
        raise _missing(settings, ticker, tf, source, finer=True)
    start = None
    if last_bars is not None:
        newest = newest_time(settings, ticker, src, source=source)
        if newest is not None:
            step = timeframe_seconds(tf)
            back = int(newest.timestamp()) - step * (2 * last_bars + 2)
            start = datetime.fromtimestamp(back - back % step, UTC)
    df = read_bars(settings, ticker, src, source=source, start=start)
    return df if src == tf else resample_bars(df, src, tf, symbol=ticker)


def load_aligned(
    settings: Settings,
    timeframe: str | None = None,
    *,
    source: Source = "auto",
    last_bars: int | None = None,
) -> AlignedBars:
    """The configured tickers (``data.tickers``, in that order) at ``timeframe`` (default
    ``data.timeframe``), aligned and repaired with the ``[data]`` policy; ``last_bars``: only the newest
    ones (see :func:`load_bars`)."""
    tf = normalise_timeframe(timeframe or settings.data.timeframe)
    frames = {
        t: load_bars(settings, t, tf, source=source, last_bars=last_bars) for t in settings.data.tickers
    }
    return align_bars(frames, tf, settings.data)
