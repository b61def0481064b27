"""Multi-asset alignment: one common ``time`` column for every ticker, and contiguous segments.

Rule of :func:`align_bars`:

1. Common window: from the latest first bar to the earliest last bar over all tickers (coins list on
   different dates), read from the frames as given. Rows outside it are trimmed (counted in ``trimmed``)
   BEFORE anything is repaired, so a quirk outside the window (BTC's 2018 outages when the window starts
   in 2020 with SOL's listing) never stops the run. No common window is an error.
2. Each ticker's rows in the window are repaired by the policy
   (:func:`~cappuccino_core.data.repair.repair_bars` with the given
   :class:`~cappuccino_core.config.data.DataConfig`): short gaps forward-filled and flagged ``filled``,
   placeholders flagged/dropped, and anything the policy refuses raises
   :class:`~cappuccino_core.data.validate.DataValidationError` naming the ticker and timestamps.
   (``repair=False`` skips this for frames that are already repaired; they must then be sorted and
   unique.)
3. Inside the window, a timestamp present for some tickers but not others is dropped for all of them
   (inner join on ``time``): nothing is invented at alignment time. The rows each ticker lost are counted
   in ``dropped`` (with their timestamps in ``dropped_times``) and logged.
4. ``segments``: index ranges ``[start, end)`` of the common time column in which consecutive times are
   exactly one interval apart; a gap kept by the policy (``long_gap_policy='segment'``), a dropped
   placeholder or a timestamp dropped by the join starts a new segment, so episodes never jump a gap.

The dict order of ``frames`` is the ticker order everywhere (never sorted). Flag columns ``filled`` and
``placeholder`` are kept per ticker.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.bars import OHLCV, TIME, to_bar_frame
from cappuccino_core.data.repair import FLAGS, RepairResult, repair_bars
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.data.validate import DataValidationError, fmt_time

log = logging.getLogger(__name__)


@dataclass
class AlignedBars:
    """Bars of several tickers on one common time column, with contiguous segments."""

    tickers: tuple[str, ...]
    timeframe: str
    time: pl.Series  # Datetime[us, UTC], strictly increasing, common to every frame
    frames: dict[str, pl.DataFrame]  # ticker -> time + OHLCV + filled + placeholder, rows == len(time)
    segments: list[tuple[int, int]]
    window: tuple[datetime, datetime] | None
    trimmed: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    dropped_times: dict[str, list[datetime]] = field(default_factory=dict)
    repairs: dict[str, RepairResult] = field(default_factory=dict)

    @property
    def n_bars(self) -> int:
        """Number of common bars."""
        return self.time.len()

    @property
    def n_assets(self) -> int:
        """Number of tickers."""
        return len(self.tickers)

    def times_ns(self) -> np.ndarray:
        """(T,) int64 nanoseconds since the epoch (UTC bar open times), as MarketDataset wants."""
        return self.time.dt.epoch("ns").to_numpy().astype(np.int64)

    def array(self, column: str = "close") -> np.ndarray:
        """(T, N) array of one column (``close``, ``volume``, ``filled``...) in ticker order."""
        return np.column_stack([self.frames[t][column].to_numpy() for t in self.tickers])

    def column(self, column: str = "close") -> pl.DataFrame:
        """Wide frame: ``time`` plus one column per ticker (named by the ticker) holding ``column``."""
        return pl.DataFrame([self.time, *[self.frames[t][column].alias(t) for t in self.tickers]])

    def summary(self) -> str:
        """A few lines: the common window and segments, and per ticker what was trimmed, repaired, dropped."""
        win = f"{fmt_time(self.window[0])} .. {fmt_time(self.window[1])}" if self.window else "-"
        seg = max((e - s for s, e in self.segments), default=0)
        lines = [
            f"{self.n_assets} ticker(s) {', '.join(self.tickers)} {self.timeframe}: {self.n_bars} common "
            f"bars in {win}, {len(self.segments)} contiguous segment(s) (longest {seg} bars)"
        ]
        for t in self.tickers:
            lines.append(
                f"  {t}: trimmed {self.trimmed.get(t, 0)} row(s) outside the window, dropped "
                f"{self.dropped.get(t, 0)} row(s) absent for another ticker"
            )
        return "\n".join(lines)


def contiguous_segments(times: pl.Series, timeframe: str) -> list[tuple[int, int]]:
    """Index ranges [start, end) in which consecutive ``times`` are exactly one ``timeframe`` apart."""
    n = times.len()
    if n == 0:
        return []
    step = timeframe_seconds(timeframe) * 1_000_000
    us = times.dt.epoch("us").to_numpy()
    breaks = (np.flatnonzero(np.diff(us) != step) + 1).tolist()
    bounds = [0, *breaks, n]
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _as_time(x: object) -> datetime | None:
    return x if isinstance(x, datetime) else None


def align_bars(
    frames: dict[str, pl.DataFrame],
    timeframe: str,
    config: DataConfig | None = None,
    *,
    repair: bool = True,
) -> AlignedBars:
    """Align several tickers' bars on one common time column (rule: see the module docstring)."""
    if not frames:
        raise ValueError("align_bars: no frames given")
    policy = config if config is not None else DataConfig.model_validate({})
    tickers = tuple(frames)
    raw = {t: to_bar_frame(frames[t], name=t) for t in tickers}
    start, end = _common_window(raw)  # 1. the common window, from the frames as given
    trimmed: dict[str, int] = {}
    for t in tickers:
        n0 = raw[t].height
        raw[t] = raw[t].filter(pl.col(TIME).is_between(start, end) | pl.col(TIME).is_null())
        trimmed[t] = n0 - raw[t].height
    repaired, repairs = _repair_all(raw, timeframe, policy, repair)  # 2. repair what is inside it
    common = repaired[tickers[0]].select(TIME)  # 3. the times every ticker has
    for t in tickers[1:]:
        common = common.join(repaired[t].select(TIME), on=TIME, how="inner")
    common = common.sort(TIME)
    dropped: dict[str, int] = {}
    dropped_times: dict[str, list[datetime]] = {}
    out: dict[str, pl.DataFrame] = {}
    for t in tickers:
        lost = repaired[t].join(common, on=TIME, how="anti")
        dropped[t] = lost.height
        dropped_times[t] = lost[TIME].to_list()
        out[t] = repaired[t].join(common, on=TIME, how="semi")
        if lost.height:
            log.warning(
                "align %s: dropped %d row(s) of %s absent for another ticker, first at %s",
                timeframe,
                lost.height,
                t,
                fmt_time(dropped_times[t][0]),
            )
    aligned = AlignedBars(
        tickers=tickers,
        timeframe=timeframe,
        time=common[TIME],
        frames=out,
        segments=contiguous_segments(common[TIME], timeframe),
        window=(start, end),
        trimmed=trimmed,
        dropped=dropped,
        dropped_times=dropped_times,
        repairs=repairs,
    )
    log.info("%s", aligned.summary())
    return aligned


