"""Take profit: once per position, at ``gain`` over the average entry price, sell ``fraction`` of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import FillEvent, StatefulRule, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class TakeProfit(StatefulRule):
    """Once per position, at ``gain`` over the average entry price, sell ``fraction`` of it."""

    name = "take_profit"
    stage = 50

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> TakeProfit | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.take_profit is None else cls(cfg.take_profit, cfg.take_profit_fraction)

    def __init__(self, gain: float, fraction: float) -> None:
        if gain <= 0 or not 0 < fraction <= 1:
            raise ValueError(f"take_profit needs gain > 0 and fraction in (0, 1], got {gain}, {fraction}")
        self.gain, self.fraction = gain, fraction
        self._asked: np.ndarray | None = None

    def triggered(self, ctx: OrderContext) -> np.ndarray:
        """(N, A) True where a held position reached entry * (1 + gain) and has not taken profit yet."""
        s = self.state
        return (ctx.holdings > 0) & (s.entry > 0) & ~s.tp_done & (ctx.prices >= s.entry * (1.0 + self.gain))

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        hit = self.triggered(ctx)
        self._asked = hit
        if not hit.any():
            return qty
        sell = ctx.legal_sell(np.where(hit, self.fraction * ctx.holdings, 0.0))
        return np.where(hit, np.minimum(qty, -sell), qty)

    def on_fill(self, fill: FillEvent, closed: np.ndarray, pnl: np.ndarray) -> None:
        if self._asked is not None:
            self.state.tp_done |= self._asked & closed & (self.state.held > 0)
