"""Apply the repair policy of :class:`~cappuccino_core.config.data.DataConfig` to one canonical bar frame.

The policy, in order (every repair is logged with counts; nothing is silent):

1. :func:`~cappuccino_core.data.validate.validate_bars` runs first; every error-level problem under the
   policy raises :class:`~cappuccino_core.data.validate.DataValidationError` naming the file/symbol and
   the offending timestamps: NaN/null values, prices <= 0 or negative volume, high/low violations,
   duplicate timestamps with different values, times off the timeframe grid, any gap under
   ``gap_policy='error'``, gaps longer than ``max_ffill_bars`` under ``long_gap_policy='error'``, and
   placeholder bars under ``placeholder_policy='error'``.
2. Rows are sorted by time (if out of order) and exact duplicate rows are dropped (one kept).
3. ``gap_policy='ffill'``: each gap of at most ``max_ffill_bars`` missing bars is filled with bars whose
   open = high = low = close = the previous bar's close and volume = 0, flagged ``filled=True``. Longer
   gaps (allowed by ``long_gap_policy='segment'``) stay absent: alignment splits segments there.
4. Zero-volume flat placeholder bars: ``'flag'`` keeps them with ``placeholder=True``; ``'drop'`` removes
   them after gap filling, so each leaves an absent bar (a segment break downstream, never re-filled).

The result always carries both bool flag columns ``filled`` and ``placeholder`` (flags already present
in the input are kept), is sorted, unique and on the grid. Repairing a repaired frame changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.bars import OHLCV, TIME
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.data.validate import DataValidationError, Gap, ValidationReport, validate_bars

__all__ = ["DataValidationError", "RepairResult", "repair_bars"]

log = logging.getLogger(__name__)
FLAGS = ("filled", "placeholder")


@dataclass
class RepairResult:
    """The repaired frame and what was done to it (counts; the pre-repair report for the details)."""

    frame: pl.DataFrame
    symbol: str
    timeframe: str
    report: ValidationReport
    sorted_rows: int = 0
    dropped_duplicates: int = 0
    filled_bars: int = 0
    filled_gaps: int = 0
    flagged_placeholders: int = 0
    dropped_placeholders: int = 0
    kept_gaps: list[Gap] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the repair changed the bars (sorted, deduplicated, filled or dropped any)."""
        return bool(
            self.sorted_rows or self.dropped_duplicates or self.filled_bars or self.dropped_placeholders
        )

    def summary(self) -> str:
        """One line naming every repair and its count."""
        parts = []
        if self.sorted_rows:
            parts.append(f"sorted {self.sorted_rows} out-of-order row(s)")
        if self.dropped_duplicates:
            parts.append(f"dropped {self.dropped_duplicates} exact duplicate row(s)")
        if self.filled_bars:
            parts.append(f"forward-filled {self.filled_bars} bar(s) in {self.filled_gaps} gap(s)")
        if self.flagged_placeholders:
            parts.append(f"flagged {self.flagged_placeholders} placeholder bar(s)")
        if self.dropped_placeholders:
            parts.append(f"dropped {self.dropped_placeholders} placeholder bar(s)")
        if self.kept_gaps:
            parts.append(
                f"kept {len(self.kept_gaps)} long gap(s) ({sum(g.missing for g in self.kept_gaps)} bars) "
                "as segment breaks"
            )
        return f"{self.report.where}: " + ("; ".join(parts) if parts else "no repair needed")


def _ensure_flags(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        (pl.col(f).cast(pl.Boolean).fill_null(False) if f in df.columns else pl.lit(False)).alias(f)
        for f in FLAGS
    )


_PLACEHOLDER = (
    (pl.col("open") == pl.col("high"))
    & (pl.col("high") == pl.col("low"))
    & (pl.col("low") == pl.col("close"))
    & (pl.col("volume") == 0)
    & ~pl.col("filled")
)


def repair_bars(
    frame: pl.DataFrame,
    symbol: str,
    timeframe: str,
    config: DataConfig | None = None,
    *,
    source: str | None = None,
) -> RepairResult:
    """Validate, then repair ``frame`` by the policy in ``config`` (default ``DataConfig()``).

    Raises :class:`DataValidationError` for anything that is an error under the policy (see the module
    docstring). Returns a :class:`RepairResult`; ``result.frame`` is the repaired canonical frame with
    the ``filled`` and ``placeholder`` flag columns.
    """
    policy = config if config is not None else DataConfig.model_validate({})
    report = validate_bars(frame, symbol, timeframe, config=policy, source=source)
    report.raise_for_errors()
    df = _canonical(frame, report.where)
    result = RepairResult(frame=df, symbol=symbol, timeframe=timeframe, report=report)
    df = _sort_and_dedupe(df, result)
    if policy.placeholder_policy == "flag":
        df = _flag_placeholders(df, result)
    df = _fill_short_gaps(df, policy, result)
    if policy.placeholder_policy == "drop":
        df = _drop_placeholders(df, result)
    result.frame = df.select(TIME, *OHLCV, *FLAGS)
    log.debug("%s", result.summary())
    return result


