"""Minimum trade value: orders whose notional at the reference price is under ``value`` are dropped."""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.rules import OrderContext


class MinTradeValue:
    name = "min_trade_value"

    def __init__(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"min_trade_value must be >= 0, got {value}")
        self.value = value

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return np.where(np.abs(qty) * ctx.prices >= self.value, qty, 0.0)
