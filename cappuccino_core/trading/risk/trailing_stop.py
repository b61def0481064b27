"""Trailing stop: a position whose price fell ``distance`` below its highest price since entry is sold."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import StatefulRule, flatten, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class TrailingStop(StatefulRule):
    """A position whose price fell ``distance`` below its highest price since entry is sold."""

    name = "trailing_stop"
    stage = 40

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> TrailingStop | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.trailing_stop is None else cls(cfg.trailing_stop)

    def __init__(self, distance: float) -> None:
        if not 0 < distance < 1:
            raise ValueError(f"trailing_stop must be in (0, 1), got {distance}")
        self.distance = distance

    def triggered(self, ctx: OrderContext) -> np.ndarray:
        """(N, A) True where a held position's price is at or below its high * (1 - distance)."""
        high = self.state.high
        return (ctx.holdings > 0) & (high > 0) & (ctx.prices <= high * (1.0 - self.distance))

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return flatten(qty, ctx, self.triggered(ctx))
