"""align_bars: common window, inner join with dropped rows reported, segments, order and flags kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.align import align_bars, contiguous_segments
from cappuccino_core.data.bars import BAR_SCHEMA
from cappuccino_core.data.validate import DataValidationError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
SEGMENT = DataConfig(long_gap_policy="segment")


def bars(n: int, start: datetime = T0, price: float = 100.0) -> pl.DataFrame:
    close = price + np.arange(n, dtype=float)
    return pl.DataFrame(
        {
            "time": [start + i * H for i in range(n)],
            "open": close,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 5.0),
        },
        schema=BAR_SCHEMA,
    )


def drop_rows(df: pl.DataFrame, rows: list[int]) -> pl.DataFrame:
    return df.filter(~pl.int_range(pl.len()).is_in(rows))


def assert_segments_contiguous(a) -> None:  # type: ignore[no-untyped-def]
    us = a.time.dt.epoch("us").to_numpy()
    covered = 0
    for s, e in a.segments:
        assert s == covered  # segments tile [0, T) in order
        covered = e
        assert np.all(np.diff(us[s:e]) == 3_600_000_000)
    assert covered == a.n_bars
    for (_, e), (s2, _) in zip(a.segments[:-1], a.segments[1:], strict=True):
        assert us[s2] - us[e - 1] != 3_600_000_000


def test_common_window_and_order_kept() -> None:
    frames = {
        "SOL/USDT": bars(30, start=T0 + 5 * H, price=20),  # listed last
        "BTC/USDT": bars(40, price=40000),
        "ADA/USDT": bars(32, price=5.0),  # ends first
    }
    a = align_bars(frames, "1h")
    assert a.tickers == ("SOL/USDT", "BTC/USDT", "ADA/USDT")
    assert list(a.frames) == ["SOL/USDT", "BTC/USDT", "ADA/USDT"]
    assert a.window == (T0 + 5 * H, T0 + 31 * H)
    assert a.n_bars == 27 and a.segments == [(0, 27)]
    assert a.trimmed == {"SOL/USDT": 3, "BTC/USDT": 13, "ADA/USDT": 5}
    assert a.dropped == {"SOL/USDT": 0, "BTC/USDT": 0, "ADA/USDT": 0}
    for t in a.tickers:
        assert a.frames[t]["time"].equals(a.time)
        assert a.frames[t].columns == [
            "time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "filled",
            "placeholder",
        ]
    closes = a.array("close")
    assert closes.shape == (27, 3)
    assert closes[0, 1] == 40005.0 and closes[0, 0] == 20.0
    wide = a.column("close")
    assert wide.columns == ["time", "SOL/USDT", "BTC/USDT", "ADA/USDT"]
    assert a.times_ns()[0] == int(T0.timestamp() + 5 * 3600) * 10**9


def test_short_gaps_filled_per_ticker_flags_kept() -> None:
    btc = drop_rows(bars(24), [5, 6])
    eth = bars(24, price=2000)
    eth = eth.with_columns(
        pl.when(pl.int_range(pl.len()) == 9).then(0.0).otherwise(pl.col("volume")).alias("volume"),
        *[
            pl.when(pl.int_range(pl.len()) == 9).then(2008.0).otherwise(pl.col(c)).alias(c)
            for c in ("open", "high", "low", "close")
        ],
    )
    a = align_bars({"BTC": btc, "ETH": eth}, "1h")
    assert a.n_bars == 24 and a.segments == [(0, 24)]
    assert a.frames["BTC"]["filled"].to_list()[4:8] == [False, True, True, False]
    assert a.frames["ETH"]["placeholder"].to_list()[9] is True
    assert a.array("filled").sum() == 2
    assert a.repairs["BTC"].filled_bars == 2


def test_timestamp_missing_for_one_ticker_dropped_for_all_and_segments_split() -> None:
    btc = bars(48)
    eth = drop_rows(bars(48, price=2000), list(range(20, 26)))  # 6-bar hole, kept under 'segment'
    a = align_bars({"BTC": btc, "ETH": eth}, "1h", SEGMENT)
    assert a.n_bars == 42
    assert a.dropped == {"BTC": 6, "ETH": 0}
    assert a.dropped_times["BTC"] == [T0 + i * H for i in range(20, 26)]
    assert a.segments == [(0, 20), (20, 42)]
    assert_segments_contiguous(a)
    assert "dropped 6 row(s) absent for another ticker" in a.summary()


def test_long_gap_is_an_error_by_default_naming_the_ticker() -> None:
    eth = drop_rows(bars(48, price=2000), list(range(20, 26)))
    with pytest.raises(DataValidationError, match=r"ETH/USDT 1h.*2024-01-01 20:00"):
        align_bars({"BTC/USDT": bars(48), "ETH/USDT": eth}, "1h")


def test_placeholder_drop_policy_splits_segments() -> None:
    btc = bars(24).with_columns(
        *[
            pl.when(pl.int_range(pl.len()) == 10).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
            for c, v in (("open", 110.0), ("high", 110.0), ("low", 110.0), ("close", 110.0), ("volume", 0.0))
        ]
    )
    a = align_bars({"BTC": btc, "ETH": bars(24)}, "1h", DataConfig(placeholder_policy="drop"))
    assert a.segments == [(0, 10), (10, 23)] and a.dropped == {"BTC": 0, "ETH": 1}


def test_no_common_window() -> None:
    with pytest.raises(DataValidationError, match="no common window"):
        align_bars({"A": bars(10), "B": bars(10, start=T0 + 20 * H)}, "1h")


def test_repair_false_requires_sorted_unique() -> None:
    df = bars(10)
    shuffled = pl.concat([df.slice(5), df.slice(0, 5)])
    with pytest.raises(DataValidationError, match="not sorted and unique"):
        align_bars({"A": shuffled, "B": df}, "1h", repair=False)
    a = align_bars({"A": df, "B": drop_rows(df, [4])}, "1h", repair=False)
    assert a.segments == [(0, 4), (4, 9)] and a.repairs == {}


def test_empty_input() -> None:
    with pytest.raises(ValueError, match="no frames"):
        align_bars({}, "1h")


def test_contiguous_segments_function() -> None:
    times = pl.Series(
        "time", [T0, T0 + H, T0 + 2 * H, T0 + 5 * H, T0 + 6 * H, T0 + 9 * H], dtype=pl.Datetime("us", "UTC")
    )
    assert contiguous_segments(times, "1h") == [(0, 3), (3, 5), (5, 6)]
    assert contiguous_segments(times.head(0), "1h") == []


@settings(max_examples=40, deadline=None)
@given(
    holes=st.lists(st.sets(st.integers(min_value=0, max_value=99), max_size=25), min_size=2, max_size=4),
    starts=st.lists(st.integers(min_value=0, max_value=10), min_size=4, max_size=4),
)
def test_alignment_properties(holes: list[set[int]], starts: list[int]) -> None:
    frames = {}
    for k, h in enumerate(holes):
        df = drop_rows(bars(100, start=T0 + starts[k] * H, price=10.0 * (k + 1)), sorted(h))
        if df.height:
            frames[f"T{k}"] = df
    if len(frames) < 2:
        return
    cfg = DataConfig(max_ffill_bars=2, long_gap_policy="segment")
    try:
        a = align_bars(frames, "1h", cfg)
    except DataValidationError as exc:
        assert "no common window" in str(exc)
        return
    assert a.tickers == tuple(frames)
    assert a.time.is_sorted() and a.time.n_unique() == a.n_bars
    for t in a.tickers:
        assert a.frames[t]["time"].equals(a.time)
        repaired = a.repairs[t].frame
        in_window = repaired.filter(pl.col("time").is_between(*a.window))  # type: ignore[misc]
        assert in_window.height == a.n_bars + a.dropped[t]
    assert_segments_contiguous(a)


def test_bundled_sample_aligns_without_repairs(sample_dir: Path) -> None:
    coins = ["BTC", "ETH", "SOL", "LINK", "LTC", "ADA"]
    frames = {f"{c}/USDT": pl.read_parquet(sample_dir / f"BINANCE_{c}USDT_1h.parquet") for c in coins}
    for df in frames.values():
        assert df.schema == pl.Schema(BAR_SCHEMA)
    a = align_bars(frames, "1h")
    assert a.n_bars == 17544 and a.segments == [(0, 17544)]
    assert a.window == (datetime(2023, 7, 1, tzinfo=UTC), datetime(2025, 6, 30, 23, tzinfo=UTC))
    assert not any(r.changed for r in a.repairs.values())
    assert not a.array("filled").any() and not a.array("placeholder").any()


def test_outage_outside_the_common_window_is_trimmed_not_refused() -> None:
    """A 10-bar outage of BTC before SOL lists is cut away with the rows around it, before repair: the
    default policy (long gaps are an error) accepts it. The same outage inside the window is refused."""
    btc = drop_rows(bars(60, price=40000), list(range(5, 15)))  # 10 missing bars, rows 5..14
    sol = bars(30, start=T0 + 30 * H, price=20)  # lists at bar 30
    a = align_bars({"BTC/USDT": btc, "SOL/USDT": sol}, "1h")  # DataConfig(): long_gap_policy="error"
    assert a.n_bars == 30 and a.segments == [(0, 30)]
    assert a.window == (T0 + 30 * H, T0 + 59 * H)
    assert a.trimmed == {"BTC/USDT": 20, "SOL/USDT": 0}  # 50 BTC rows, 30 kept: trimmed as given
    assert a.repairs["BTC/USDT"].filled_bars == 0

    early_sol = bars(60, price=20)
    with pytest.raises(DataValidationError, match=r"BTC/USDT 1h: gaps.*2024-01-01 05:00"):
        align_bars({"BTC/USDT": btc, "SOL/USDT": early_sol}, "1h")


def test_short_gap_at_the_window_start_is_filled_inside_it() -> None:
    """A 2-bar gap just after the window opens is forward-filled (and flagged) inside the window."""
    btc = drop_rows(bars(40, price=40000), [11, 12])
    sol = bars(30, start=T0 + 10 * H, price=20)
    a = align_bars({"BTC/USDT": btc, "SOL/USDT": sol}, "1h")
    assert a.n_bars == 30 and a.segments == [(0, 30)]
    assert a.frames["BTC/USDT"]["filled"].to_list()[:4] == [False, True, True, False]
    assert a.frames["BTC/USDT"]["close"].to_list()[:4] == [40010.0, 40010.0, 40010.0, 40013.0]
