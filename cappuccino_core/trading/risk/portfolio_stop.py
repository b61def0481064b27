"""Portfolio trailing stop: equity ``distance`` below its peak flattens everything; no buys until the next
UTC day, when the peak restarts from that day's opening equity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import AccountState, StatefulRule, block_buys, flatten, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class PortfolioTrailingStop(StatefulRule):
    """Equity ``distance`` below its peak flattens everything; no buys until the next UTC day."""

    name = "portfolio_trailing_stop"
    stage = 20

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> PortfolioTrailingStop | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.portfolio_trailing_stop is None else cls(cfg.portfolio_trailing_stop)

    def __init__(self, distance: float) -> None:
        if not 0 < distance < 1:
            raise ValueError(f"portfolio_trailing_stop must be in (0, 1), got {distance}")
        self.distance = distance

    def bind(self, state: AccountState) -> None:
        super().bind(state)
        self.peak = np.full(state.n, np.nan)
        self.halted = np.zeros(state.n, bool)

    def reset(self, idx: np.ndarray) -> None:
        self.peak[idx], self.halted[idx] = np.nan, False

    def observe(self, ctx: OrderContext) -> None:
        s = self.state
        restart = np.isnan(self.peak) | (s.new_day & self.halted)
        self.halted &= ~s.new_day
        self.peak = np.where(restart, s.equity, np.maximum(self.peak, s.equity))
        self.halted |= s.equity <= self.peak * (1.0 - self.distance)

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return block_buys(flatten(qty, ctx, self.halted), self.halted)
