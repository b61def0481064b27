"""The risk manager: the configured risk rules run in a fixed order behind the OrderRule interface.

Order (each step keeps what the earlier ones guaranteed, because later steps only cut buys or drop orders
under the minimum value):

1. forced exits: prop-firm guard and portfolio trailing stop (flatten + no buys), stop-loss, trailing stop,
   take profit (a partial sell);
2. buy blockers: daily loss limit, loss-streak cooldown;
3. sizing: max trade fraction, max position (exact after fees and slippage), min trade value;
4. counters: max trades per day, signal rate per hour (so that orders dropped above are not counted).

Use: ``rm.apply(qty, ctx)`` once per decision bar (it marks the state first), then ``rm.on_fill(...)`` with
what filled, ``rm.reset(idx)`` when accounts start over. The kernel and the live trader do the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.env.rules import OrderContext, OrderRule
from cappuccino_core.trading.risk.base import AccountState, FillEvent, StatefulRule
from cappuccino_core.trading.risk.cooldown import LossStreakCooldown
from cappuccino_core.trading.risk.daily_loss import DailyLossLimit
from cappuccino_core.trading.risk.min_trade import MinTradeValue
from cappuccino_core.trading.risk.portfolio_stop import PortfolioTrailingStop
from cappuccino_core.trading.risk.position import MaxPosition
from cappuccino_core.trading.risk.prop_firm import PropFirmGuard
from cappuccino_core.trading.risk.signal_rate import SignalRateLimit
from cappuccino_core.trading.risk.stop_loss import StopLoss
from cappuccino_core.trading.risk.take_profit import TakeProfit
from cappuccino_core.trading.risk.trade_count import MaxTradesPerDay
from cappuccino_core.trading.risk.trade_size import MaxTradeFraction
from cappuccino_core.trading.risk.trailing_stop import TrailingStop


def rules_from_config(cfg: RiskConfig) -> list[OrderRule]:
    """The configured rules in the manager's order; a rule whose threshold is None is left out."""
    rules: list[OrderRule] = []
    if cfg.prop_max_daily_loss is not None or cfg.prop_max_total_loss is not None:
        rules.append(PropFirmGuard(cfg.prop_max_daily_loss, cfg.prop_max_total_loss))
    if cfg.portfolio_trailing_stop is not None:
        rules.append(PortfolioTrailingStop(cfg.portfolio_trailing_stop))
    if cfg.stop_loss is not None:
        rules.append(StopLoss(cfg.stop_loss))
    if cfg.trailing_stop is not None:
        rules.append(TrailingStop(cfg.trailing_stop))
    if cfg.take_profit is not None:
        rules.append(TakeProfit(cfg.take_profit, cfg.take_profit_fraction))
    if cfg.daily_loss_limit is not None:
        rules.append(DailyLossLimit(cfg.daily_loss_limit))
    if cfg.loss_streak is not None:
        rules.append(LossStreakCooldown(cfg.loss_streak, cfg.cooldown_hours))
    if cfg.max_trade_fraction is not None:
        rules.append(MaxTradeFraction(cfg.max_trade_fraction))
    rules += [MaxPosition(cfg.max_position_fraction), MinTradeValue(cfg.min_trade_value)]
    if cfg.max_trades_per_day is not None:
        rules.append(MaxTradesPerDay(cfg.max_trades_per_day))
    if cfg.max_signals_per_hour is not None:
        rules.append(SignalRateLimit(cfg.max_signals_per_hour))
    return rules


class RiskManager:
    """An OrderRule made of risk rules, with the per-account state they share."""

    def __init__(self, rules: Sequence[OrderRule]) -> None:
        self.rules = list(rules)
        self.state: AccountState | None = None
        self._last_time: np.ndarray | None = None

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> RiskManager:
        return cls(rules_from_config(cfg))

    @property
    def stateful(self) -> list[StatefulRule]:
        return [r for r in self.rules if isinstance(r, StatefulRule)]

    def _ensure(self, ctx: OrderContext) -> AccountState:
        n, a = ctx.holdings.shape
        if self.state is None or (self.state.n, self.state.a) != (n, a):
            self.state = AccountState(n, a)
            for r in self.stateful:
                r.bind(self.state)
        return self.state

    def observe(self, ctx: OrderContext) -> None:
        """Mark the state to this bar (done by ``apply``; once per bar even if ``apply`` is called again)."""
        state = self._ensure(ctx)
        if self._last_time is not None and np.array_equal(self._last_time, ctx.time):
            return
        state.observe(ctx)
        for r in self.stateful:
            r.observe(ctx)
        self._last_time = np.array(ctx.time, copy=True)

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        self.observe(ctx)
        for rule in self.rules:
            qty = rule.apply(qty, ctx)
        return qty

    def on_fill(self, qty: np.ndarray, price: np.ndarray, fee: np.ndarray, time: np.ndarray) -> None:
        """What filled: (N, A) signed quantities, execution prices, fees (quote); (N,) int64 ns times."""
        if self.state is None:
            raise RuntimeError("on_fill before any apply: the risk state has no shape yet")
        fill = FillEvent(
            np.asarray(qty, float), np.asarray(price, float), np.asarray(fee, float), np.asarray(time)
        )
        closed, pnl = self.state.on_fill(fill)
        for r in self.stateful:
            r.on_fill(fill, closed, pnl)

    def reset(self, idx: np.ndarray | None = None) -> None:
        if self.state is None:
            return
        idx = np.arange(self.state.n) if idx is None else np.asarray(idx, dtype=np.int64)
        self.state.reset(idx)
        for r in self.stateful:
            r.reset(idx)
        self._last_time = None

    def status(self) -> dict[str, list[bool]]:
        """Which accounts each halting rule blocks now (for logs and reports)."""
        out: dict[str, list[bool]] = {}
        for r in self.stateful:
            halted = getattr(r, "halted", None)
            if halted is not None:
                out[r.name] = [bool(x) for x in np.asarray(halted)]
        return out
