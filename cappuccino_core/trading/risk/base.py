"""The risk rule interface and the per-account state the stateful rules read.

A risk rule is an :class:`~cappuccino_core.env.rules.OrderRule` (``apply(qty, ctx) -> qty`` on signed base
quantities (N, A)), so the kernel runs it in backtests and the trader live. Stateful rules also have

* ``observe(ctx, state)``: called once per decision bar before ``apply`` (marks, day roll-over);
* ``on_fill(fill, state)``: called with what actually filled (entry prices, counters, loss streaks);
* ``reset(idx)``: accounts ``idx`` start over (a new episode).

:class:`AccountState` holds what several rules need (entry prices, peaks, day-opening equity, counters), all
vectorised per account, updated by the :class:`~cappuccino_core.trading.risk.manager.RiskManager` only.

Rules are found by name in :data:`RISK_RULES`: every module of this package is imported on the first
lookup, and a class decorated with :func:`risk_rule` registers itself, so a new rule is one new file here.
Each rule says where it runs (``stage``: lower first) and builds itself from the risk settings
(``from_config``, ``None`` when it is off). The built-in rules read their thresholds from the flat fields of
:class:`~cappuccino_core.config.risk.RiskConfig`; a rule written the new way (:class:`ConfiguredRule`)
has its own settings model, read from ``risk.rules.<name>``, and is on when that entry is present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from cappuccino_core.common.registry import Registry
from cappuccino_core.env.rules import OrderContext, OrderRule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig

NS_PER_DAY = 86_400 * 10**9
NS_PER_HOUR = 3_600 * 10**9


@dataclass
class FillEvent:
    """What filled on one bar: (N, A) signed quantities, execution prices and fees (quote), (N,) times."""

    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    time: np.ndarray


@dataclass
class AccountState:
    """Vectorised per-account risk state. Shapes: (N,) or (N, A). Built on the first bar seen."""

    n: int
    a: int
    entry: np.ndarray = field(init=False)  # (N, A) average entry price (incl. buy fees), 0 when flat
    high: np.ndarray = field(init=False)  # (N, A) highest price since entry
    tp_done: np.ndarray = field(init=False)  # (N, A) take profit already taken for this position
    held: np.ndarray = field(init=False)  # (N, A) holdings the state last knew of
    initial_equity: np.ndarray = field(init=False)  # (N,) NaN until the first bar
    peak_equity: np.ndarray = field(init=False)
    day: np.ndarray = field(init=False)  # (N,) int64 UTC day number of the last bar seen, -1 before any
    day_open_equity: np.ndarray = field(init=False)
    hour: np.ndarray = field(init=False)
    trades_today: np.ndarray = field(init=False)  # (N,) filled orders (asset legs) this UTC day
    buys_this_hour: np.ndarray = field(init=False)
    loss_streak: np.ndarray = field(init=False)
    equity: np.ndarray = field(init=False)  # (N,) equity at the current bar
    new_day: np.ndarray = field(init=False)  # (N,) bool: the current bar opened a new UTC day

    def __post_init__(self) -> None:
        n, a = self.n, self.a
        self.entry, self.high = np.zeros((n, a)), np.zeros((n, a))
        self.tp_done, self.held = np.zeros((n, a), bool), np.zeros((n, a))
        self.initial_equity, self.peak_equity = np.full(n, np.nan), np.full(n, np.nan)
        self.day, self.hour = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        self.day_open_equity, self.equity = np.full(n, np.nan), np.full(n, np.nan)
        self.trades_today, self.buys_this_hour = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.loss_streak, self.new_day = np.zeros(n, np.int64), np.zeros(n, bool)

    def reset(self, idx: np.ndarray) -> None:
        """Reset accounts ``idx`` to a fresh state (no entries, peaks, marks, streaks or halts)."""
        fresh = AccountState(len(idx), self.a)
        for name in vars(fresh):
            if name not in ("n", "a"):
                getattr(self, name)[idx] = getattr(fresh, name)

    def observe(self, ctx: OrderContext) -> None:
        """Mark to the bar: positions changed outside fills, peaks, UTC day and hour roll-over."""
        h = ctx.holdings
        flat = h <= 0
        self.entry[flat], self.high[flat], self.tp_done[flat] = 0.0, 0.0, False
        # A position that appeared without a fill seen (restart, transfer): its entry is the current price.
        unknown = (h > 0) & (self.entry <= 0)
        self.entry[unknown] = ctx.prices[unknown]
        self.held = h.copy()
        self.high = np.where(h > 0, np.maximum(self.high, ctx.prices), 0.0)
        e = ctx.equity
        self.equity = e
        first = np.isnan(self.initial_equity)
        self.initial_equity[first] = e[first]
        self.peak_equity = np.where(first, e, np.fmax(self.peak_equity, e))
        day, hour = ctx.time // NS_PER_DAY, ctx.time // NS_PER_HOUR
        self.new_day = day != self.day
        self.day_open_equity = np.where(self.new_day, e, self.day_open_equity)
        self.trades_today = np.where(self.new_day, 0, self.trades_today)
        self.buys_this_hour = np.where(hour != self.hour, 0, self.buys_this_hour)
        self.day, self.hour = day, hour

    def on_fill(self, fill: FillEvent) -> list[np.ndarray]:
        """Update entries and counters; returns [sells (N, A) bool, their realised PnL (N, A)]."""
        q, p, fee = fill.qty, fill.price, fill.fee
        buy, sell = q > 0, q < 0
        before = self.held
        after = np.maximum(before + q, 0.0)
        cost = np.where(buy, q * p + fee, 0.0)
        new_entry = np.where(buy, (before * self.entry + cost) / np.where(after > 0, after, 1.0), self.entry)
        pnl = np.where(sell, -q * (p - self.entry) - fee, 0.0)
        self.entry = np.where(after > 0, new_entry, 0.0)
        self.high = np.where(after > 0, np.where(buy, np.maximum(self.high, p), self.high), 0.0)
        self.tp_done &= after > 0
        self.held = after
        self.trades_today = self.trades_today + (q != 0).sum(axis=1)
        self.buys_this_hour = self.buys_this_hour + buy.sum(axis=1)
        return [sell, pnl]


def flatten(qty: np.ndarray, ctx: OrderContext, where: np.ndarray) -> np.ndarray:
    """Orders with every long position sold in full where ``where`` ((N,) or (N, A) bool) holds.

    Dust (a position worth less than the minimum order value, e.g. what a buy's fee kept in kind leaves
    after a full sell) is left alone: no order can sell it (the minimum-value rule drops it), and putting
    that sell in place of the bar's order would block every later buy of the asset for as long as the dust
    sits below its stop (the rules that must also stop buys, e.g. the prop-firm guard, block them apart)."""
    if not where.any():
        return qty
    mask = where if where.ndim == 2 else np.broadcast_to(where[:, None], qty.shape)
    sellable = ctx.holdings * ctx.prices >= ctx.min_order_value
    return np.where(mask & (ctx.holdings > 0) & sellable, -ctx.holdings, qty)


def block_buys(qty: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Orders with buys dropped where ``where`` ((N,) or (N, A) bool) holds; sells untouched."""
    if not where.any():
        return qty
    mask = where if where.ndim == 2 else np.broadcast_to(where[:, None], qty.shape)
    return np.where(mask & (qty > 0), 0.0, qty)


