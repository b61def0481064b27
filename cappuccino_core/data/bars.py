"""The canonical bar frame: one polars schema for every source, store and consumer.

Columns: ``time`` (Datetime[us, UTC], bar OPEN time, never replaced), ``open``, ``high``, ``low``,
``close``, ``volume`` (Float64, volume in base units). Optional flag columns added by repairs:
``filled`` (bool, forward-filled gap bar) and ``placeholder`` (bool, zero-volume flat bar).
"""

from __future__ import annotations

import polars as pl

TIME = "time"
OHLCV = ("open", "high", "low", "close", "volume")
BAR_SCHEMA: dict[str, pl.DataType] = {
    TIME: pl.Datetime("us", "UTC"),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
}


def empty_bars() -> pl.DataFrame:
    """A canonical bar frame with no rows."""
    return pl.DataFrame(schema=BAR_SCHEMA)


def to_bar_frame(df: pl.DataFrame, *, time_col: str = TIME, name: str = "<bars>") -> pl.DataFrame:
    """Cast a frame with time + OHLCV columns to the canonical schema (UTC, float64), keeping flags.

    Raises ValueError naming ``name`` and the missing column(s). Does not sort or deduplicate: that is
    validation's job, and it must see the problems to report them.
    """
    if time_col != TIME and time_col in df.columns:
        df = df.rename({time_col: TIME})
    missing = [c for c in (TIME, *OHLCV) if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; have {df.columns}")
    t = df[TIME]
    if isinstance(t.dtype, pl.Datetime) and t.dtype.time_zone is None:
        time_expr = pl.col(TIME).dt.replace_time_zone("UTC").dt.cast_time_unit("us")
    elif t.dtype == pl.Datetime:
        time_expr = pl.col(TIME).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    elif t.dtype.is_integer():
        raise ValueError(f"{name}: integer time column; convert epoch units explicitly before import")
    else:
        time_expr = pl.col(TIME).str.to_datetime(time_zone="UTC").dt.cast_time_unit("us")
    extra = [c for c in ("filled", "placeholder") if c in df.columns]
    for c in OHLCV:
        _check_numeric(df[c], name)
    try:
        return df.select(time_expr.alias(TIME), *[pl.col(c).cast(pl.Float64) for c in OHLCV], *extra)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{name}: column {TIME!r} cannot be read as UTC times ({first})") from None


def _check_numeric(col: pl.Series, name: str) -> None:
    """ValueError naming the file, column, dtype and first bad value when ``col`` is not a number column."""
    dtype = col.dtype
    if dtype.is_numeric():
        return
    if dtype == pl.String:
        parsed = col.cast(pl.Float64, strict=False)
        bad = col.filter(parsed.is_null() & col.is_not_null())
        if bad.is_empty():
            return
        raise ValueError(
            f"{name}: column {col.name!r} holds text, not numbers ({bad.len()} value(s) such as "
            f"{bad[0]!r} cannot be read as a number)"
        )
    raise ValueError(f"{name}: column {col.name!r} has type {dtype}, expected a number column")
