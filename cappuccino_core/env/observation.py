"""The observation: one flat float32 vector per episode.

Layout, for A assets (tickers in FeatureSpec order, never sorted), F features per asset and a lookback of L
bars, size 1 + A + L x A x F:

    [0]                      cash / equity
    [1 + i]                  holding_i x price_i / equity        (weight of asset i; i < A)
    [1 + A + (l*A + i)*F + j] feature j of asset i at bar t - (L - 1) + l   (l = 0 oldest, L - 1 = now)

Equity and weights are marked at the decision bar's price. Features are MarketDataset.features, already
normalised per the FeatureSpec (fitted on training rows only); the window never reaches before the
episode's segment (episodes.py).
"""

from __future__ import annotations

import numpy as np


def observation_size(n_assets: int, n_features: int, lookback: int) -> int:
    return 1 + n_assets + lookback * n_assets * n_features


class ObservationBuilder:
    def __init__(self, features: np.ndarray, lookback: int) -> None:
        t_bars, self.n_assets, self.n_features = features.shape
        self.rows = np.ascontiguousarray(features, dtype=np.float32).reshape(t_bars, -1)  # (T, A x F)
        self.lookback = lookback
        self.size = observation_size(self.n_assets, self.n_features, lookback)
        self._offsets = np.arange(-(lookback - 1), 1, dtype=np.int64)

    def __call__(
        self, t: np.ndarray, cash: np.ndarray, holdings: np.ndarray, prices: np.ndarray
    ) -> np.ndarray:
        """t: (N,) decision bars; cash (N,); holdings and prices (N, A) -> (N, size) float32."""
        n, a = holdings.shape
        value = holdings * prices
        equity = cash + value.sum(axis=1)
        inv = 1.0 / np.where(equity > 0, equity, 1.0)
        obs = np.empty((n, self.size), dtype=np.float32)
        obs[:, 0] = cash * inv
        obs[:, 1 : 1 + a] = value * inv[:, None]
        window = np.take(self.rows, (t[:, None] + self._offsets).ravel(), axis=0)  # (N x L, A x F)
        obs[:, 1 + a :] = window.reshape(n, -1)
        return obs
