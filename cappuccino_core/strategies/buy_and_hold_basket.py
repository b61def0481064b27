"""Equal basket bought once: 1/A of equity into each asset at the first bar, then held (weights drift)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.strategies.base import HoldStrategy


class BuyAndHoldBasket(HoldStrategy):
    """Equal dollar amounts of every asset at the start, then hold (exempt from the cap and reserve)."""

    name = "buy_and_hold_basket"
    summary = "equal dollar amounts of every asset at the start, then hold and let the weights drift"
    exempt = True

    def weights(self, tickers: Sequence[str], env: EnvConfig) -> np.ndarray:
        return np.full(len(tickers), 1.0 / len(tickers))
