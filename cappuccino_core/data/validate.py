"""Validate canonical bar frames: find every problem, change nothing.

:func:`validate_bars` inspects one canonical bar frame (:mod:`cappuccino_core.data.bars`) and returns a
:class:`ValidationReport` listing, with timestamps:

- ``gaps``: absent bars on the timeframe grid (each gap's first and last missing open time and count);
- ``duplicates``: timestamps that occur more than once; ``conflicting_duplicates``: those whose rows
  differ (exact copies are harmless and repair drops them);
- ``nan``: rows with NaN/null in any of open/high/low/close/volume;
- ``inf``: rows with +/-inf in any of open/high/low/close/volume (never a valid price or volume);
- ``non_positive``: rows with a price <= 0 or a negative volume;
- ``high_low``: rows with high < max(open, close), low > min(open, close) or high < low;
- ``out_of_order``: rows whose time is earlier than the previous row's;
- ``misaligned``: times off the timeframe grid (UTC epoch grid; weeks start on Monday);
- ``placeholders``: zero-volume flat bars (open = high = low = close and volume == 0), except rows an
  earlier repair flagged ``filled`` (a forward-filled bar is flat with zero volume by construction);
- staleness: the last bar is older than ``stale_after_bars`` intervals relative to ``now``.

Severity follows the repair policy (:class:`~cappuccino_core.config.data.DataConfig`), so that the report
says exactly what :func:`cappuccino_core.data.repair.repair_bars` would refuse:

- always errors: NaN, inf, non-positive prices/negative volume, high/low violations, conflicting duplicates,
  misaligned times, an empty frame;
- gaps: errors under ``gap_policy='error'``; under ``'ffill'`` gaps of at most ``max_ffill_bars`` bars are
  warnings (repair fills them), longer ones are errors unless ``long_gap_policy='segment'``;
- placeholders: errors under ``placeholder_policy='error'``, warnings otherwise (flagged or dropped);
- warnings: exact duplicates (dropped), out-of-order rows (sorted), stale data (expected for history).

Everything is vectorised polars; 65k rows validate in a few milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.bars import OHLCV, TIME
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.data.validation_report import (
    _MONDAY_OFFSET_US,
    DataValidationError,
    Gap,
    Problem,
    Severity,
    ValidationReport,
    fmt_time,
)

__all__ = [
    "DataValidationError",
    "Gap",
    "Problem",
    "Severity",
    "ValidationReport",
    "fmt_time",
    "validate_bars",
]
_PRICES = ("open", "high", "low", "close")


def _times(df: pl.DataFrame, mask: pl.Expr) -> list[datetime]:
    return df.filter(mask)[TIME].to_list()


def _grid_offset_us(step_us: int) -> int:
    return _MONDAY_OFFSET_US if step_us % (7 * 86400 * 1_000_000) == 0 else 0


def validate_bars(
    frame: pl.DataFrame,
    symbol: str,
    timeframe: str,
    now: datetime | None = None,
    stale_after_bars: int = 2,
    *,
    config: DataConfig | None = None,
    source: str | None = None,
) -> ValidationReport:
    """Inspect a canonical bar frame (``time`` + OHLCV, see :mod:`~cappuccino_core.data.bars`).

    ``now`` (default: the current UTC time; naive means UTC) is the reference for staleness: the data is
    stale when ``now - last bar open time > stale_after_bars * interval``. ``config`` supplies the repair
    policy that decides severities (default: ``DataConfig()``); ``source`` (a file name) is quoted in
    messages. Nothing is modified; rows may be in any order.
    """
    policy = config if config is not None else DataConfig.model_validate({})
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    step_us = timeframe_seconds(timeframe) * 1_000_000
    missing_cols = [c for c in (TIME, *OHLCV) if c not in frame.columns]
    if missing_cols:
        raise ValueError(f"{source or symbol}: missing column(s) {missing_cols}; have {frame.columns}")
    if frame.schema[TIME] != pl.Datetime("us", "UTC"):
        frame = frame.with_columns(pl.col(TIME).dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    has_filled = "filled" in frame.columns
    filled = pl.col("filled").cast(pl.Boolean).fill_null(False) if has_filled else pl.lit(False)
    df = frame.select(TIME, *OHLCV, filled.alias("filled"))
    report = ValidationReport(
        symbol=symbol,
        timeframe=timeframe,
        rows=df.height,
        first=None,
        last=None,
        now=now,
        stale_after_bars=stale_after_bars,
        policy=policy,
        source=source,
    )
    if df.height == 0:
        return report

    _row_checks(df, step_us, report)
    times = df[TIME]
    report.first, report.last = times.min(), times.max()  # type: ignore[assignment]
    if times.n_unique() < df.height:
        dup = (
            df.group_by(TIME)
            .agg(pl.len().alias("n"), pl.struct(*OHLCV).n_unique().alias("distinct"))
            .filter(pl.col("n") > 1)
            .sort(TIME)
        )
        report.duplicates = dup[TIME].to_list()
        report.conflicting_duplicates = dup.filter(pl.col("distinct") > 1)[TIME].to_list()
    report.gaps = _gaps(times, step_us)
    return report


def _row_checks(df: pl.DataFrame, step_us: int, report: ValidationReport) -> None:
    """The per-row findings (bad values, order, grid, placeholders) into ``report``."""
    ti = pl.col(TIME).dt.epoch("us")
    o, h, lo, c, v = (pl.col(x) for x in OHLCV)
    nan_row = pl.any_horizontal(*[pl.col(x).is_null() | pl.col(x).is_nan() for x in OHLCV])
    inf_row = pl.any_horizontal(*[pl.col(x).is_infinite().fill_null(False) for x in OHLCV])
    bad_row = nan_row | inf_row
    flags = df.select(
        nan_row.alias("nan"),
        inf_row.alias("inf"),
        (~bad_row & (pl.any_horizontal(*[pl.col(x) <= 0 for x in _PRICES]) | (v < 0))).alias("nonpos"),
        (~bad_row & ((h < pl.max_horizontal(o, c)) | (lo > pl.min_horizontal(o, c)) | (h < lo))).alias("hl"),
        (ti.diff() < 0).fill_null(False).alias("ooo"),
        (((ti - _grid_offset_us(step_us)) % step_us) != 0).alias("mis"),
        ((o == h) & (h == lo) & (lo == c) & (v == 0) & ~pl.col("filled")).alias("ph"),
    )
    df = pl.concat([df, flags], how="horizontal")
    report.nan = _times(df, pl.col("nan"))
    report.inf = _times(df, pl.col("inf"))
    report.non_positive = _times(df, pl.col("nonpos"))
    report.high_low = _times(df, pl.col("hl"))
    report.out_of_order = _times(df, pl.col("ooo"))
    report.misaligned = _times(df, pl.col("mis"))
    report.placeholders = sorted(_times(df, pl.col("ph")))
    report.filled = int(df["filled"].sum())


def _gaps(times: pl.Series, step_us: int) -> list[Gap]:
    """Runs of missing bars between the distinct times (in time order)."""
    ti = pl.col(TIME).dt.epoch("us")
    step = timedelta(microseconds=step_us)
    g = (
        times.unique()
        .sort()
        .to_frame()
        .with_columns(pl.col(TIME).shift(1).alias("_prev"), ti.diff().alias("_d"))
        .filter(pl.col("_d") >= 2 * step_us)
        .select("_prev", (pl.col("_d") // step_us - 1).alias("_missing"))
    )
    return [
        Gap(start=p + step, end=p + step * int(m), missing=int(m))
        for p, m in zip(g["_prev"].to_list(), g["_missing"].to_list(), strict=True)
    ]
