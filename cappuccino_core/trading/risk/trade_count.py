"""Max trades per UTC day: buys are placed only while the day's filled orders plus this bar's orders stay
within ``max_trades``; exits are never blocked (they still count)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import StatefulRule, keep_largest_buys, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class MaxTradesPerDay(StatefulRule):
    """Buys only while the UTC day's filled orders plus this bar's stay within ``max_trades``."""

    name = "max_trades_per_day"
    stage = 110

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> MaxTradesPerDay | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.max_trades_per_day is None else cls(cfg.max_trades_per_day)

    def __init__(self, max_trades: int) -> None:
        if max_trades < 1:
            raise ValueError(f"max_trades_per_day must be >= 1, got {max_trades}")
        self.max_trades = max_trades

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        sells = (qty < 0).sum(axis=1)
        allowed = self.max_trades - self.state.trades_today - sells
        return keep_largest_buys(qty, ctx, allowed)
