"""Loss-streak cooldown: after ``streak`` consecutive losing sells, no buys for ``hours``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import (
    NS_PER_HOUR,
    AccountState,
    FillEvent,
    StatefulRule,
    block_buys,
    risk_rule,
)

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class LossStreakCooldown(StatefulRule):
    """After ``streak`` consecutive losing sells, no buys for ``hours`` (sells still pass)."""

    name = "loss_streak_cooldown"
    stage = 70

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> LossStreakCooldown | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return None if cfg.loss_streak is None else cls(cfg.loss_streak, cfg.cooldown_hours)

    def __init__(self, streak: int, hours: float) -> None:
        if streak < 1 or hours <= 0:
            raise ValueError(f"cooldown needs streak >= 1 and hours > 0, got {streak}, {hours}")
        self.streak, self.hours = streak, hours

    def bind(self, state: AccountState) -> None:
        super().bind(state)
        self.until = np.full(state.n, np.iinfo(np.int64).min, np.int64)

    def reset(self, idx: np.ndarray) -> None:
        self.until[idx] = np.iinfo(np.int64).min

    def cooling(self, time: np.ndarray) -> np.ndarray:
        """(N,) True for accounts still in their cooldown at bar times ``time`` (ns)."""
        return time < self.until

    def on_fill(self, fill: FillEvent, closed: np.ndarray, pnl: np.ndarray) -> None:
        s = self.state
        losses = (closed & (pnl < 0)).sum(axis=1)
        wins = (closed & (pnl >= 0)).sum(axis=1)
        s.loss_streak = np.where(wins > 0, losses, s.loss_streak + losses)
        hit = s.loss_streak >= self.streak
        self.until = np.where(hit, fill.time + int(self.hours * NS_PER_HOUR), self.until)
        s.loss_streak = np.where(hit, 0, s.loss_streak)

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return block_buys(qty, self.cooling(ctx.time))
