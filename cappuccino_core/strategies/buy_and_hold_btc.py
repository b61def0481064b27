"""True buy-and-hold of BTC: everything into BTC at the first bar, never another trade."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.strategies.base import HoldStrategy


class BuyAndHoldBTC(HoldStrategy):
    """All equity into BTC at the start, then hold (exempt from the cap and reserve)."""

    name = "buy_and_hold_btc"
    summary = "all equity into BTC (the first ticker when there is none) at the start, then hold"
    exempt = True

    def weights(self, tickers: Sequence[str], env: EnvConfig) -> np.ndarray:
        from cappuccino_core.backtest.runner import btc_ticker

        w = np.zeros(len(tickers))
        w[list(tickers).index(btc_ticker(tuple(tickers)))] = 1.0
        return w
