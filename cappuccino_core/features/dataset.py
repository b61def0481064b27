"""MarketDataset: aligned arrays (prices T x N, features T x N x F, UTC times T) plus the spec.

This is the one input format of the step kernel (training, backtest, stress, arena, trading decisions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cappuccino_core.features.spec import FeatureSpec

SOURCE_REAL = 0
SOURCE_SYNTHETIC = 1


@dataclass
class MarketDataset:
    """A model's input data: bar times, close prices and the (T, N, F) feature array, with its FeatureSpec
    and the contiguous segments (gaps split them)."""

    times: np.ndarray  # (T,) int64 ns since epoch UTC, bar open time, increasing inside each segment
    prices: np.ndarray  # (T, N) float64 close prices, > 0
    features: np.ndarray  # (T, N, F) float32, normalised per spec, finite
    spec: FeatureSpec
    volatility: np.ndarray | None = None  # (T, N) causal per-bar return volatility (slippage model)
    source: np.ndarray | None = None  # (T,) uint8: SOURCE_REAL / SOURCE_SYNTHETIC
    # Contiguous index ranges [start, end) with no missing bar and one source: episodes never cross them.
    # Synthetic (CGE) windows keep their own timestamps and sit in their own segments.
    segments: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        T = self.times.shape[0]
        if self.prices.ndim != 2 or self.prices.shape[0] != T:
            raise ValueError(f"prices must be (T={T}, N); got {self.prices.shape}")
        N = self.prices.shape[1]
        if self.features.ndim != 3 or self.features.shape[:2] != (T, N):
            raise ValueError(f"features must be (T={T}, N={N}, F); got {self.features.shape}")
        if len(self.spec.tickers) != N:
            raise ValueError(f"{N} price columns but spec has tickers {list(self.spec.tickers)}")
        if self.features.shape[2] != self.spec.n_features:
            raise ValueError(f"{self.features.shape[2]} features but spec names {self.spec.n_features}")
        if not np.all(np.isfinite(self.prices)) or np.any(self.prices <= 0):
            raise ValueError("prices must be finite and > 0")
        if not np.all(np.isfinite(self.features)):
            raise ValueError("features contain NaN/inf")
        if self.volatility is None:
            self.volatility = np.zeros_like(self.prices)
        if self.source is None:
            self.source = np.full(T, SOURCE_REAL, dtype=np.uint8)
        if not self.segments:
            self.segments = [(0, T)]
        for s, e in self.segments:
            if not 0 <= s < e <= T:
                raise ValueError(f"segment [{s}, {e}) outside [0, {T})")
            if e - s > 1 and np.any(np.diff(self.times[s:e]) <= 0):
                raise ValueError(f"times must be strictly increasing inside segment [{s}, {e})")
            if np.any(self.source[s:e] != self.source[s]):
                raise ValueError(f"segment [{s}, {e}) mixes real and synthetic bars")

    @property
    def n_bars(self) -> int:
        """Number of bars."""
        return int(self.times.shape[0])

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return int(self.prices.shape[1])

    @property
    def tickers(self) -> tuple[str, ...]:
        """Tickers in model order."""
        return self.spec.tickers

    def slice(self, start: int, end: int) -> MarketDataset:
        """Rows [start, end), segments clipped to it."""
        segs = [
            (max(s, start) - start, min(e, end) - start) for s, e in self.segments if e > start and s < end
        ]
        assert self.volatility is not None and self.source is not None
        return MarketDataset(
            times=self.times[start:end],
            prices=self.prices[start:end],
            features=self.features[start:end],
            spec=self.spec,
            volatility=self.volatility[start:end],
            source=self.source[start:end],
            segments=[s for s in segs if s[1] > s[0]],
        )

    def save(self, path: str | Path) -> None:
        """One .npz with arrays + the spec as JSON; round-trips with :meth:`load`."""
        import json

        assert self.volatility is not None and self.source is not None
        np.savez_compressed(
            path,
            times=self.times,
            prices=self.prices,
            features=self.features,
            volatility=self.volatility,
            source=self.source,
            segments=np.asarray(self.segments, dtype=np.int64).reshape(-1, 2),
            spec=np.frombuffer(json.dumps(self.spec.to_dict(), default=str).encode(), dtype=np.uint8),
        )

    @classmethod
    def load(cls, path: str | Path) -> MarketDataset:
        """A dataset saved with :meth:`save` (its FeatureSpec included)."""
        import json

        with np.load(path) as z:
            spec = FeatureSpec.from_dict(json.loads(z["spec"].tobytes().decode()))
            return cls(
                times=z["times"],
                prices=z["prices"],
                features=z["features"],
                spec=spec,
                volatility=z["volatility"],
                source=z["source"],
                segments=[(int(a), int(b)) for a, b in z["segments"]],
            )
