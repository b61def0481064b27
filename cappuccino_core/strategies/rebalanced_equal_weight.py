"""Equal weight, rebalanced on a schedule: back to min(0.8 x cap, (1 - 2 x reserve) / A) per asset (room
below the env's limits, see ``base.slot``) at the first bar of every period (periods counted in UTC from
Monday 1970-01-05 00:00, so "1w" rebalances each Monday 00:00 or at the first bar after it), holding and
drifting in between."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.strategies.base import Params, Plan, Strategy, each_segment, slot

MONDAY_NS = 4 * 86_400 * 1_000_000_000  # 1970-01-05 00:00 UTC


def period_starts(times: np.ndarray, period: str) -> np.ndarray:
    """(n,) bool: bar ``i`` is the first bar of its period (never the first bar given)."""
    ns = timeframe_seconds(period) * 1_000_000_000
    bucket = (np.asarray(times, dtype=np.int64) - MONDAY_NS) // ns
    out = np.zeros(bucket.shape, dtype=bool)
    out[1:] = bucket[1:] != bucket[:-1]
    return out


class RebalancedEqualWeight(Strategy):
    """Equal weights, restored at the first bar of every period."""

    name = "rebalanced_equal_weight"
    summary = "equal weights restored at the first bar of every period (default weekly)"

    def __init__(self, periods: Sequence[str] = ("1w",)) -> None:
        if not periods:
            raise ValueError("rebalanced_equal_weight: give at least one period (e.g. '1w')")
        for p in periods:
            timeframe_seconds(p)  # raises on an unknown period
        self.periods = tuple(periods)

    def grid(self) -> list[Params]:
        return [{"period": p} for p in self.periods]

    def plan(self, data: MarketDataset, params: Params, env: EnvConfig) -> Plan:
        w = slot(env, data.n_assets)
        period = str(params["period"])

        def rule(prices: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            go = period_starts(times, period)
            return np.full(prices.shape, w), np.repeat(go[:, None], prices.shape[1], axis=1)

        return each_segment(data, rule)
