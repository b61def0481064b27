"""Stop-loss: a position whose price fell ``loss`` below its average entry price is sold in full."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import StatefulRule, flatten, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class StopLoss(StatefulRule):
    """A position whose price fell ``loss`` below its average entry price is sold in full."""

    name = "stop_loss"
    stage = 30

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> StopLoss | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.stop_loss is None else cls(cfg.stop_loss)

    def __init__(self, loss: float) -> None:
        if not 0 < loss < 1:
            raise ValueError(f"stop_loss must be in (0, 1), got {loss}")
        self.loss = loss

    def triggered(self, ctx: OrderContext) -> np.ndarray:
        """(N, A) True where a held position's price is at or below entry * (1 - loss)."""
        e = self.state.entry
        return (ctx.holdings > 0) & (e > 0) & (ctx.prices <= e * (1.0 - self.loss))

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return flatten(qty, ctx, self.triggered(ctx))
