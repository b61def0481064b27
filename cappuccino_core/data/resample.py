"""Resample canonical bars from a finer to a coarser timeframe (5m -> 15m/1h/4h/1d, 1h -> 4h/1d, ...).

Rule:

- The coarse timeframe must be a whole multiple of the fine one (``ratio = coarse / fine``).
- Coarse bar open times lie on the UTC grid of the coarse timeframe: multiples of its length since the
  Unix epoch (00:00, 04:00, 08:00 ... for 4h; midnight UTC for 1d), except weeks, which open on Monday
  00:00 UTC (the exchanges' convention). This is the grid :func:`~cappuccino_core.data.validate.validate_bars`
  checks. A fine bar belongs to the coarse bar whose interval contains its open time.
- open = first fine open, high = max, low = min, close = last fine close, volume = sum.
- A coarse bucket is complete when it holds exactly ``ratio`` fine bars (rows present in the input,
  forward-filled ``filled`` rows included). Incomplete buckets (a gap inside them, or the data starting
  or ending mid-bucket, e.g. the still-forming current bar) are **dropped** by default
  (``incomplete='drop'``), or kept with ``incomplete=True`` (``incomplete='flag'``); either way the count
  is logged. ``DataConfig.resample_incomplete`` holds the configured choice.
- Flags: a coarse bar is ``filled`` when any of its fine bars was ``filled`` (part of it is synthetic) and
  ``placeholder`` only when all of its fine bars were placeholders (it is then flat with zero volume).
- Duplicate fine timestamps raise :class:`~cappuccino_core.data.validate.DataValidationError` (they would
  be counted twice): repair first. Unsorted input is sorted.
"""

from __future__ import annotations

import logging
from typing import Literal

import polars as pl

from cappuccino_core.data.bars import OHLCV, TIME
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.data.validate import DataValidationError, fmt_time

log = logging.getLogger(__name__)
_WEEK_US = 7 * 86400 * 1_000_000
_MONDAY_OFFSET_US = 4 * 86400 * 1_000_000


def resample_ratio(source_tf: str, target_tf: str) -> int:
    """How many ``source_tf`` bars make one ``target_tf`` bar; ValueError when not a whole multiple."""
    src, tgt = timeframe_seconds(source_tf), timeframe_seconds(target_tf)
    if tgt < src or tgt % src:
        raise ValueError(
            f"cannot resample {source_tf} to {target_tf}: the target must be a whole multiple of the source"
        )
    return tgt // src


def bucket_start(time_col: str, target_tf: str) -> pl.Expr:
    """Expression: open time of the coarse bar (on the UTC ``target_tf`` grid) containing each time."""
    step = timeframe_seconds(target_tf) * 1_000_000
    off = _MONDAY_OFFSET_US if step % _WEEK_US == 0 else 0
    us = pl.col(time_col).dt.epoch("us")
    return ((us - off) // step * step + off).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def whole_buckets(frame: pl.DataFrame, source_tf: str, target_tf: str) -> pl.DataFrame:
    """The rows of ``frame`` that fall in complete ``target_tf`` bars: a window that starts or ends inside
    a coarse bar (a synthetic scenario window, say) loses those edge rows instead of yielding partial bars.
    """
    ratio = resample_ratio(source_tf, target_tf)
    return frame.filter(pl.len().over(bucket_start(TIME, target_tf)) == ratio)


def resample_bars(
    frame: pl.DataFrame,
    source_tf: str,
    target_tf: str,
    *,
    incomplete: Literal["drop", "flag"] = "drop",
    symbol: str = "<bars>",
) -> pl.DataFrame:
    """Resample a canonical bar frame from ``source_tf`` to ``target_tf`` (see the module docstring).

    Returns a canonical frame (``time`` + OHLCV) with the flag columns the input had, plus ``incomplete``
    when ``incomplete='flag'``.
    """
    if incomplete not in ("drop", "flag"):
        raise ValueError(f"incomplete must be 'drop' or 'flag', got {incomplete!r}")
    ratio = resample_ratio(source_tf, target_tf)
    flags = [f for f in ("filled", "placeholder") if f in frame.columns]
    df = frame.select(TIME, *OHLCV, *flags)
    if df.schema[TIME] != pl.Datetime("us", "UTC"):
        df = df.with_columns(pl.col(TIME).dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    if df[TIME].n_unique() < df.height:
        dups = df.filter(pl.col(TIME).is_duplicated())[TIME].unique().sort().to_list()
        raise DataValidationError(
            f"{symbol} {source_tf}: {len(dups)} duplicate timestamp(s) at "
            f"{', '.join(fmt_time(t) for t in dups[:5])}; repair before resampling",
            where=f"{symbol} {source_tf}",
        )
    if not df[TIME].is_sorted():
        df = df.sort(TIME)
    if ratio == 1:
        return df.with_columns(pl.lit(False).alias("incomplete")) if incomplete == "flag" else df

    out = (
        df.group_by(bucket_start(TIME, target_tf).alias("_bucket"), maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
            *([pl.col("filled").any()] if "filled" in flags else []),
            *([pl.col("placeholder").all()] if "placeholder" in flags else []),
            pl.len().alias("_n"),
        )
        .rename({"_bucket": TIME})
    )
    n_incomplete = int((out["_n"] != ratio).sum())
    if n_incomplete:
        action = "dropped" if incomplete == "drop" else "flagged `incomplete`"
        log.warning(
            "%s %s -> %s: %s %d incomplete bar(s) of %d (fewer than %d %s bars), first at %s",
            symbol,
            source_tf,
            normalise_timeframe(target_tf),
            action,
            n_incomplete,
            out.height,
            ratio,
            source_tf,
            fmt_time(out.filter(pl.col("_n") != ratio)[TIME][0]),
        )
    if incomplete == "drop":
        out = out.filter(pl.col("_n") == ratio)
    else:
        out = out.with_columns((pl.col("_n") != ratio).alias("incomplete"))
    return out.drop("_n")