def _common_window(raw: dict[str, pl.DataFrame]) -> tuple[datetime, datetime]:
    """Latest first bar .. earliest last bar over the tickers (null times are repair's to report, inside
    it); DataValidationError when a ticker has no bars or the spans do not overlap."""
    spans: dict[str, tuple[datetime | None, datetime | None]] = {
        t: (_as_time(df[TIME].min()), _as_time(df[TIME].max())) for t, df in raw.items()
    }
    empty = [t for t, (first, _) in spans.items() if first is None]
    if empty:
        raise DataValidationError(f"align_bars: no bars for {empty}", where=", ".join(empty))
    firsts = [s for s, _ in spans.values() if s is not None]
    lasts = [e for _, e in spans.values() if e is not None]
    start, end = max(firsts), min(lasts)
    if start > end:
        text = "; ".join(f"{t} {fmt_time(s)}..{fmt_time(e)}" for t, (s, e) in spans.items())
        raise DataValidationError(f"align_bars: no common window ({text})", where=", ".join(raw))
    return start, end


def _repair_all(
    raw: dict[str, pl.DataFrame], timeframe: str, policy: DataConfig, repair: bool
) -> tuple[dict[str, pl.DataFrame], dict[str, RepairResult]]:
    """Each ticker repaired by the policy (or, without ``repair``, checked sorted and unique), with the
    flag columns; DataValidationError when a ticker is left with no bars."""
    repaired: dict[str, pl.DataFrame] = {}
    repairs: dict[str, RepairResult] = {}
    for t, df in raw.items():
        if repair:
            res = repair_bars(df, t, timeframe, policy)
            repairs[t] = res
            df = res.frame
        else:
            if df[TIME].null_count() or df[TIME].n_unique() < df.height or not df[TIME].is_sorted():
                raise DataValidationError(
                    f"{t} {timeframe}: times are not sorted and unique; align with repair=True",
                    where=f"{t} {timeframe}",
                )
            df = df.with_columns(
                (pl.col(f).fill_null(False) if f in df.columns else pl.lit(False)).alias(f) for f in FLAGS
            )
        repaired[t] = df.select(TIME, *OHLCV, *FLAGS)
    empty = [t for t, df in repaired.items() if df.height == 0]
    if empty:
        raise DataValidationError(
            f"align_bars: no bars for {empty} in the common window", where=", ".join(empty)
        )
    return repaired, repairs
