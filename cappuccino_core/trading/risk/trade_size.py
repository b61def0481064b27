"""Max trade size: a buy's notional (at the reference price) is at most ``fraction`` x equity; larger buys are
cut to that, in whole lots (exits are never cut)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class MaxTradeFraction:
    """A buy's notional is at most ``fraction`` of equity: larger buys are cut, in whole lots."""

    name = "max_trade_fraction"
    stage = 80

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> MaxTradeFraction | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.max_trade_fraction is None else cls(cfg.max_trade_fraction)

    def __init__(self, fraction: float) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"max_trade_fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        limit = self.fraction * np.maximum(ctx.equity, 0.0)[:, None] / ctx.prices
        return np.where(qty > limit, ctx.legal_buy(np.minimum(qty, limit)), qty)
