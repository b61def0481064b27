"""Signal rate limit: at most ``per_hour`` buy orders per UTC clock hour; exits are never blocked."""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import StatefulRule, keep_largest_buys


class SignalRateLimit(StatefulRule):
    name = "signal_rate_limit"

    def __init__(self, per_hour: int) -> None:
        if per_hour < 1:
            raise ValueError(f"max_signals_per_hour must be >= 1, got {per_hour}")
        self.per_hour = per_hour

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return keep_largest_buys(qty, ctx, self.per_hour - self.state.buys_this_hour)
