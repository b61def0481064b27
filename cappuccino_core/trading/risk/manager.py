"""The risk manager: the configured risk rules run in a fixed order behind the OrderRule interface.

The rules come from the registry (base.RISK_RULES, one file per rule in this package) and run by their
``stage``. Order (each step keeps what the earlier ones guaranteed, because later steps only cut buys or drop
orders under the minimum value):

1. forced exits: prop-firm guard and portfolio trailing stop (flatten + no buys), stop-loss, trailing stop,
   take profit (a partial sell);
2. buy blockers: daily loss limit, loss-streak cooldown;
3. sizing: max trade fraction, time-of-day size reduction (off unless configured), max position (exact
   after fees and slippage), min trade value;
4. counters: max trades per day, signal rate per hour (so that orders dropped above are not counted).

Use: ``rm.apply(qty, ctx)`` once per decision bar (it marks the state first), then ``rm.on_fill(...)`` with
what filled, ``rm.reset(idx)`` when accounts start over. The kernel and the live trader do the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cappuccino_core.common.registry import UnknownName
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.env.rules import OrderContext, OrderRule
from cappuccino_core.trading.risk.base import RISK_RULES, AccountState, FillEvent, StatefulRule


def rules_from_config(cfg: RiskConfig) -> list[OrderRule]:
    """The registered rules that the settings turn on, in stage order (ties by name).

    A built-in rule whose threshold is None is left out; a rule with its own settings runs when
    ``cfg.rules`` names it. A name in ``cfg.rules`` that no rule has is an error listing the known names.
    """
    unknown = sorted(set(cfg.rules) - set(RISK_RULES.names()))
    if unknown:
        known = ", ".join(RISK_RULES.names())
        raise UnknownName(f"risk.rules: unknown risk rule(s) {unknown}; known: {known}")
    entries = sorted(RISK_RULES.items(), key=lambda kv: (kv[1].stage, kv[0]))
    rules = [factory.from_config(cfg) for _, factory in entries]
    return [r for r in rules if r is not None]


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
        """The rules that keep state across bars (they share one :class:`AccountState`)."""
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
