"""Signal rate limit: at most ``per_hour`` buy orders per UTC clock hour; exits are never blocked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import StatefulRule, keep_largest_buys, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class SignalRateLimit(StatefulRule):
    """At most ``per_hour`` buy orders per UTC clock hour; exits are never blocked."""

    name = "signal_rate_limit"
    stage = 120

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> SignalRateLimit | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.max_signals_per_hour is None else cls(cfg.max_signals_per_hour)

    def __init__(self, per_hour: int) -> None:
        if per_hour < 1:
            raise ValueError(f"max_signals_per_hour must be >= 1, got {per_hour}")
        self.per_hour = per_hour

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return keep_largest_buys(qty, ctx, self.per_hour - self.state.buys_this_hour)
