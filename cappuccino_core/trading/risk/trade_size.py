"""Max trade size: a buy's notional (at the reference price) is at most ``fraction`` x equity; larger buys are
cut to that, in whole lots (exits are never cut)."""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.rules import OrderContext


class MaxTradeFraction:
    name = "max_trade_fraction"

    def __init__(self, fraction: float) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"max_trade_fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        limit = self.fraction * np.maximum(ctx.equity, 0.0)[:, None] / ctx.prices
        return np.where(qty > limit, ctx.legal_buy(np.minimum(qty, limit)), qty)
