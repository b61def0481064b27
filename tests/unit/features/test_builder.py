"""build_dataset / apply_spec: shapes, ticker order, train-only normalisation, spec round-trip, mismatches."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cappuccino_core.config.features import FeaturesConfig, IndicatorConfig
from cappuccino_core.features import FeatureSpec, FeatureSpecMismatch, MarketDataset
from cappuccino_core.features.builder import (
    CLIP_SIGMA,
    INFERENCE_HISTORY_BARS,
    VOL_WINDOW,
    apply_spec,
    build_dataset,
    observation_window,
)
from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC
from cappuccino_core.features.indicators import BarArrays, compute_features, resolve_indicators
from tests.unit.features.helpers import frame, make_frames, random_ohlcv

CFG = FeaturesConfig()
WARMUP = 63
F = 16


def test_shapes_dtypes_and_rows() -> None:
    frames = make_frames(400)
    ds = build_dataset(frames, CFG, "1h", fit_end=300)
    assert ds.features.shape == (400 - WARMUP, 3, F) and ds.features.dtype == np.float32
    assert ds.prices.shape == (400 - WARMUP, 3) and ds.times.dtype == np.int64
    times = frames["BTC"]["time"].dt.epoch("ns").to_numpy()
    np.testing.assert_array_equal(ds.times, times[WARMUP:])
    np.testing.assert_array_equal(ds.prices[:, 1], frames["ETH"]["close"].to_numpy()[WARMUP:])
    assert ds.segments == [(0, 400 - WARMUP)]
    assert (ds.source == SOURCE_REAL).all()
    assert ds.spec.warmup == WARMUP and ds.spec.lookback == CFG.lookback and ds.spec.timeframe == "1h"
    assert len(ds.spec.feature_names) == F
    assert np.abs(ds.features).max() <= CLIP_SIGMA


def test_ticker_order_is_dict_order_never_sorted() -> None:
    frames = make_frames(200, tickers=("SOL", "BTC", "ADA"))
    ds = build_dataset(frames, CFG, "1h")
    assert ds.tickers == ("SOL", "BTC", "ADA")
    for j, t in enumerate(ds.tickers):
        np.testing.assert_array_equal(ds.prices[:, j], frames[t]["close"].to_numpy()[WARMUP:])


def test_misaligned_frames_are_refused() -> None:
    frames = make_frames(200)
    frames["ETH"] = frames["ETH"].with_columns(pl.col("time") + timedelta(hours=1))
    with pytest.raises(ValueError, match="not aligned: ETH"):
        build_dataset(frames, CFG, "1h")
    frames = make_frames(200)
    frames["SOL"] = frames["SOL"].head(150)
    with pytest.raises(ValueError, match="not aligned: SOL"):
        build_dataset(frames, CFG, "1h")


def test_bad_input_is_named() -> None:
    frames = make_frames(200)
    frames["ETH"] = frames["ETH"].with_columns(
        pl.when(pl.int_range(200) == 90).then(None).otherwise(pl.col("close")).alias("close")
    )
    with pytest.raises(ValueError, match="ETH: column 'close'"):
        build_dataset(frames, CFG, "1h")
    with pytest.raises(ValueError, match="not enough bars"):
        build_dataset(make_frames(60), CFG, "1h")
    with pytest.raises(ValueError, match="fit_end=50"):
        build_dataset(make_frames(200), CFG, "1h", fit_end=50)
    with pytest.raises(ValueError, match="not 4h"):
        build_dataset(make_frames(200), CFG, "4h")
    with pytest.raises(ValueError, match="unknown indicator"):
        build_dataset(make_frames(200), FeaturesConfig(indicators=[IndicatorConfig(name="nope")]), "1h")


def test_normalisation_is_fitted_on_training_rows_only() -> None:
    frames = make_frames(500, seed=1)
    fit_end = 300
    ds = build_dataset(frames, CFG, "1h", fit_end=fit_end)
    rng = np.random.default_rng(99)
    changed = {}
    for t, df in frames.items():
        o = random_ohlcv(rng, 500 - fit_end, price=float(df["close"][fit_end - 1]) * 3)
        tail = frame(o, start=df["time"][fit_end])
        changed[t] = pl.concat([df.head(fit_end), tail])
    ds2 = build_dataset(changed, CFG, "1h", fit_end=fit_end)
    assert ds.spec.norm_mean == ds2.spec.norm_mean and ds.spec.norm_std == ds2.spec.norm_std
    assert ds.spec.content_hash() == ds2.spec.content_hash()
    k = fit_end - WARMUP
    np.testing.assert_array_equal(ds.features[:k], ds2.features[:k])
    assert not np.array_equal(ds.features[k:], ds2.features[k:])
    # and the statistics are those of the training rows: z-scores there have mean 0 (before clipping)
    raw = build_dataset(frames, FeaturesConfig(normalisation="none"), "1h").features[:k].astype(np.float64)
    np.testing.assert_allclose(np.asarray(ds.spec.norm_mean), raw.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert ds.spec.extra["fit_rows"] == k


def test_normalisation_none_is_raw_features() -> None:
    frames = make_frames(300)
    ds = build_dataset(frames, FeaturesConfig(normalisation="none"), "1h")
    assert ds.spec.norm_mean == () and ds.spec.normalisation == "none"
    specs = resolve_indicators(CFG.indicators)
    df = frames["ETH"]
    raw = compute_features(
        BarArrays.from_arrays(*(df[c].to_numpy() for c in ("open", "high", "low", "close", "volume"))), specs
    )
    np.testing.assert_array_equal(ds.features[:, 1, :], raw[WARMUP:].astype(np.float32))


def test_spec_save_load_round_trip_and_stable_hash(tmp_path: Path) -> None:
    frames = make_frames(300)
    ds = build_dataset(frames, CFG, "1h", fit_end=250)
    ds.spec.save(tmp_path / "spec.json")
    loaded = FeatureSpec.load(tmp_path / "spec.json")
    assert loaded == ds.spec
    assert loaded.content_hash() == ds.spec.content_hash()
    assert build_dataset(frames, CFG, "1h", fit_end=250).spec.content_hash() == ds.spec.content_hash()
    assert build_dataset(frames, CFG, "1h", fit_end=200).spec.content_hash() != ds.spec.content_hash()
    ds.save(tmp_path / "ds.npz")
    back = MarketDataset.load(tmp_path / "ds.npz")
    np.testing.assert_array_equal(back.features, ds.features)
    assert back.spec == ds.spec and back.segments == ds.segments


def test_apply_spec_reproduces_the_training_features() -> None:
    frames = make_frames(400, seed=2)
    ds = build_dataset(frames, CFG, "1h", fit_end=300)
    again = apply_spec(frames, ds.spec)
    np.testing.assert_array_equal(again.features, ds.features)
    assert again.spec is ds.spec
    # held-out data normalised with the stored statistics, not refitted
    tail = apply_spec({t: df.tail(200) for t, df in frames.items()}, ds.spec, timeframe="1h", lookback=5)
    assert tail.n_bars == 200 - WARMUP
    assert tail.spec.content_hash() == ds.spec.content_hash()


def test_apply_spec_names_each_mismatch() -> None:
    frames = make_frames(300)
    spec = build_dataset(frames, CFG, "1h").spec
    with pytest.raises(
        FeatureSpecMismatch, match=r"tickers \['BTC', 'ETH', 'SOL'\] != \['ETH', 'BTC', 'SOL'\]"
    ):
        apply_spec({t: frames[t] for t in ("ETH", "BTC", "SOL")}, spec)
    with pytest.raises(FeatureSpecMismatch, match="tickers"):
        apply_spec({t: frames[t] for t in ("BTC", "ETH")}, spec)
    with pytest.raises(FeatureSpecMismatch, match="lookback 5 != 10"):
        apply_spec(frames, spec, lookback=10)
    with pytest.raises(FeatureSpecMismatch, match="timeframe 1h != 2h"):
        apply_spec(make_frames(300, step=timedelta(hours=2)), spec)
    with pytest.raises(FeatureSpecMismatch, match="timeframe"):
        apply_spec(frames, spec, timeframe="4h")
    other = FeaturesConfig(
        indicators=[*CFG.indicators[:2], IndicatorConfig(name="rsi", params={"timeperiod": 7})]
    )
    with pytest.raises(FeatureSpecMismatch, match="indicators"):
        apply_spec(frames, spec, features=other)
    # several differences are named together
    with pytest.raises(FeatureSpecMismatch, match=r"tickers.*lookback"):
        apply_spec({t: frames[t] for t in ("ETH", "BTC", "SOL")}, spec, lookback=7)


def test_gaps_split_segments_without_another_warmup() -> None:
    frames = {
        t: df.filter(~pl.int_range(df.height).is_between(200, 202)) for t, df in make_frames(400).items()
    }
    ds = build_dataset(frames, CFG, "1h")
    assert ds.n_bars == 397 - WARMUP
    assert ds.segments == [(0, 200 - WARMUP), (200 - WARMUP, 397 - WARMUP)]
    assert observation_window(ds, 200 - WARMUP + 4).shape == (5, 3, F)
    with pytest.raises(ValueError, match="before its segment"):
        observation_window(ds, 200 - WARMUP + 3)


def test_source_blocks_restart_indicators() -> None:
    rng = np.random.default_rng(5)
    real = make_frames(300, tickers=("BTC", "ETH"), seed=5)
    # a synthetic window that keeps its own timestamps (here: the same hours again)
    synth = {t: frame(random_ohlcv(rng, 150)).with_columns(pl.lit("synthetic").alias("source")) for t in real}
    frames = {t: pl.concat([real[t].with_columns(pl.lit("real").alias("source")), synth[t]]) for t in real}
    ds = build_dataset(frames, CFG, "1h")
    assert ds.n_bars == (300 - WARMUP) + (150 - WARMUP)
    assert ds.segments == [(0, 300 - WARMUP), (300 - WARMUP, ds.n_bars)]
    assert (ds.source[: 300 - WARMUP] == SOURCE_REAL).all() and (
        ds.source[300 - WARMUP :] == SOURCE_SYNTHETIC
    ).all()
    # the synthetic block's raw features do not depend on the real bars before it
    cfg = FeaturesConfig(normalisation="none")
    alone = build_dataset(synth, cfg, "1h")
    mixed = build_dataset(frames, cfg, "1h")
    np.testing.assert_array_equal(mixed.features[300 - WARMUP :], alone.features)


def test_caller_segments_refine_the_dataset_segments() -> None:
    frames = make_frames(300)
    ds = build_dataset(frames, CFG, "1h", segments=[(0, 150), (150, 280)])
    assert ds.segments == [(0, 150 - WARMUP), (150 - WARMUP, 280 - WARMUP)]
    with pytest.raises(ValueError, match="outside"):
        build_dataset(frames, CFG, "1h", segments=[(0, 301)])


def test_volatility_is_causal_rolling_std_of_log_returns() -> None:
    frames = make_frames(300)
    ds = build_dataset(frames, CFG, "1h")
    close = frames["SOL"]["close"].to_numpy()
    r = np.diff(np.log(close))
    t = 150  # input row
    np.testing.assert_allclose(ds.volatility[t - WARMUP, 2], r[t - VOL_WINDOW : t].std(), rtol=1e-9)


def test_observation_window_bounds() -> None:
    ds = build_dataset(make_frames(200), CFG, "1h")
    np.testing.assert_array_equal(observation_window(ds, 10), ds.features[6:11])
    assert observation_window(ds, 10, lookback=1).shape == (1, 3, F)
    with pytest.raises(IndexError):
        observation_window(ds, ds.n_bars)
    with pytest.raises(ValueError, match="before its segment"):
        observation_window(ds, 3)


def test_inference_on_recent_history_matches_training(sample_dir: Path) -> None:
    """The live trader featurises only the last bars: 500 of them reproduce the training run's last row,
    100 do not (EMA seeds)."""
    coins = ("BTC", "ETH", "SOL")
    frames = {c: pl.read_parquet(sample_dir / f"BINANCE_{c}USDT_1h.parquet") for c in coins}
    ds = build_dataset(frames, FeaturesConfig(), "1h", fit_end=12_000)
    live = apply_spec({c: df.tail(INFERENCE_HISTORY_BARS) for c, df in frames.items()}, ds.spec)
    np.testing.assert_array_equal(live.features[-1], ds.features[-1])
    np.testing.assert_array_equal(live.times[-1], ds.times[-1])
    short = apply_spec({c: df.tail(100) for c, df in frames.items()}, ds.spec)
    assert not np.array_equal(short.features[-1], ds.features[-1])
