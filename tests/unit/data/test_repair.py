"""repair_bars: the DataConfig policy on hand-built frames; errors name the dataset and timestamps."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.bars import BAR_SCHEMA
from cappuccino_core.data.repair import DataValidationError, repair_bars
from cappuccino_core.data.validate import validate_bars

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
SEGMENT = DataConfig(long_gap_policy="segment")


def bars(n: int = 24) -> pl.DataFrame:
    close = 100.0 + np.arange(n, dtype=float)
    return pl.DataFrame(
        {
            "time": [T0 + i * H for i in range(n)],
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 10.0),
        },
        schema=BAR_SCHEMA,
    )


def drop_rows(df: pl.DataFrame, rows: list[int]) -> pl.DataFrame:
    return df.filter(~pl.int_range(pl.len()).is_in(rows))


def set_row(df: pl.DataFrame, i: int, **values: float) -> pl.DataFrame:
    idx = pl.int_range(pl.len()) == i
    return df.with_columns(
        [
            pl.when(idx).then(pl.lit(v, dtype=pl.Float64)).otherwise(pl.col(c)).alias(c)
            for c, v in values.items()
        ]
    )


def flat(df: pl.DataFrame, i: int, price: float) -> pl.DataFrame:
    return set_row(df, i, open=price, high=price, low=price, close=price, volume=0.0)


def test_clean_frame_unchanged_with_flag_columns() -> None:
    df = bars()
    res = repair_bars(df, "BTC/USDT", "1h")
    assert not res.changed
    assert res.frame.columns == ["time", "open", "high", "low", "close", "volume", "filled", "placeholder"]
    assert res.frame.schema["filled"] == pl.Boolean and res.frame.schema["placeholder"] == pl.Boolean
    assert res.frame.drop("filled", "placeholder").equals(df)
    assert not res.frame["filled"].any() and not res.frame["placeholder"].any()


def test_short_gap_forward_filled_and_flagged(caplog: pytest.LogCaptureFixture) -> None:
    df = drop_rows(bars(), [5, 6, 7])
    with caplog.at_level(logging.INFO, logger="cappuccino_core.data.repair"):
        res = repair_bars(df, "BTC/USDT", "1h")
    out = res.frame
    assert out.height == 24 and out["time"].to_list() == [T0 + i * H for i in range(24)]
    fills = out.filter(pl.col("filled"))
    assert fills["time"].to_list() == [T0 + 5 * H, T0 + 6 * H, T0 + 7 * H]
    prev_close = 104.0  # close of the bar at 04:00
    for c in ("open", "high", "low", "close"):
        assert (fills[c] == prev_close).all()
    assert (fills["volume"] == 0).all() and not fills["placeholder"].any()
    assert res.filled_bars == 3 and res.filled_gaps == 1
    assert "forward-filled 3 missing bar(s) in 1 gap(s)" in caplog.text
    assert "BTC/USDT" in caplog.text
    # real rows untouched
    assert out.filter(~pl.col("filled")).drop("filled", "placeholder").equals(df)


def test_gap_longer_than_k_raises_naming_file_and_time() -> None:
    df = drop_rows(bars(), [5, 6, 7, 8])
    with pytest.raises(DataValidationError, match=r"BINANCE_BTCUSDT_1h\.feather.*2024-01-01 05:00") as ei:
        repair_bars(df, "BTC/USDT", "1h", source="BINANCE_BTCUSDT_1h.feather")
    assert ei.value.problems[0].kind == "gaps"
    assert "BTC/USDT" in str(ei.value)


def test_long_gap_kept_under_segment_policy(caplog: pytest.LogCaptureFixture) -> None:
    df = drop_rows(bars(), [2, 10, 11, 12, 13])
    with caplog.at_level(logging.WARNING):
        res = repair_bars(df, "X", "1h", SEGMENT)
    assert res.filled_bars == 1 and [g.start for g in res.kept_gaps] == [T0 + 10 * H]
    assert res.frame.height == 20
    assert [g.missing for g in validate_bars(res.frame, "X", "1h").gaps] == [4]
    assert "kept 1 gap(s) longer than 3 bar(s)" in caplog.text


def test_gap_policy_error_refuses_any_gap() -> None:
    with pytest.raises(DataValidationError, match="gap_policy='error'"):
        repair_bars(drop_rows(bars(), [3]), "X", "1h", DataConfig(gap_policy="error"))


def test_max_ffill_zero_with_segment_never_fills() -> None:
    res = repair_bars(
        drop_rows(bars(), [3]), "X", "1h", DataConfig(max_ffill_bars=0, long_gap_policy="segment")
    )
    assert res.filled_bars == 0 and res.frame.height == 23 and len(res.kept_gaps) == 1


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({"close": float("nan")}, "nan"),
        ({"low": -1.0}, "non_positive"),
        ({"open": 0.0, "low": 0.0}, "non_positive"),
        ({"high": 95.0}, "high_low"),
    ],
)
def test_bad_values_raise(values: dict[str, float], kind: str) -> None:
    df = set_row(bars(), 7, **values)
    with pytest.raises(DataValidationError, match=r"ETH/USDT 1h.*2024-01-01 07:00") as ei:
        repair_bars(df, "ETH/USDT", "1h")
    assert ei.value.problems[0].kind == kind


def test_conflicting_duplicates_raise_exact_ones_dropped(caplog: pytest.LogCaptureFixture) -> None:
    df = bars()
    with pytest.raises(DataValidationError, match=r"conflicting_duplicates.*2024-01-01 04:00"):
        repair_bars(pl.concat([df, set_row(df.slice(4, 1), 0, close=100.5)]), "X", "1h")
    with caplog.at_level(logging.WARNING):
        res = repair_bars(pl.concat([df, df.slice(4, 2)]), "X", "1h")
    assert res.dropped_duplicates == 2 and res.frame.drop("filled", "placeholder").equals(df)
    assert "dropped 2 exact duplicate row(s)" in caplog.text


def test_out_of_order_sorted(caplog: pytest.LogCaptureFixture) -> None:
    df = bars()
    shuffled = pl.concat([df.slice(10), df.slice(0, 10)])
    with caplog.at_level(logging.WARNING):
        res = repair_bars(shuffled, "X", "1h")
    assert res.sorted_rows == 1 and res.frame.drop("filled", "placeholder").equals(df)
    assert "sorted 1 out-of-order row(s)" in caplog.text


def test_misaligned_raises() -> None:
    df = bars(3).with_columns(pl.col("time") + timedelta(minutes=1))
    with pytest.raises(DataValidationError, match="misaligned"):
        repair_bars(df, "X", "1h")


def test_placeholder_flag() -> None:
    df = flat(bars(), 9, 108.0)
    res = repair_bars(df, "X", "1h", DataConfig(placeholder_policy="flag"))
    assert res.frame.filter(pl.col("placeholder"))["time"].to_list() == [T0 + 9 * H]
    assert res.frame.height == 24 and res.flagged_placeholders == 1


def test_placeholder_drop_leaves_absent_bar() -> None:
    df = flat(bars(), 9, 108.0)
    res = repair_bars(df, "X", "1h", DataConfig(placeholder_policy="drop"))
    assert res.dropped_placeholders == 1 and res.frame.height == 23
    assert T0 + 9 * H not in res.frame["time"].to_list()
    assert not res.frame["placeholder"].any()


def test_placeholder_error() -> None:
    with pytest.raises(DataValidationError, match=r"placeholders.*2024-01-01 09:00"):
        repair_bars(flat(bars(), 9, 108.0), "X", "1h", DataConfig(placeholder_policy="error"))


def test_placeholder_next_to_gap_like_binance_2023_03_24() -> None:
    # Binance 1h 2023-03-24: placeholder at 12:00, the 13:00 bar absent
    df = drop_rows(flat(bars(), 12, 111.0), [13])
    res = repair_bars(df, "X", "1h")
    row12, row13 = res.frame.row(12, named=True), res.frame.row(13, named=True)
    assert row12["placeholder"] and not row12["filled"]
    assert row13["filled"] and not row13["placeholder"] and row13["close"] == 111.0


def test_existing_flags_kept_and_repair_is_idempotent() -> None:
    df = drop_rows(flat(bars(48), 20, 119.0), [3, 4, 30, 31, 32, 33, 34])
    once = repair_bars(df, "X", "1h", SEGMENT)
    twice = repair_bars(once.frame, "X", "1h", SEGMENT)
    assert twice.frame.equals(once.frame)
    assert not twice.changed and twice.filled_bars == 0 and twice.flagged_placeholders == 0
    assert int(twice.frame["filled"].sum()) == 2 and int(twice.frame["placeholder"].sum()) == 1


def test_summary_names_dataset() -> None:
    res = repair_bars(drop_rows(bars(), [5]), "LTC/USDT", "1h", source="f.parquet")
    assert res.summary().startswith("f.parquet (LTC/USDT 1h): forward-filled 1 bar(s) in 1 gap(s)")


@settings(max_examples=60, deadline=None)
@given(
    dropped=st.sets(st.integers(min_value=1, max_value=118), max_size=40),
    k=st.integers(min_value=0, max_value=4),
)
def test_repair_properties(dropped: set[int], k: int) -> None:
    df = drop_rows(bars(120), sorted(dropped))
    cfg = DataConfig(max_ffill_bars=k, long_gap_policy="segment")
    res = repair_bars(df, "X", "1h", cfg)
    out = res.frame
    # every original row survives unchanged; every added row is flagged and copies the previous close
    assert out.filter(~pl.col("filled")).drop("filled", "placeholder").equals(df)
    assert res.filled_bars == int(out["filled"].sum())
    prev_close = out["close"].shift(1)
    fills = out.with_columns(prev_close.alias("prev")).filter(pl.col("filled"))
    assert (fills["close"] == fills["prev"]).all() and (fills["volume"] == 0).all()
    # after repair no gap of <= k bars remains, and the result is sorted and unique
    rep = validate_bars(out, "X", "1h", config=cfg)
    assert all(g.missing > k for g in rep.gaps)
    assert out["time"].is_sorted() and out["time"].n_unique() == out.height
    assert repair_bars(out, "X", "1h", cfg).frame.equals(out)
