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

from cappuccino_core.env.jit import jit
from cappuccino_core.env.order_math import mark


def observation_size(n_assets: int, n_features: int, lookback: int) -> int:
    """Length of one observation: cash, holdings, and ``lookback`` bars of every asset's features."""
    return 1 + n_assets + lookback * n_assets * n_features


class ObservationBuilder:
    """Observations from a (T, n_assets, n_features) feature array: the account part plus a lookback
    window."""

    def __init__(self, features: np.ndarray, lookback: int) -> None:
        t_bars, self.n_assets, self.n_features = features.shape
        self.rows = np.ascontiguousarray(features, dtype=np.float32).reshape(t_bars, -1)  # (T, A x F)
        self.lookback = lookback
        self.size = observation_size(self.n_assets, self.n_features, lookback)

    def __call__(
        self, t: np.ndarray, cash: np.ndarray, holdings: np.ndarray, prices: np.ndarray
    ) -> np.ndarray:
        """t: (N,) decision bars; cash (N,); holdings and prices (N, A) -> (N, size) float32."""
        f64 = np.ascontiguousarray
        return self.marked_at(t, cash, holdings, f64(prices, dtype=np.float64), np.arange(len(t)))

    def marked_at(
        self, t: np.ndarray, cash: np.ndarray, holdings: np.ndarray, prices: np.ndarray, row: np.ndarray
    ) -> np.ndarray:
        """As __call__, with episode i's prices ``prices[row[i]]`` (the kernel passes its (T, A) price
        table and t: no (N, A) copy)."""
        obs = np.empty((len(t), self.size), dtype=np.float32)
        fill_observations(self.rows, self.lookback, t, cash, holdings, prices, row, obs)
        return obs


@jit
def fill_observations(
    rows: np.ndarray,
    lookback: int,
    t: np.ndarray,
    cash: np.ndarray,
    holdings: np.ndarray,
    prices: np.ndarray,
    row: np.ndarray,
    obs: np.ndarray,
) -> None:
    """Write the layout above into ``obs`` (N, size): rows (T, A x F) are the feature rows per bar,
    episode i is marked at prices[row[i]]."""
    n, a = holdings.shape
    width = rows.shape[1]
    for i in range(n):
        p = prices[row[i]]
        equity = mark(cash[i], holdings[i], p)
        inv = 1.0 / (equity if equity > 0.0 else 1.0)
        obs[i, 0] = cash[i] * inv
        for j in range(a):
            obs[i, 1 + j] = holdings[i, j] * p[j] * inv
        window = obs[i, 1 + a :]  # a view from the window's first column: its copy loop vectorises
        for lag in range(lookback):
            src = rows[t[i] - lookback + 1 + lag]
            for k in range(width):
                window[lag * width + k] = src[k]