def keep_largest_buys(qty: np.ndarray, ctx: OrderContext, allowed: np.ndarray) -> np.ndarray:
    """Orders with only the ``allowed`` ((N,) int) largest buys (by notional) per account kept."""
    if ((qty > 0).sum(axis=1) <= allowed).all():
        return qty
    notional = np.where(qty > 0, qty * ctx.prices, 0.0)
    rank = np.argsort(np.argsort(-notional, axis=1, kind="stable"), axis=1, kind="stable")
    return np.where((qty > 0) & (rank >= np.maximum(allowed, 0)[:, None]), 0.0, qty)


class StatefulRule:
    """Base of the rules that keep state: the manager binds the shared :class:`AccountState`."""

    name = "rule"
    state: AccountState

    def bind(self, state: AccountState) -> None:
        """Attach the shared account state this rule reads (and writes its own fields in)."""
        self.state = state

    def observe(self, ctx: OrderContext) -> None:
        """Called once per decision bar, after the shared state was marked and before ``apply``."""

    def on_fill(self, fill: FillEvent, closed: np.ndarray, pnl: np.ndarray) -> None:
        """Called with what filled; ``closed`` marks sells, ``pnl`` their realised PnL net of fees."""

    def reset(self, idx: np.ndarray) -> None:
        """Accounts ``idx`` start over."""


class RuleFactory(Protocol):
    """What :data:`RISK_RULES` holds: a rule class that knows its place and builds itself from settings."""

    name: str
    stage: int

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> OrderRule | None: ...


RISK_RULES: Registry[type[RuleFactory]] = Registry("risk rule", ("cappuccino_core.trading.risk",))

R = TypeVar("R")


def risk_rule(cls: R) -> R:
    """Class decorator: register the rule class under its ``name``."""
    RISK_RULES.add(cls.name, cls)  # type: ignore[attr-defined,arg-type]
    return cls


class RuleSettings(BaseModel):
    """Base of a rule's own settings model (``risk.rules.<name>``): unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


class ConfiguredRule:
    """A rule with its own settings model ``Settings``, read from ``risk.rules.<name>``.

    Subclasses set ``name``, ``stage`` and ``Settings`` and take the validated settings in ``__init__``.
    The rule is on when ``risk.rules`` has an entry for its name whose ``enabled`` is true.
    """

    name: ClassVar[str] = "configured_rule"
    stage: ClassVar[int] = 1000
    Settings: ClassVar[type[RuleSettings]] = RuleSettings

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> OrderRule | None:
        """The rule built from its settings under ``cfg.rules[name]``, or None when not configured; invalid
        settings raise naming the rule."""
        raw = cfg.rules.get(cls.name)
        if raw is None:
            return None
        try:
            settings = cls.Settings.model_validate(raw)
        except ValueError as e:
            raise ValueError(f"risk.rules.{cls.name}: {e}") from e
        return cls(settings) if settings.enabled else None

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """Return the orders this rule accepts."""
        raise NotImplementedError
