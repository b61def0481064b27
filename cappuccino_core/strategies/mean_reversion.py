"""Mean reversion: a Bollinger-band (z-score) rule, per asset.

On log prices, z = (log p - SMA(n)) / std(n) over the last ``n`` bars. An asset is bought to its slot
(``base.slot``) at a bar where z < -entry (stretched below its mean) and sold at a bar where z > exit
(back above it); in between nothing changes. Out until ``n`` bars of its segment exist. Fitted on
training folds over a small grid of (n, entry, exit).
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.strategies.base import Params, Plan, Strategy, each_segment, hysteresis, slot, switches
from cappuccino_core.strategies.indicators import rolling_mean, rolling_std

WINDOWS: tuple[int, ...] = (24, 72, 168)
ENTRIES: tuple[float, ...] = (1.5, 2.0, 2.5)
EXITS: tuple[float, ...] = (0.0,)


def reversion_state(prices: np.ndarray, n: int, entry: float, exit_z: float) -> np.ndarray:
    """(T, A) 1 (in) / 0 (out) of the rule above over one segment's prices."""
    logp = np.log(prices)
    sd = rolling_std(logp, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (logp - rolling_mean(logp, n)) / sd
    ok = np.isfinite(z) & (sd > 0)
    return hysteresis(ok & (z < -entry), ok & (z > exit_z))


class MeanReversion(Strategy):
    """Long an asset stretched below its rolling mean until it is back above it (z-score entry and exit)."""

    name = "mean_reversion"
    summary = (
        "long an asset stretched below its rolling mean (z < -entry) until it is back above it (z > exit)"
    )

    def __init__(
        self,
        windows: tuple[int, ...] = WINDOWS,
        entries: tuple[float, ...] = ENTRIES,
        exits: tuple[float, ...] = EXITS,
    ) -> None:
        if any(n < 2 for n in windows):
            raise ValueError(f"mean_reversion: windows must be >= 2 bars, got {windows}")
        if any(-e >= x for e in entries for x in exits):
            raise ValueError(f"mean_reversion: need -entry < exit (entries {entries}, exits {exits})")
        self.windows, self.entries, self.exits = tuple(windows), tuple(entries), tuple(exits)

    def grid(self) -> list[Params]:
        return [
            {"n": n, "entry": e, "exit": x} for n in self.windows for e in self.entries for x in self.exits
        ]

    def plan(self, data: MarketDataset, params: Params, env: EnvConfig) -> Plan:
        w = slot(env, data.n_assets)
        n, entry, exit_z = int(params["n"]), float(params["entry"]), float(params["exit"])

        def rule(prices: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            state = reversion_state(prices, n, entry, exit_z)
            return state * w, switches(state)

        return each_segment(data, rule)
