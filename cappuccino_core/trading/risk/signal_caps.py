"""Signal caps: at most ``per_hour`` acted-on buys per UTC clock hour, of which at most ``high_per_hour``
of the high tier (the largest buys by notional are kept). Exits are never blocked.

Reads the tier of each buy from the :class:`~cappuccino_core.supervised.signals.SignalBoard`; counts what
filled (``on_fill``). Defaults: ``[gates].supervised_max_signals_per_hour`` (10) and
``supervised_max_high_tier_per_hour`` (5).
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.supervised.signals import TIER_HIGH, SignalBoard
from cappuccino_core.trading.risk.base import NS_PER_HOUR, FillEvent, StatefulRule, keep_largest_buys


class SignalCaps(StatefulRule):
    name = "signal_caps"

    def __init__(self, board: SignalBoard, per_hour: int = 10, high_per_hour: int = 5) -> None:
        if per_hour < 1 or high_per_hour < 1:
            raise ValueError(f"signal caps must be >= 1, got {per_hour} and {high_per_hour}")
        self.board, self.per_hour, self.high_per_hour = board, per_hour, high_per_hour
        self.high_count: np.ndarray | None = None
        self.hour: np.ndarray | None = None

    def observe(self, ctx: OrderContext) -> None:
        hour = ctx.time // NS_PER_HOUR
        if self.high_count is None or self.hour is None or self.high_count.shape != hour.shape:
            self.high_count, self.hour = np.zeros(hour.shape, np.int64), hour.copy()
        self.high_count = np.where(hour != self.hour, 0, self.high_count)
        self.hour = hour

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        out = keep_largest_buys(qty, ctx, self.per_hour - self.state.buys_this_hour)
        high = self.board.tier_for(qty.shape) == TIER_HIGH
        used = self.high_count if self.high_count is not None else np.zeros(qty.shape[0], np.int64)
        hi = keep_largest_buys(np.where(high, out, 0.0), ctx, self.high_per_hour - used)
        return np.where(high & (out > 0), hi, out)

    def on_fill(self, fill: FillEvent, closed: np.ndarray, pnl: np.ndarray) -> None:
        if self.high_count is None:
            return
        high = self.board.tier_for(fill.qty.shape) == TIER_HIGH
        self.high_count = self.high_count + ((fill.qty > 0) & high).sum(axis=1)

    def reset(self, idx: np.ndarray) -> None:
        if self.high_count is not None:
            self.high_count[idx] = 0
