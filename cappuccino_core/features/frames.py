"""Reading aligned bar frames into arrays: checks, times, source tags, blocks and bar spacing."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from cappuccino_core.data.bars import OHLCV, TIME
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC
from cappuccino_core.features.indicators import BarArrays


@dataclass
class AlignedFrames:
    """Checked, aligned frames as arrays: one time column, one source tag per row, OHLCV per ticker."""

    tickers: tuple[str, ...]
    times: np.ndarray  # (T,) int64 ns
    source: np.ndarray  # (T,) uint8
    bars: list[BarArrays]  # per ticker


def times_ns(df: pl.DataFrame, ticker: str) -> np.ndarray:
    """The ``time`` column as int64 nanoseconds since the epoch (UTC)."""
    if TIME not in df.columns:
        raise ValueError(f"{ticker}: no {TIME!r} column; have {df.columns}")
    t = df[TIME]
    if not isinstance(t.dtype, pl.Datetime):
        raise ValueError(f"{ticker}: {TIME!r} must be a Datetime column (UTC, bar open time); got {t.dtype}")
    return t.dt.cast_time_unit("ns").to_physical().to_numpy().astype(np.int64, copy=False)


def _source(df: pl.DataFrame, ticker: str) -> np.ndarray:
    s = df["source"]
    if s.dtype == pl.String or s.dtype == pl.Categorical:
        mapping = {"real": SOURCE_REAL, "synthetic": SOURCE_SYNTHETIC}
        vals = s.cast(pl.String).to_list()
        bad = sorted({v for v in vals if v not in mapping}, key=str)
        if bad:
            raise ValueError(f"{ticker}: unknown source value(s) {bad}; expected 'real' or 'synthetic'")
        return np.array([mapping[v] for v in vals], dtype=np.uint8)
    arr = s.to_numpy()
    if s.null_count() or not np.isin(arr, (SOURCE_REAL, SOURCE_SYNTHETIC)).all():
        raise ValueError(f"{ticker}: source must be {SOURCE_REAL} (real) or {SOURCE_SYNTHETIC} (synthetic)")
    return arr.astype(np.uint8)


def read_frames(frames: Mapping[str, pl.DataFrame]) -> AlignedFrames:
    """Bar frames of several tickers aligned on their common times (ValueError when none are given)."""
    if not frames:
        raise ValueError("no frames given")
    tickers = tuple(frames)
    times: np.ndarray | None = None
    source: np.ndarray | None = None
    source_from = ""
    bars = []
    for ticker, df in frames.items():
        t = times_ns(df, ticker)
        if times is None:
            times = t
        elif t.shape != times.shape or not np.array_equal(t, times):
            if t.shape != times.shape:
                detail = f"{len(t)} rows vs {len(times)}"
            else:
                i = int(np.flatnonzero(t != times)[0])
                detail = f"first difference at row {i}: {np.datetime64(int(t[i]), 'ns')} vs " + str(
                    np.datetime64(int(times[i]), "ns")
                )
            raise ValueError(f"frames are not aligned: {ticker} times differ from {tickers[0]} ({detail})")
        missing = [c for c in OHLCV if c not in df.columns]
        if missing:
            raise ValueError(f"{ticker}: missing column(s) {missing}; have {df.columns}")
        arrs = {c: df[c].cast(pl.Float64).to_numpy() for c in OHLCV}
        for c, a in arrs.items():
            if not np.all(np.isfinite(a)):
                raise ValueError(
                    f"{ticker}: column {c!r} has NaN/inf/null at row {int(np.argmin(np.isfinite(a)))}"
                )
        for c in ("open", "high", "low", "close"):
            if np.any(arrs[c] <= 0):
                raise ValueError(f"{ticker}: non-positive {c} at row {int(np.argmax(arrs[c] <= 0))}")
        if np.any(arrs["volume"] < 0):
            raise ValueError(f"{ticker}: negative volume at row {int(np.argmax(arrs['volume'] < 0))}")
        bars.append(BarArrays.from_arrays(*(arrs[c] for c in OHLCV)))
        if "source" in df.columns:
            s = _source(df, ticker)
            if source is None:
                source, source_from = s, ticker
            elif not np.array_equal(s, source):
                raise ValueError(f"frames disagree on 'source': {ticker} vs {source_from}")
    assert times is not None
    if len(times) == 0:
        raise ValueError("frames have no rows")
    if source is None:
        source = np.full(len(times), SOURCE_REAL, dtype=np.uint8)
    return AlignedFrames(tickers, times, source, bars)


def check_spacing(times: np.ndarray, timeframe: str) -> None:
    """ValueError if most steps between bars are not ``timeframe``: the data is another timeframe."""
    d = np.diff(times)
    d = d[d > 0]
    if d.size == 0:
        return
    step = timeframe_seconds(timeframe) * 1_000_000_000
    if np.count_nonzero(d == step) * 2 < d.size:
        vals, counts = np.unique(d, return_counts=True)
        seen = int(vals[np.argmax(counts)]) // 1_000_000_000
        raise ValueError(f"bars are mostly {seen} s apart, not {timeframe} ({step // 1_000_000_000} s)")


def blocks_of(times: np.ndarray, source: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs with one source and strictly increasing times: indicators restart at each."""
    cut = np.flatnonzero((np.diff(times) <= 0) | (source[1:] != source[:-1])) + 1
    edges = [0, *cut.tolist(), len(times)]
    return list(itertools.pairwise(edges))


def infer_timeframe(times: np.ndarray) -> str | None:
    """The most common spacing of the bars as a timeframe string (``"90s"`` if not whole minutes)."""
    d = np.diff(times)
    d = d[d > 0]
    if d.size == 0:
        return None
    vals, counts = np.unique(d, return_counts=True)
    seconds = int(vals[np.argmax(counts)]) // 1_000_000_000
    return normalise_timeframe(f"{seconds // 60}m") if seconds % 60 == 0 and seconds else f"{seconds}s"
