"""Stop-loss: a position whose price fell ``loss`` below its average entry price is sold in full."""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import StatefulRule, flatten


class StopLoss(StatefulRule):
    name = "stop_loss"

    def __init__(self, loss: float) -> None:
        if not 0 < loss < 1:
            raise ValueError(f"stop_loss must be in (0, 1), got {loss}")
        self.loss = loss

    def triggered(self, ctx: OrderContext) -> np.ndarray:
        e = self.state.entry
        return (ctx.holdings > 0) & (e > 0) & (ctx.prices <= e * (1.0 - self.loss))

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return flatten(qty, ctx, self.triggered(ctx))
