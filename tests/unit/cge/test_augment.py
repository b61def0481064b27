"""Augmentation: whole windows, 70/30, tagged, real timestamps and newest data kept, full synthetic OHLCV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from cappuccino_core.cge.augment import (
    assert_real_only,
    augment,
    concat_windows,
    mix_plan,
    real_windows,
    synthetic_windows,
)
from cappuccino_core.data.bars import BAR_SCHEMA
from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC

TICKERS = ["BTC/USDT", "ETH/USDT"]


def test_mix_plan_adds_whole_synthetic_windows() -> None:
    plan = mix_plan(70)
    assert (plan.n_real, plan.n_synthetic) == (70, 30) and plan.ratio == pytest.approx(0.3)
    assert mix_plan(7, 0.3).n_synthetic == 3 and mix_plan(10, 0.0).n_synthetic == 0
    assert mix_plan(0).n_synthetic == 0
    with pytest.raises(ValueError):
        mix_plan(10, 1.0)


def test_real_windows_keep_every_row_timestamps_and_the_newest_bar(sample_frames) -> None:
    frames = {t: df.tail(1000) for t, df in sample_frames.items()}
    wins = real_windows(frames, 300)
    assert [w["BTC/USDT"].height for w in wins] == [100, 300, 300, 300]  # remainder at the OLD end
    for t in TICKERS:
        joined = pl.concat([w[t] for w in wins])
        assert joined["time"].equals(frames[t]["time"])  # nothing dropped, nothing retimed
        assert (joined["source"] == SOURCE_REAL).all() and joined["source"].dtype == pl.UInt8
    assert wins[-1]["BTC/USDT"]["time"][-1] == frames["BTC/USDT"]["time"][-1]
    cut = frames["BTC/USDT"]["time"][700]
    train = real_windows(frames, 300, train_end=cut)  # validation/test rows stay out
    assert sum(w["BTC/USDT"].height for w in train) == 700 and train[-1]["BTC/USDT"]["time"][-1] < cut


def test_synthetic_windows_have_a_full_ohlcv_on_their_own_clock(small_set) -> None:
    wins = synthetic_windows(small_set, TICKERS, 4, 240, seed=5)
    assert len(wins) == 4 and all(list(w) == TICKERS for w in wins)
    for w in wins:
        times = w["BTC/USDT"]["time"]
        assert times.equals(w["ETH/USDT"]["time"])
        for df in w.values():
            assert dict(df.schema) == {**BAR_SCHEMA, "source": pl.UInt8()}
            assert (df["source"] == SOURCE_SYNTHETIC).all()
            o, h, lo, c, v = (df[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
            assert (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all() and (lo > 0).all()
            assert (h > np.maximum(o, c)).mean() > 0.95  # a real intra-bar range, not a constant offset
            assert (v > 0).all() and v.std() > 0
            np.testing.assert_allclose(o[1:], c[:-1])  # open = previous close
        assert times[0] < datetime(2002, 1, 1, tzinfo=UTC)  # the scenario clock, before any crypto bar
        assert (times.diff().drop_nulls() == timedelta(hours=1)).all()
    again = synthetic_windows(small_set, TICKERS, 4, 240, seed=5)
    assert all(a[t].equals(b[t]) for a, b in zip(wins, again, strict=True) for t in TICKERS)
    assert not wins[0]["BTC/USDT"].equals(
        synthetic_windows(small_set, TICKERS, 1, 240, seed=6)[0]["BTC/USDT"]
    )


def test_synthetic_ranges_and_volume_look_like_real_bars(small_set, sample_frames) -> None:
    wins = synthetic_windows(small_set, TICKERS, 8, 700, seed=1)
    syn = pl.concat([w["BTC/USDT"] for w in wins])
    real = sample_frames["BTC/USDT"].tail(20_000)

    def shape(df: pl.DataFrame) -> tuple[float, float]:
        r = np.log(df["close"] / df["open"]).to_numpy()
        hl = np.log(df["high"] / df["low"]).to_numpy()
        qv = (df["volume"] * df["close"]).to_numpy()
        m = qv > 0
        return float(hl.mean() / r.std()), float(np.corrcoef(np.log(qv[m]), np.abs(r[m]))[0, 1])

    (rs, cs), (rr, cr) = shape(syn), shape(real)
    assert rs == pytest.approx(rr, rel=0.3)  # range relative to return volatility
    assert cs > 0.2 and cr > 0.2  # volume rises with |return|


def test_augment_and_concat_for_the_features_builder(sample_frames, small_set) -> None:
    frames = {t: df.tail(2000) for t, df in sample_frames.items()}
    wins, plan = augment(frames, small_set, 240, seed=2)
    assert plan.n_real == 9 and plan.n_synthetic == 4 and len(wins) == 13
    merged, segments, n_real = concat_windows(wins)
    assert n_real == 2000 and len(segments) == 13 and segments[-1][1] == merged["BTC/USDT"].height
    src = merged["BTC/USDT"]["source"].to_numpy()
    assert (src[:n_real] == SOURCE_REAL).all() and (src[n_real:] == SOURCE_SYNTHETIC).all()
    assert merged["BTC/USDT"]["time"][:n_real].equals(frames["BTC/USDT"]["time"])  # real timestamps kept
    t = merged["BTC/USDT"]["time"].to_numpy()
    for s, _ in segments[10:]:
        assert t[s] <= t[s - 1]  # time drops at each synthetic window: the builder restarts indicators
    builder = pytest.importorskip("cappuccino_core.features.builder")
    from cappuccino_core.config.features import FeaturesConfig

    ds = builder.build_dataset(merged, FeaturesConfig(), "1h", fit_end=n_real, segments=segments)
    assert ds.source is not None and set(np.unique(ds.source)) == {SOURCE_REAL, SOURCE_SYNTHETIC}
    assert np.isfinite(ds.features).all()
    syn_rows = ds.source == SOURCE_SYNTHETIC
    assert (np.abs(ds.features[syn_rows]).sum(axis=0) > 0).all()  # no zeroed indicator on synthetic bars
    for s, e in ds.segments:
        assert len(set(ds.source[s:e].tolist())) == 1


def test_validation_and_test_folds_must_be_real(sample_frames, small_set) -> None:
    assert_real_only({t: df.tail(10) for t, df in sample_frames.items()})
    syn = synthetic_windows(small_set, TICKERS, 1, 24, seed=0)[0]
    with pytest.raises(ValueError, match="synthetic bars in a validation/test fold"):
        assert_real_only(syn)


def test_synthetic_windows_reject_unknown_tickers_and_lengths(small_set) -> None:
    with pytest.raises(ValueError, match="no paths for"):
        synthetic_windows(small_set, ["DOGE/USDT"], 1, 24, seed=0)
    with pytest.raises(ValueError, match="window_len"):
        synthetic_windows(small_set, TICKERS, 1, small_set.hours + 1, seed=0)
