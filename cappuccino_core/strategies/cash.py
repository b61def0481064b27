"""Cash: never trades. Sharpe 0, return 0: the bar any strategy must clear to be worth its risk."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.strategies.base import HoldStrategy


class Cash(HoldStrategy):
    """Stays in cash: no trade, no fee."""

    name = "cash"
    summary = "stays in cash (no trade, no fee)"

    def weights(self, tickers: Sequence[str], env: EnvConfig) -> np.ndarray:
        return np.zeros(len(tickers))
