"""Small hand-made MarketDatasets for training tests (no feature builder needed)."""

from __future__ import annotations

import numpy as np

from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC, MarketDataset
from cappuccino_core.features.spec import FeatureSpec, IndicatorSpec

HOUR_NS = 3_600_000_000_000


def make_spec(
    n_assets: int = 3, n_features: int = 2, lookback: int = 3, timeframe: str = "1h"
) -> FeatureSpec:
    return FeatureSpec(
        tickers=tuple(f"C{i}/USDT" for i in range(n_assets)),
        timeframe=timeframe,
        indicators=(IndicatorSpec("f", (), tuple(f"f{j}" for j in range(n_features))),),
        lookback=lookback,
        warmup=0,
    )


def make_dataset(
    n_bars: int = 200,
    n_assets: int = 3,
    gaps: tuple[int, ...] = (),
    n_synthetic: int = 0,
    lookback: int = 3,
    seed: int = 0,
) -> MarketDataset:
    """Real hourly bars with missing-bar gaps after the rows in ``gaps``, then a synthetic window."""
    rng = np.random.default_rng(seed)
    T = n_bars + n_synthetic
    steps = np.ones(n_bars, dtype=np.int64)
    for g in gaps:
        steps[g] = 5  # four missing bars before row g
    times = np.cumsum(steps) * HOUR_NS + 1_600_000_000 * 1_000_000_000
    segments, start = [], 0
    for g in sorted(gaps):
        segments.append((start, g))
        start = g
    segments.append((start, n_bars))
    source = np.full(T, SOURCE_REAL, dtype=np.uint8)
    if n_synthetic:
        times = np.concatenate([times, np.arange(n_synthetic, dtype=np.int64) * HOUR_NS])
        source[n_bars:] = SOURCE_SYNTHETIC
        segments.append((n_bars, T))
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (T, n_assets)), axis=0))
    spec = make_spec(n_assets, 2, lookback)
    feats = rng.normal(size=(T, n_assets, spec.n_features)).astype(np.float32)
    return MarketDataset(
        times=times, prices=prices, features=feats, spec=spec, source=source, segments=segments
    )
