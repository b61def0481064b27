"""validate_bars: every problem type on hand-built frames, severities by policy, outputs, speed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.bars import BAR_SCHEMA
from cappuccino_core.data.validate import DataValidationError, Gap, validate_bars

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def bars(n: int = 24, step: timedelta = H, start: datetime = T0, price: float = 100.0) -> pl.DataFrame:
    """A clean canonical frame: gently rising prices, positive volume, no problems."""
    close = price + np.arange(n, dtype=float)
    return pl.DataFrame(
        {
            "time": [start + i * step for i in range(n)],
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 10.0),
        },
        schema=BAR_SCHEMA,
    )


def set_row(df: pl.DataFrame, i: int, **values: float) -> pl.DataFrame:
    idx = pl.int_range(pl.len()) == i
    return df.with_columns(
        [
            pl.when(idx).then(pl.lit(v, dtype=pl.Float64)).otherwise(pl.col(c)).alias(c)
            for c, v in values.items()
        ]
    )


def just_after(df: pl.DataFrame) -> datetime:
    return df["time"].max() + H  # type: ignore[operator]


def test_clean_frame_is_ok() -> None:
    df = bars()
    r = validate_bars(df, "BTC/USDT", "1h", now=just_after(df))
    assert r.ok and r.status == "OK" and r.problems() == []
    assert r.rows == 24 and r.first == T0 and r.last == T0 + 23 * H
    assert r.gaps == [] and r.missing_bars == 0 and r.largest_gap is None
    assert not r.stale


def test_gap_listed_with_start_end_and_count() -> None:
    df = bars().filter(~pl.int_range(pl.len()).is_between(5, 7))  # rows 5, 6, 7 absent
    r = validate_bars(df, "BTC/USDT", "1h", now=just_after(df))
    assert r.gaps == [Gap(start=T0 + 5 * H, end=T0 + 7 * H, missing=3)]
    assert r.missing_bars == 3 and r.largest_gap == r.gaps[0]
    # default policy: ffill up to 3 bars -> a warning (repair fills it)
    assert r.ok and [p.kind for p in r.problems()] == ["gaps_fillable"]


def test_gap_severity_follows_policy() -> None:
    df = bars().filter(~pl.int_range(pl.len()).is_between(5, 8))  # 4 missing
    now = just_after(df)
    assert not validate_bars(df, "X", "1h", now=now).ok  # 4 > max_ffill_bars=3
    seg = DataConfig(long_gap_policy="segment")
    r = validate_bars(df, "X", "1h", now=now, config=seg)
    assert r.ok and r.problems()[0].kind == "gaps" and r.problems()[0].severity == "warning"
    assert validate_bars(df, "X", "1h", now=now, config=DataConfig(max_ffill_bars=4)).ok
    strict = DataConfig(gap_policy="error", long_gap_policy="segment")
    assert not validate_bars(bars().filter(pl.int_range(pl.len()) != 3), "X", "1h", now=now, config=strict).ok


def test_several_gaps_and_largest() -> None:
    keep = [i for i in range(48) if i not in (3, 10, 11, 12, 13, 14, 30, 31)]
    df = bars(48).filter(pl.int_range(pl.len()).is_in(keep))
    r = validate_bars(df, "X", "1h", now=just_after(df))
    assert [(g.start, g.missing) for g in r.gaps] == [(T0 + 3 * H, 1), (T0 + 10 * H, 5), (T0 + 30 * H, 2)]
    assert r.largest_gap == Gap(T0 + 10 * H, T0 + 14 * H, 5)
    assert r.missing_bars == 8


def test_exact_duplicates_are_a_warning_conflicting_ones_an_error() -> None:
    df = bars()
    exact = pl.concat([df, df.slice(4, 1)])
    r = validate_bars(exact, "X", "1h", now=just_after(df))
    assert r.duplicates == [T0 + 4 * H] and r.conflicting_duplicates == []
    assert r.ok and any(p.kind == "duplicates" for p in r.warnings())
    conflicting = pl.concat([df, set_row(df.slice(4, 1), 0, close=999.0, high=1000.0)])
    r = validate_bars(conflicting, "X", "1h", now=just_after(df))
    assert r.conflicting_duplicates == [T0 + 4 * H]
    assert not r.ok and r.errors()[0].kind == "conflicting_duplicates"


@pytest.mark.parametrize("value", [float("nan"), None])
def test_nan_and_null_are_errors(value: float | None) -> None:
    df = bars()
    idx = pl.int_range(pl.len()) == 6
    df = df.with_columns(
        pl.when(idx).then(pl.lit(value, dtype=pl.Float64)).otherwise(pl.col("close")).alias("close")
    )
    r = validate_bars(df, "ETH/USDT", "1h", now=just_after(df))
    assert r.nan == [T0 + 6 * H]
    assert r.high_low == []  # a NaN row is reported once, as NaN
    assert not r.ok and r.errors()[0].kind == "nan"


@pytest.mark.parametrize(
    "values",
    [
        {"open": 0.0, "low": 0.0},
        {"low": -1.0},
        {"volume": -5.0},
        {"open": -1, "high": -1, "low": -1, "close": -1},
    ],
)
def test_non_positive_prices_and_negative_volume(values: dict[str, float]) -> None:
    df = set_row(bars(), 2, **values)
    r = validate_bars(df, "X", "1h", now=just_after(df))
    assert r.non_positive == [T0 + 2 * H] and not r.ok


@pytest.mark.parametrize(
    "values",
    [
        {"high": 100.2},  # high < close (close = 102 at row 2)
        {"low": 101.8},  # low > open (open = 101.5)
        {"high": 90.0, "low": 95.0},  # high < low (and below open/close)
    ],
)
def test_high_low_violations(values: dict[str, float]) -> None:
    df = set_row(bars(), 2, **values)
    r = validate_bars(df, "X", "1h", now=just_after(df))
    assert r.high_low == [T0 + 2 * H] and not r.ok


def test_out_of_order_rows_are_a_warning_and_no_false_gap() -> None:
    df = bars()
    shuffled = pl.concat([df.slice(0, 5), df.slice(6, 1), df.slice(5, 1), df.slice(7)])
    r = validate_bars(shuffled, "X", "1h", now=just_after(df))
    assert r.out_of_order == [T0 + 5 * H]
    assert r.gaps == [] and r.duplicates == []
    assert r.ok and r.warnings()[0].kind == "out_of_order"


def test_placeholders_detected_and_policy() -> None:
    df = set_row(bars(), 9, open=108.0, high=108.0, low=108.0, close=108.0, volume=0.0)
    # flat with volume: not a placeholder; zero volume but a range: not a placeholder
    df = set_row(df, 3, open=103.0, high=103.0, low=103.0, close=103.0)
    df = set_row(df, 4, volume=0.0)
    r = validate_bars(df, "X", "1h", now=just_after(df))
    assert r.placeholders == [T0 + 9 * H]
    assert r.ok and r.warnings()[0].kind == "placeholders"
    assert not validate_bars(
        df, "X", "1h", now=just_after(df), config=DataConfig(placeholder_policy="error")
    ).ok
    # a bar an earlier repair forward-filled is flat with zero volume by construction: not a placeholder
    flagged = df.with_columns((pl.int_range(pl.len()) == 9).alias("filled"))
    r = validate_bars(flagged, "X", "1h", now=just_after(df))
    assert r.placeholders == [] and r.filled == 1


def test_misaligned_times_are_errors() -> None:
    df = bars(4)
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.col("time") + timedelta(minutes=30))
        .otherwise(pl.col("time"))
    )
    r = validate_bars(df, "X", "1h", now=just_after(df))
    assert r.misaligned == [T0 + 2 * H + timedelta(minutes=30)] and not r.ok
    # weekly bars open on Monday: 2024-01-01 is a Monday
    weekly = bars(3, step=timedelta(weeks=1))
    assert validate_bars(weekly, "X", "1w", now=T0 + timedelta(weeks=3)).misaligned == []


def test_staleness_relative_to_now() -> None:
    df = bars()
    last = T0 + 23 * H
    assert not validate_bars(df, "X", "1h", now=last + 2 * H, stale_after_bars=2).stale
    r = validate_bars(df, "X", "1h", now=last + 2 * H + timedelta(minutes=1), stale_after_bars=2)
    assert r.stale and r.ok  # stale is a warning, not an error
    assert r.age_bars == pytest.approx(2 + 1 / 60)
    assert any(p.kind == "stale" for p in r.warnings())
    assert validate_bars(df, "X", "1h").stale  # default now: the current time, years later
    naive = datetime(2024, 1, 2, 0, 30)  # naive now means UTC
    assert validate_bars(df, "X", "1h", now=naive).age_bars == pytest.approx(1.5)


def test_empty_frame_is_an_error() -> None:
    r = validate_bars(pl.DataFrame(schema=BAR_SCHEMA), "X", "1h")
    assert r.rows == 0 and not r.ok and r.errors()[0].kind == "empty"


def test_outputs_frame_dict_summary() -> None:
    df = set_row(bars(48), 2, close=float("nan"))
    df = set_row(df, 20, open=130.0, high=130.0, low=130.0, close=130.0, volume=0.0)
    df = df.filter(~pl.int_range(pl.len()).is_between(10, 15))
    r = validate_bars(df, "SOL/USDT", "1h", now=T0 + 100 * H, source="BINANCE_SOLUSDT_1h.feather")
    frame = r.to_frame()
    assert frame.columns == ["kind", "severity", "time", "end", "bars", "detail"]
    assert set(frame["kind"]) == {"gaps", "nan", "placeholders", "stale"}
    gap_row = frame.filter(pl.col("kind") == "gaps").row(0, named=True)
    assert gap_row["time"] == T0 + 10 * H and gap_row["end"] == T0 + 15 * H and gap_row["bars"] == 6
    d = json.loads(json.dumps(r.to_dict()))
    assert d["status"] == "ERROR" and d["ok"] is False
    assert d["counts"]["gaps"] == 1 and d["counts"]["missing_bars"] == 6 and d["counts"]["nan"] == 1
    assert d["largest_gap"] == {
        "start": "2024-01-01T10:00:00+00:00",
        "end": "2024-01-01T15:00:00+00:00",
        "missing": 6,
    }
    assert d["placeholders"] == ["2024-01-01T20:00:00+00:00"]
    text = r.summary()
    assert "BINANCE_SOLUSDT_1h.feather" in text and "ERROR" in text and "2024-01-01 02:00" in text
    with pytest.raises(DataValidationError, match=r"BINANCE_SOLUSDT_1h\.feather.*2024-01-01 02:00"):
        r.raise_for_errors()


def test_empty_report_frame_has_schema() -> None:
    df = bars()
    out = validate_bars(df, "X", "1h", now=just_after(df)).to_frame()
    assert out.height == 0 and out.columns == ["kind", "severity", "time", "end", "bars", "detail"]


def test_fast_on_65k_rows() -> None:
    n = 65_590
    df = bars(n).filter(pl.int_range(pl.len()) % 5000 != 17)  # a few gaps
    validate_bars(df, "X", "1h")  # warm-up
    t = time.perf_counter()
    r = validate_bars(df, "X", "1h")
    elapsed = time.perf_counter() - t
    assert len(r.gaps) == 14
    assert elapsed < 0.5, f"validate_bars took {elapsed:.3f}s on {n} rows"


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=1, max_value=198), max_size=60))
def test_gaps_account_for_every_dropped_bar(dropped: set[int]) -> None:
    df = bars(200).filter(~pl.int_range(pl.len()).is_in(list(dropped)))
    r = validate_bars(df, "X", "1h", now=T0 + 200 * H)
    assert r.missing_bars == len(dropped)
    missing = {g.start + k * H for g in r.gaps for k in range(g.missing)}
    assert missing == {T0 + i * H for i in dropped}
    for g in r.gaps:
        assert g.end == g.start + (g.missing - 1) * H