def _canonical(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """The bar columns and both flag columns, time in UTC microseconds; other columns dropped (logged)."""
    extra = [c for c in frame.columns if c not in (TIME, *OHLCV, *FLAGS)]
    if extra:
        log.info("%s: dropping non-canonical column(s) %s", where, extra)
    df = _ensure_flags(frame.select(TIME, *OHLCV, *[f for f in FLAGS if f in frame.columns]))
    if df.schema[TIME] != pl.Datetime("us", "UTC"):
        df = df.with_columns(pl.col(TIME).dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    return df


def _sort_and_dedupe(df: pl.DataFrame, result: RepairResult) -> pl.DataFrame:
    """Sort out-of-order rows and drop exact duplicates (conflicting ones were refused by validation)."""
    report, where = result.report, result.report.where
    if report.out_of_order:
        df = df.sort(TIME, maintain_order=True)
        result.sorted_rows = len(report.out_of_order)
        log.warning(
            "%s: sorted %d out-of-order row(s), first at %s",
            where,
            result.sorted_rows,
            report.out_of_order[0],
        )
    if report.duplicates:
        n0 = df.height
        # exact copies only (conflicting ones raised above); keep the flag of any copy
        df = df.group_by(TIME, maintain_order=True).agg(
            *[pl.col(c).first() for c in OHLCV], *[pl.col(f).any() for f in FLAGS]
        )
        result.dropped_duplicates = n0 - df.height
        log.warning(
            "%s: dropped %d exact duplicate row(s) at %d timestamp(s)",
            where,
            result.dropped_duplicates,
            len(report.duplicates),
        )
    return df


def _flag_placeholders(df: pl.DataFrame, result: RepairResult) -> pl.DataFrame:
    """``placeholder_policy='flag'``: mark zero-volume flat bars ``placeholder=True``."""
    before = int(df["placeholder"].sum())
    df = df.with_columns((pl.col("placeholder") | _PLACEHOLDER).alias("placeholder"))
    result.flagged_placeholders = int(df["placeholder"].sum()) - before
    if result.flagged_placeholders:
        log.info(
            "%s: flagged %d zero-volume flat placeholder bar(s) (placeholder=True)",
            result.report.where,
            result.flagged_placeholders,
        )
    return df


def _fill_short_gaps(df: pl.DataFrame, policy: DataConfig, result: RepairResult) -> pl.DataFrame:
    """``gap_policy='ffill'``: fill each gap of at most ``max_ffill_bars`` with flat, zero-volume bars
    (``filled=True``); longer gaps are kept as segment breaks (``result.kept_gaps``)."""
    gaps, where = result.report.gaps, result.report.where
    fill_gaps = [g for g in gaps if policy.gap_policy == "ffill" and g.missing <= policy.max_ffill_bars]
    result.kept_gaps = [g for g in gaps if g not in set(fill_gaps)]
    if fill_gaps:
        fills = _fill_rows(fill_gaps, result.timeframe)
        df = (
            pl.concat([df, fills])
            .sort(TIME)
            .with_columns(pl.col("close").forward_fill())
            .with_columns(*[pl.col(c).fill_null(pl.col("close")) for c in ("open", "high", "low")])
        )
        result.filled_bars = fills.height
        result.filled_gaps = len(fill_gaps)
        log.warning(
            "%s: forward-filled %d missing bar(s) in %d gap(s) of <= %d bar(s) (filled=True)",
            where,
            result.filled_bars,
            result.filled_gaps,
            policy.max_ffill_bars,
        )
    if result.kept_gaps:
        log.warning(
            "%s: kept %d gap(s) longer than %d bar(s) (%d missing bars) as segment breaks; largest "
            "%d bar(s) from %s",
            where,
            len(result.kept_gaps),
            policy.max_ffill_bars,
            sum(g.missing for g in result.kept_gaps),
            max(g.missing for g in result.kept_gaps),
            max(result.kept_gaps, key=lambda g: g.missing).start,
        )
    return df


def _fill_rows(gaps: list[Gap], timeframe: str) -> pl.DataFrame:
    """One row per missing bar of ``gaps``: prices null (forward-filled by the caller), volume 0, filled."""
    step = timedelta(seconds=timeframe_seconds(timeframe))
    ranges = pl.DataFrame(
        {"s": [g.start for g in gaps], "e": [g.end for g in gaps]},
        schema={"s": pl.Datetime("us", "UTC"), "e": pl.Datetime("us", "UTC")},
    )
    new_times = ranges.select(
        pl.datetime_ranges("s", "e", interval=step, closed="both").explode().alias(TIME)
    )
    return new_times.with_columns(
        *[pl.lit(None, dtype=pl.Float64).alias(c) for c in OHLCV[:4]],
        pl.lit(0.0).alias("volume"),
        pl.lit(True).alias("filled"),
        pl.lit(False).alias("placeholder"),
    )


def _drop_placeholders(df: pl.DataFrame, result: RepairResult) -> pl.DataFrame:
    """``placeholder_policy='drop'``: remove placeholder bars after filling (each leaves an absent bar)."""
    n0 = df.height
    df = df.filter(~(_PLACEHOLDER | pl.col("placeholder")))
    result.dropped_placeholders = n0 - df.height
    if result.dropped_placeholders:
        log.warning(
            "%s: dropped %d placeholder bar(s); each leaves an absent bar (segment break)",
            result.report.where,
            result.dropped_placeholders,
        )
    return df
