"""Trend: moving-average crossover with hysteresis, per asset.

On log prices, d = SMA(fast) - SMA(slow) (a log ratio). An asset is bought to its slot (min(0.8 x cap,
(1 - 2 x reserve) / A): room below the env's limits, see ``base.slot``) at a bar where d > +band and
sold to zero at a bar where d < -band; between the two thresholds nothing changes, so a crossover that
wobbles does not trade. Out until the slow average has ``slow`` bars of its segment. Fitted on training
folds over a small grid of (fast, slow, band).
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.strategies.base import Params, Plan, Strategy, each_segment, hysteresis, slot, switches
from cappuccino_core.strategies.indicators import rolling_mean

GRID: tuple[tuple[int, int], ...] = ((12, 48), (24, 96), (48, 192), (24, 168))
BANDS: tuple[float, ...] = (0.0, 0.01, 0.03)


def trend_state(prices: np.ndarray, fast: int, slow: int, band: float) -> np.ndarray:
    """(T, A) 1 (in) / 0 (out) of the rule above over one segment's prices."""
    logp = np.log(prices)
    d = rolling_mean(logp, fast) - rolling_mean(logp, slow)
    warm = np.isfinite(d)
    return hysteresis(warm & (d > band), warm & (d < -band))


class Trend(Strategy):
    """Long an asset while its fast moving average is above the slow one, with a hysteresis band."""

    name = "trend"
    summary = "long an asset while its fast moving average is above the slow one, with a hysteresis band"

    def __init__(self, lengths: tuple[tuple[int, int], ...] = GRID, bands: tuple[float, ...] = BANDS) -> None:
        for fast, slow in lengths:
            if not 1 <= fast < slow:
                raise ValueError(f"trend: need 1 <= fast < slow, got fast={fast} slow={slow}")
        if any(b < 0 for b in bands):
            raise ValueError(f"trend: bands must be >= 0, got {bands}")
        self.lengths, self.bands = tuple(lengths), tuple(bands)

    def grid(self) -> list[Params]:
        return [{"fast": f, "slow": s, "band": b} for f, s in self.lengths for b in self.bands]

    def plan(self, data: MarketDataset, params: Params, env: EnvConfig) -> Plan:
        w = slot(env, data.n_assets)
        fast, slow, band = int(params["fast"]), int(params["slow"]), float(params["band"])

        def rule(prices: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            state = trend_state(prices, fast, slow, band)
            return state * w, switches(state)

        return each_segment(data, rule)
