"""Real Binance 1h bars: placeholder bars and genuine extreme moves give finite features, prices untouched."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.features.builder import build_dataset

pytestmark = pytest.mark.realdata

PLACEHOLDERS = [datetime(2021, 2, 11, 3, tzinfo=UTC), datetime(2023, 3, 24, 12, tzinfo=UTC)]
DOGE_JUMP = datetime(2021, 1, 29, 3, tzinfo=UTC)  # close / previous close = 1.70


def _aligned(root: Path, coins: tuple[str, ...], start: datetime, end: datetime) -> dict[str, pl.DataFrame]:
    """Inner join on time over a window (what align_bars does, without repairs: the quirks stay in)."""
    frames = {
        c: pl.read_ipc(root / f"BINANCE_{c}USDT_1h.feather")
        .rename({"date": "time"})
        .filter(pl.col("time").is_between(start, end))
        for c in coins
    }
    common = frames[coins[0]].select("time")
    for c in coins[1:]:
        common = common.join(frames[c].select("time"), on="time")
    return {c: common.join(df, on="time", how="left").sort("time") for c, df in frames.items()}


def _row(ds, when: datetime) -> int:
    i = int(np.searchsorted(ds.times, int(when.timestamp()) * 1_000_000_000))
    assert ds.times[i] == int(when.timestamp()) * 1_000_000_000
    return i


def test_placeholders_and_doge_jump_give_finite_features(real_data_dir: Path) -> None:
    frames = _aligned(
        real_data_dir,
        ("BTC", "ETH", "DOGE"),
        datetime(2020, 6, 1, tzinfo=UTC),
        datetime(2023, 6, 30, tzinfo=UTC),
    )
    for when in PLACEHOLDERS:  # the quirks are really in the input
        bar = frames["BTC"].filter(pl.col("time") == when)
        assert bar["volume"][0] == 0 and bar["high"][0] == bar["low"][0]
    ds = build_dataset(frames, FeaturesConfig(), "1h", fit_end=15_000)
    raw = build_dataset(frames, FeaturesConfig(normalisation="none"), "1h")
    for d in (ds, raw):
        assert np.isfinite(d.features).all() and np.isfinite(d.volatility).all()
    assert ds.spec.extra["nonfinite_replaced"] == {}  # TA-Lib itself stayed finite; nothing was patched
    names = ds.spec.feature_names
    for when in PLACEHOLDERS:
        x = dict(zip(names, raw.features[_row(raw, when), 0], strict=True))
        assert x["volume_log1p"] == 0.0 and x["close_logret"] == pytest.approx(0.0, abs=1e-6)
        assert 0 <= x["rsi"] <= 100 and -100 <= x["willr"] <= 0 and 0 <= x["ultosc"] <= 100
    # the DOGE move is kept as it happened: price unclipped, raw log return exact
    i = _row(raw, DOGE_JUMP)
    doge = frames["DOGE"]["close"].to_numpy()
    j = int(np.flatnonzero(frames["DOGE"]["time"] == DOGE_JUMP)[0])
    assert raw.prices[i, 2] == doge[j]
    assert raw.features[i, 2, names.index("close_logret")] == pytest.approx(
        np.log(doge[j] / doge[j - 1]), rel=1e-6
    )
    assert np.log(doge[j] / doge[j - 1]) > np.log(1.5)


def test_2019_placeholder(real_data_dir: Path) -> None:
    frames = _aligned(
        real_data_dir,
        ("BTC", "ETH", "LTC"),
        datetime(2019, 5, 1, tzinfo=UTC),
        datetime(2019, 8, 1, tzinfo=UTC),
    )
    ds = build_dataset(frames, FeaturesConfig(), "1h")
    assert np.isfinite(ds.features).all()
    _row(ds, datetime(2019, 6, 7, 21, tzinfo=UTC))
