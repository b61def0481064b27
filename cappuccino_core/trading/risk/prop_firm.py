"""Prop-firm guardrails: a day loss of ``max_daily_loss`` (from the day's opening equity) flattens and halts
buys for the rest of the UTC day; a total loss of ``max_total_loss`` (from the initial equity) flattens and
halts for good."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import AccountState, StatefulRule, block_buys, flatten, risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class PropFirmGuard(StatefulRule):
    """A prop-firm account's limits: a daily loss limit (halted for the day) and a total loss limit
    (halted for good); a halted account is flattened and may not buy."""

    name = "prop_firm"
    stage = 10

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> PropFirmGuard | None:
        """The rule from the risk settings; ``None`` when it is off."""
        if cfg.prop_max_daily_loss is None and cfg.prop_max_total_loss is None:
            return None
        return cls(cfg.prop_max_daily_loss, cfg.prop_max_total_loss)

    def __init__(self, max_daily_loss: float | None, max_total_loss: float | None) -> None:
        for v in (max_daily_loss, max_total_loss):
            if v is not None and not 0 < v < 1:
                raise ValueError(f"prop-firm loss limits must be in (0, 1), got {v}")
        self.daily, self.total = max_daily_loss, max_total_loss

    def bind(self, state: AccountState) -> None:
        super().bind(state)
        self.day_halt = np.zeros(state.n, bool)
        self.dead = np.zeros(state.n, bool)

    def reset(self, idx: np.ndarray) -> None:
        self.day_halt[idx], self.dead[idx] = False, False

    def observe(self, ctx: OrderContext) -> None:
        s = self.state
        self.day_halt &= ~s.new_day
        if self.daily is not None:
            self.day_halt |= s.equity <= s.day_open_equity * (1.0 - self.daily)
        if self.total is not None:
            self.dead |= s.equity <= s.initial_equity * (1.0 - self.total)

    @property
    def halted(self) -> np.ndarray:
        """(N,) True for accounts halted for the day or for good."""
        return self.day_halt | self.dead

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        h = self.halted
        return block_buys(flatten(qty, ctx, h), h)
