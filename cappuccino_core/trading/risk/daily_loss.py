"""Daily loss limit: equity ``limit`` below the UTC day's opening equity: no buys for the rest of the day."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import AccountState, StatefulRule, block_buys, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class DailyLossLimit(StatefulRule):
    """Equity ``limit`` below the UTC day's opening equity: no buys for the rest of the day."""

    name = "daily_loss_limit"
    stage = 60

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> DailyLossLimit | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.daily_loss_limit is None else cls(cfg.daily_loss_limit)

    def __init__(self, limit: float) -> None:
        if not 0 < limit < 1:
            raise ValueError(f"daily_loss_limit must be in (0, 1), got {limit}")
        self.limit = limit

    def bind(self, state: AccountState) -> None:
        super().bind(state)
        self.halted = np.zeros(state.n, bool)

    def reset(self, idx: np.ndarray) -> None:
        self.halted[idx] = False

    def observe(self, ctx: OrderContext) -> None:
        s = self.state
        self.halted = (self.halted & ~s.new_day) | (s.equity <= s.day_open_equity * (1.0 - self.limit))

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return block_buys(qty, self.halted)
