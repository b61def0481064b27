"""Small synthetic MarketDatasets for tests, benchmarks and demos (tagged synthetic, never confused with
real data): geometric random walks with a chosen drift, features = normalised recent log returns."""

from __future__ import annotations

import numpy as np

from cappuccino_core.features.dataset import SOURCE_SYNTHETIC, MarketDataset
from cappuccino_core.features.spec import FeatureSpec, IndicatorSpec

HOUR_NS = 3_600_000_000_000


def dataset_from_prices(
    prices: np.ndarray | list,
    *,
    lookback: int = 1,
    n_features: int = 1,
    volatility: float | np.ndarray = 0.0,
    segments: list[tuple[int, int]] | None = None,
    features: np.ndarray | None = None,
) -> MarketDataset:
    """A MarketDataset around given close prices (T, A); features zero unless given (for hand-computed
    tests: every number of a step follows from the prices and the configuration)."""
    p = np.asarray(prices, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    t_bars, n_assets = p.shape
    feats = np.zeros((t_bars, n_assets, n_features), dtype=np.float32) if features is None else features
    spec = FeatureSpec(
        tickers=tuple(f"T{i}/USD" for i in range(n_assets)),
        timeframe="1h",
        indicators=(IndicatorSpec("given", (), tuple(f"f{j}" for j in range(feats.shape[2]))),),
        lookback=lookback,
        warmup=0,
        normalisation="none",
    )
    return MarketDataset(
        times=1_700_000_000 * 1_000_000_000 // HOUR_NS * HOUR_NS
        + HOUR_NS * np.arange(t_bars, dtype=np.int64),
        prices=p,
        features=feats,
        spec=spec,
        volatility=np.broadcast_to(np.asarray(volatility, dtype=np.float64), p.shape).copy(),
        source=np.full(t_bars, SOURCE_SYNTHETIC, dtype=np.uint8),
        segments=segments or [],
    )


def toy_dataset(
    n_bars: int = 500,
    n_assets: int = 3,
    n_features: int = 2,
    lookback: int = 5,
    *,
    drift: float | list[float] = 0.0,
    vol: float = 0.01,
    seed: int = 0,
    segments: list[tuple[int, int]] | None = None,
    start_ns: int = 1_700_000_000 * 1_000_000_000 // HOUR_NS * HOUR_NS,
) -> MarketDataset:
    """``n_assets`` hourly price paths: log price increments drift + vol x N(0, 1) per bar.
    Feature j of an asset is its log return j bars ago, scaled by 1/vol (0 before the first bar)."""
    rng = np.random.default_rng(seed)
    mu = np.broadcast_to(np.asarray(drift, dtype=np.float64), (n_assets,))
    steps = mu + vol * rng.standard_normal((n_bars, n_assets))
    steps[0] = 0.0
    prices = 100.0 * np.exp(np.cumsum(steps, axis=0)) * (1.0 + np.arange(n_assets))
    feats = np.zeros((n_bars, n_assets, n_features), dtype=np.float32)
    scale = 1.0 / vol if vol > 0 else 1.0
    for j in range(n_features):
        feats[j:, :, j] = steps[: n_bars - j] * scale
    tickers = tuple(f"T{i}/USD" for i in range(n_assets))
    spec = FeatureSpec(
        tickers=tickers,
        timeframe="1h",
        indicators=(IndicatorSpec("lagged_log_return", (("lags", n_features),), tuple(
            f"ret_lag{j}" for j in range(n_features)
        )),),
        lookback=lookback,
        warmup=0,
        normalisation="none",
        extra={"synthetic": True},
    )  # fmt: skip
    return MarketDataset(
        times=start_ns + HOUR_NS * np.arange(n_bars, dtype=np.int64),
        prices=prices,
        features=feats,
        spec=spec,
        volatility=np.full((n_bars, n_assets), vol),
        source=np.full(n_bars, SOURCE_SYNTHETIC, dtype=np.uint8),
        segments=segments or [],
    )
