"""Minimum trade value: orders whose notional at the reference price is under ``value`` are dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class MinTradeValue:
    """Orders whose notional at the reference price is under ``value`` are dropped."""

    name = "min_trade_value"
    stage = 100

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> MinTradeValue | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return cls(cfg.min_trade_value)

    def __init__(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"min_trade_value must be >= 0, got {value}")
        self.value = value

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return np.where(np.abs(qty) * ctx.prices >= self.value, qty, 0.0)
