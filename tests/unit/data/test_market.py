"""One loader for the configured tickers' bars: store before sample, resampling, clear missing-bar errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from cappuccino_core.config import load_settings
from cappuccino_core.data.market import (
    MissingBars,
    available_timeframes,
    load_aligned,
    read_bars,
    sample_path,
    source_timeframe,
)
from cappuccino_core.data.store import BarStore, MissingDataset

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _bars(n: int, base: float, step: timedelta = timedelta(hours=1)) -> pl.DataFrame:
    """``n`` bars from T0: open = base + i, high = open + 2, low = open - 1, close = open + 1,
    volume = i + 1."""
    o = base + np.arange(n, dtype=np.float64)
    return pl.DataFrame(
        {
            "time": [T0 + i * step for i in range(n)],
            "open": o,
            "high": o + 2,
            "low": o - 1,
            "close": o + 1,
            "volume": np.arange(1, n + 1, dtype=np.float64),
        }
    ).with_columns(pl.col("time").dt.cast_time_unit("us"))


def _settings(tmp_path: Path, tickers: list[str]) -> Any:
    (tmp_path / "sample").mkdir(exist_ok=True)
    return load_settings(
        paths={"data_root": tmp_path / "data", "sample_dir": tmp_path / "sample"},
        data={"tickers": tickers, "venue": "binance", "timeframe": "1h"},
    )


def _store(s: Any) -> BarStore:
    return BarStore(s.paths.data_root)


def test_sample_path_names_venue_pair_and_timeframe(tmp_path: Path) -> None:
    s = _settings(tmp_path, ["BTC/USDT"])
    assert sample_path(s, "BTC/USDT", "1h") == tmp_path / "sample" / "BINANCE_BTCUSDT_1h.parquet"
    assert sample_path(s, "eth-usdt", "60m").name == "BINANCE_ETHUSDT_1h.parquet"


def test_store_wins_over_sample(tmp_path: Path) -> None:
    s = _settings(tmp_path, ["BTC/USDT", "ETH/USDT"])
    _store(s).write("binance", "BTC/USDT", "1h", _bars(6, 100.0))
    _bars(6, 200.0).write_parquet(sample_path(s, "BTC/USDT", "1h"))
    _bars(6, 300.0).write_parquet(sample_path(s, "ETH/USDT", "1h"))  # ETH: only in the sample

    assert read_bars(s, "BTC/USDT", "1h")["open"].to_list() == [100, 101, 102, 103, 104, 105]
    assert read_bars(s, "BTC/USDT", "1h", source="sample")["open"][0] == 200.0
    aligned = load_aligned(s)  # auto: the store for BTC, the sample for ETH (the store lacks it)
    assert aligned.tickers == ("BTC/USDT", "ETH/USDT") and aligned.n_bars == 6
    assert aligned.array("close")[0].tolist() == [101.0, 301.0]
    with pytest.raises(MissingBars, match="ETH/USDT"):
        load_aligned(s, source="store")


def test_resample_1h_to_4h_when_only_1h_is_stored(tmp_path: Path) -> None:
    s = _settings(tmp_path, ["BTC/USDT"])
    _store(s).write("binance", "BTC/USDT", "1h", _bars(8, 100.0))
    assert source_timeframe(s, "BTC/USDT", "4h") == "1h"
    assert source_timeframe(s, "BTC/USDT", "30m") is None  # nothing finer than 1h is stored
    assert available_timeframes(s, ["30m", "1h", "4h", "1d"]) == ["1h", "4h", "1d"]
    aligned = load_aligned(s, "4h")
    f = aligned.frames["BTC/USDT"]
    assert f["time"].to_list() == [T0, T0 + timedelta(hours=4)]
    # bars 0-3 and 4-7: open first, high max, low min, close last, volume sum
    assert f["open"].to_list() == [100.0, 104.0]
    assert f["high"].to_list() == [105.0, 109.0]
    assert f["low"].to_list() == [99.0, 103.0]
    assert f["close"].to_list() == [104.0, 108.0]
    assert f["volume"].to_list() == [1 + 2 + 3 + 4, 5 + 6 + 7 + 8]
    assert aligned.segments == [(0, 2)]


def test_a_coarser_stored_timeframe_is_read_directly(tmp_path: Path) -> None:
    s = _settings(tmp_path, ["BTC/USDT"])
    _store(s).write("binance", "BTC/USDT", "1h", _bars(8, 100.0))
    _store(s).write("binance", "BTC/USDT", "4h", _bars(2, 500.0, timedelta(hours=4)))
    assert source_timeframe(s, "BTC/USDT", "4h") == "4h"
    assert load_aligned(s, "4h").array("open")[:, 0].tolist() == [500.0, 501.0]


def test_missing_ticker_names_it_and_both_places(tmp_path: Path) -> None:
    s = _settings(tmp_path, ["BTC/USDT", "SOL/USDT"])
    _store(s).write("binance", "BTC/USDT", "1h", _bars(4, 100.0))
    store_p = _store(s).path("binance", "SOL/USDT", "1h")
    sample_p = sample_path(s, "SOL/USDT", "1h")
    with pytest.raises(MissingBars) as exc:
        load_aligned(s)
    msg = str(exc.value)
    assert "SOL/USDT" in msg and "1h" in msg and str(store_p) in msg and str(sample_p) in msg
    assert "BTC/USDT" not in msg
    # callers catching the store's or the file system's error still catch it
    assert isinstance(exc.value, MissingDataset) and isinstance(exc.value, FileNotFoundError)
    with pytest.raises(MissingBars) as only_sample:
        read_bars(s, "SOL/USDT", "1h", source="sample")
    assert str(sample_p) in str(only_sample.value) and str(store_p) not in str(only_sample.value)
    with pytest.raises(ValueError, match="source 'cloud'"):
        read_bars(s, "BTC/USDT", "1h", source="cloud")  # type: ignore[arg-type]
