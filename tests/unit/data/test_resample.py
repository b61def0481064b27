"""resample_bars: OHLCV aggregation, the UTC grid, incomplete buckets, flags; hypothesis properties."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cappuccino_core.data.bars import BAR_SCHEMA
from cappuccino_core.data.resample import bucket_start, resample_bars, resample_ratio, whole_buckets
from cappuccino_core.data.validate import DataValidationError, validate_bars

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
M5 = timedelta(minutes=5)
H = timedelta(hours=1)


def random_bars(n: int, step: timedelta, start: datetime = T0, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return pl.DataFrame(
        {
            "time": [start + i * step for i in range(n)],
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.uniform(0, 50, n),
        },
        schema=BAR_SCHEMA,
    )


def test_ratio() -> None:
    assert resample_ratio("5m", "1h") == 12
    assert resample_ratio("1h", "4h") == 4
    assert resample_ratio("1h", "1d") == 24
    assert resample_ratio("1h", "60m") == 1
    for src, tgt in (("1h", "5m"), ("5m", "7m"), ("1h", "90m")):
        with pytest.raises(ValueError, match="whole multiple"):
            resample_ratio(src, tgt)


def test_five_minutes_to_one_hour_by_hand() -> None:
    fine = random_bars(24, M5)
    out = resample_bars(fine, "5m", "1h")
    assert out.columns == ["time", "open", "high", "low", "close", "volume"]
    assert out["time"].to_list() == [T0, T0 + H]
    for k, chunk in enumerate((fine.slice(0, 12), fine.slice(12, 12))):
        row = out.row(k, named=True)
        assert row["open"] == chunk["open"][0]
        assert row["high"] == chunk["high"].max()
        assert row["low"] == chunk["low"].min()
        assert row["close"] == chunk["close"][-1]
        assert row["volume"] == pytest.approx(chunk["volume"].sum(), rel=1e-12)


def test_grid_alignment_utc() -> None:
    # 4h buckets open at 00/04/08 UTC; the first (02:00, 03:00 only) and the last (3 bars) are incomplete
    fine = random_bars(29, H, start=T0 + 2 * H)  # 02:00 .. 06:00 next day
    out = resample_bars(fine, "1h", "4h", incomplete="flag")
    assert out["time"].to_list()[:3] == [T0, T0 + 4 * H, T0 + 8 * H]
    assert out["incomplete"].to_list() == [True, False, False, False, False, False, False, True]
    assert [t.hour % 4 for t in out["time"].to_list()] == [0] * out.height
    daily = resample_bars(random_bars(72, H, start=T0 + 5 * H), "1h", "1d", incomplete="flag")
    assert [t.hour for t in daily["time"].to_list()] == [0, 0, 0, 0]
    assert daily["incomplete"].to_list() == [True, False, False, True]
    weekly = resample_bars(
        random_bars(24 * 10, H, start=T0 + timedelta(days=3)), "1h", "1w", incomplete="flag"
    )
    assert [t.weekday() for t in weekly["time"].to_list()] == [0, 0]  # Monday
    assert weekly["time"][0] == T0
    # the resampled bars sit on the grid validate_bars checks
    assert validate_bars(out, "X", "4h").misaligned == []


def test_incomplete_bucket_dropped_by_default(caplog: pytest.LogCaptureFixture) -> None:
    fine = random_bars(36, M5).filter(pl.int_range(pl.len()) != 15)  # 01:15 missing: 2nd hour incomplete
    with caplog.at_level(logging.WARNING):
        out = resample_bars(fine, "5m", "1h", symbol="BTC/USDT")
    assert out["time"].to_list() == [T0, T0 + 2 * H]
    assert "dropped 1 incomplete bar(s)" in caplog.text and "BTC/USDT" in caplog.text
    flagged = resample_bars(fine, "5m", "1h", incomplete="flag")
    assert flagged["incomplete"].to_list() == [False, True, False]
    assert flagged.row(1, named=True)["volume"] == pytest.approx(fine.slice(12, 11)["volume"].sum())


def test_trailing_partial_bucket_dropped() -> None:
    out = resample_bars(random_bars(12 * 3 + 5, M5), "5m", "1h")  # the 4th hour is still forming
    assert out.height == 3


def test_flags_filled_any_placeholder_all() -> None:
    fine = random_bars(48, M5).with_columns(
        (pl.int_range(pl.len()) == 3).alias("filled"),  # 1st hour: one filled bar
        (pl.int_range(pl.len()) >= 12).alias("placeholder"),  # 2nd..4th hour: every bar a placeholder
    )
    fine = fine.with_columns(
        pl.when(pl.int_range(pl.len()) == 20)
        .then(False)
        .otherwise(pl.col("placeholder"))
        .alias("placeholder")
    )
    out = resample_bars(fine, "5m", "1h")
    assert out["filled"].to_list() == [True, False, False, False]
    assert out["placeholder"].to_list() == [False, False, True, True]


def test_duplicates_raise_and_unsorted_is_sorted() -> None:
    fine = random_bars(24, M5)
    with pytest.raises(DataValidationError, match=r"duplicate.*2024-01-01 00:10"):
        resample_bars(pl.concat([fine, fine.slice(2, 1)]), "5m", "1h")
    shuffled = fine.sample(fraction=1.0, shuffle=True, seed=1)
    assert resample_bars(shuffled, "5m", "1h").equals(resample_bars(fine, "5m", "1h"))


def test_same_timeframe_is_identity() -> None:
    fine = random_bars(10, H)
    assert resample_bars(fine, "1h", "60m").equals(fine)


def test_bucket_start_expression() -> None:
    df = pl.DataFrame(
        {"time": [T0 + timedelta(hours=5, minutes=55)]}, schema={"time": pl.Datetime("us", "UTC")}
    )
    assert df.select(bucket_start("time", "4h"))["time"][0] == T0 + 4 * H
    assert df.select(bucket_start("time", "15m"))["time"][0] == T0 + timedelta(hours=5, minutes=45)


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=400),
    offset=st.integers(min_value=0, max_value=47),
    dropped=st.sets(st.integers(min_value=0, max_value=399), max_size=40),
    target=st.sampled_from(["15m", "1h", "4h"]),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_resample_properties(n: int, offset: int, dropped: set[int], target: str, seed: int) -> None:
    fine = random_bars(n, M5, start=T0 + offset * M5, seed=seed)
    fine = fine.filter(~pl.int_range(pl.len()).is_in(sorted(dropped)))
    if fine.height == 0:
        return
    out = resample_bars(fine, "5m", target, incomplete="flag")
    # total volume preserved (nothing dropped in flag mode)
    assert out["volume"].sum() == pytest.approx(fine["volume"].sum(), rel=1e-9)
    joined = fine.with_columns(
        pl.col("time").alias("fine_time"), bucket_start("time", target).alias("time")
    ).join(out, on="time", suffix="_c")
    assert joined.height == fine.height  # every fine bar lands in exactly one coarse bar
    assert (joined["high_c"] >= joined["high"]).all() and (joined["low_c"] <= joined["low"]).all()
    firsts = joined.group_by("time").agg(
        pl.col("open").sort_by("fine_time").first(), pl.col("open_c").first()
    )
    assert (firsts["open"] == firsts["open_c"]).all()
    # complete buckets hold exactly ratio bars; dropping keeps only those
    ratio = resample_ratio("5m", target)
    counts = joined.group_by("time").agg(pl.len().alias("n"))
    check = out.join(counts, on="time")
    assert ((check["n"] == ratio) == ~check["incomplete"]).all()
    assert resample_bars(fine, "5m", target).height == int((~out["incomplete"]).sum())


def test_whole_buckets_trims_a_window_to_complete_coarse_bars(caplog: pytest.LogCaptureFixture) -> None:
    # A scenario window of 1h bars from 02:00 to 13:00 (12 bars): 4h bars at 00:00 (02:00, 03:00 only)
    # and 12:00 (12:00, 13:00 only) are partial; 04:00 and 08:00 are whole.
    window = random_bars(12, H, start=T0 + 2 * H)
    trimmed = whole_buckets(window, "1h", "4h")
    assert trimmed["time"].to_list() == [T0 + k * H for k in range(4, 12)]
    with caplog.at_level(logging.WARNING):
        out = resample_bars(trimmed, "1h", "4h", symbol="BTC/USD")
    assert out["time"].to_list() == [T0 + 4 * H, T0 + 8 * H] and caplog.text == ""
    assert out["open"][0] == window["open"][2] and out["close"][1] == window["close"][9]
