"""Order rules: constraints applied to ORDERS, in the units the broker sees.

An order is a signed quantity of base asset (> 0 buy, < 0 sell); a batch of orders has shape (N, A):
N accounts (episodes in training and backtests, one account live) by A assets. Every rule has one method,

    apply(qty, ctx) -> qty

that returns orders the rule accepts, given an :class:`OrderContext` (prices, cash, holdings, equity,
fees, slippage, lot sizes, minimum order value, bar time). The kernel (training, backtest, stress, arena)
and the live trader run the same list, so a limit that holds in a backtest holds live. More rules (the risk
manager's stop-loss, daily loss, trades per day, ...) implement the same interface.

The default list (:func:`default_rules`) runs in this order, each step keeping what the earlier ones
guaranteed:

1. :class:`NoShort`        sells never exceed holdings (left out when ``allow_short``).
2. :class:`LotRounding`    quantities become whole lots, toward zero; a sell of (almost) the whole
                           position becomes exactly the whole position.
3. :class:`MinOrderValue`  orders under the minimum notional are dropped.
   (risk rules)            ``default_rules(env, risk=[...])`` puts the risk manager's rules here.
4. :class:`CashReserve`    after fees and slippage, cash >= cash_reserve x equity: buys are scaled down
                           (sell proceeds count), and when price moves already took cash below the reserve,
                           holdings are sold pro rata to restore it. With a reserve of 0 this is "cash >= 0".
5. :class:`PositionCap`    after fees and slippage, |holding| x price <= position_cap x equity for each
                           asset: buys are cut and positions that drifted above the cap are sold down.

Rules 4 and 5 only ever cut buys or add sells, which never breaks what an earlier rule guaranteed; the
orders they change come out in whole lots and above the minimum order value. A rule added after them
must only cut buys (a sale costs fees, which lowers equity and so every other asset's cap). With
``allow_short`` the cap holds on |position|; the reserve is exact for long-only accounts (covering a short
that breached the cap spends cash). The limits hold exactly
(no tolerance) after rounding, fees and slippage, marked at the bar's reference price, with one exception
the broker imposes: a position worth less than the minimum order value ("dust") cannot be sold, so a
limit that only selling dust could restore stays violated until prices move. Property tests
(tests/property/test_kernel_invariants.py) hold all of this for any action sequence.

The arithmetic of every rule here is compiled (order_math.py, one account row at a time); the classes
below are the interface, and the kernel's fused step (step_fused.py) calls the same row functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env import order_batch as ob
from cappuccino_core.env.fills import FillBatch, unit_cash

DEFAULT_LOT = 1e-8


def _f64(x: np.ndarray) -> np.ndarray:
    """C-contiguous float64 (no copy when it already is): the one layout the compiled functions take."""
    return np.ascontiguousarray(x, dtype=np.float64)


@dataclass
class OrderContext:
    """What a rule may look at. Arrays are per account (N,) or per account and asset (N, A)."""

    prices: np.ndarray  # (N, A) reference prices orders fill at before slippage
    cash: np.ndarray  # (N,)
    holdings: np.ndarray  # (N, A) base-asset quantities
    slippage: np.ndarray  # (N, A) slippage fraction of a fill
    fee_rate: float
    lot: np.ndarray  # (A,) quantity increment per asset
    min_order_value: float  # quote currency, at the reference price
    time: np.ndarray  # (N,) int64 ns, bar open time of the decision bar
    # Cash paid per unit bought / received per unit sold (fills.unit_cash); computed when not given.
    buy_unit: np.ndarray | None = None
    sell_unit: np.ndarray | None = None
    equity: np.ndarray = field(init=False)  # (N,) cash + holdings x prices, before the orders

    def __post_init__(self) -> None:
        self.prices, self.holdings = _f64(self.prices), _f64(self.holdings)
        self.cash, self.slippage, self.lot = _f64(self.cash), _f64(self.slippage), _f64(self.lot)
        self.fee_rate, self.min_order_value = float(self.fee_rate), float(self.min_order_value)
        if self.buy_unit is None or self.sell_unit is None:
            self.buy_unit, self.sell_unit = unit_cash(self.prices, self.slippage, self.fee_rate)
        self.buy_unit, self.sell_unit = _f64(self.buy_unit), _f64(self.sell_unit)
        self.equity = ob.mark_batch(self.cash, self.holdings, self.prices)

    @property
    def units(self) -> tuple[np.ndarray, np.ndarray]:
        """(buy unit cost, sell unit proceeds) per asset; set once the fill model priced the bar."""
        assert self.buy_unit is not None and self.sell_unit is not None
        return self.buy_unit, self.sell_unit

    def settle(self, qty: np.ndarray) -> FillBatch:
        """What the state would be after ``qty`` filled: the arithmetic the kernel and broker apply."""
        buy_unit, sell_unit = self.units
        return FillBatch(
            qty, self.cash, self.holdings, self.prices, self.slippage, self.fee_rate, buy_unit, sell_unit
        )

    def legal_buy(self, qty: np.ndarray) -> np.ndarray:
        """Buy quantities (>= 0) rounded down to lots; those under the minimum order value become 0."""
        return ob.legal_buy_batch(_f64(qty), self.prices, self.lot, self.min_order_value)

    def legal_sell(self, qty: np.ndarray, position: np.ndarray | None = None) -> np.ndarray:
        """Sell quantities (>= 0) of at least ``qty`` out of ``position`` (default: the holdings): rounded
        up to lots and to the minimum order value, at most the position (then exactly all of it); 0 where
        nothing is asked or the position is dust (worth less than the minimum order value: no broker
        accepts that order). With ``position`` = a short's size, the same gives buys to cover it."""
        pos = self.holdings if position is None else _f64(position)
        return ob.legal_sell_batch(_f64(qty), pos, self.prices, self.lot, self.min_order_value)


@runtime_checkable
class OrderRule(Protocol):
    """An order rule: takes the desired (N, A) order quantities and returns the ones it accepts."""

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """Return the orders this rule accepts (same shape; never mutates ``qty``)."""
        ...


class NoShort:
    """Spot accounts: a sell never exceeds the holding."""

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """The orders with every sell cut to at most the holding."""
        out = np.array(qty, dtype=np.float64)
        ob.no_short_batch(out, ctx.holdings)
        return out


class LotRounding:
    """Whole lots, rounded toward zero; a sell within half a lot of the whole position sells all of it."""

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """The orders rounded toward zero to whole lots (a sell within half a lot of the position sells all
        of it)."""
        out = np.array(qty, dtype=np.float64)
        ob.lot_rounding_batch(out, ctx.holdings, ctx.lot)
        return out


class MinOrderValue:
    """Orders whose notional at the reference price is under the minimum are dropped."""

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """The orders with those under the minimum notional (at the reference price) set to 0."""
        out = np.array(qty, dtype=np.float64)
        ob.min_order_batch(out, ctx.prices, ctx.min_order_value)
        return out


@dataclass(frozen=True)
class CashReserve:
    """Cash after the step's fills >= ``reserve`` x equity after them (``reserve=0``: cash >= 0).

    Sells fill first and their proceeds count. If the buys do not fit over ``reserve + band``, all buys are
    scaled by one factor (then rounded down to lots; those under the minimum dropped). If even without buys
    cash is below ``reserve`` (prices of the holdings rose), every non-dust holding is sold pro rata to
    restore ``reserve + band``: the band keeps price drift from forcing a sale every bar.
    (order_math.cash_reserve_row)
    """

    reserve: float
    band: float = 0.0  # hysteresis: buys stop at reserve + band, forced sells restore reserve + band

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """The orders with buys scaled down (and holdings sold pro rata if needed) so cash stays >=
        ``reserve`` x equity after the fills."""
        out = np.array(qty, dtype=np.float64)
        bu, su = ctx.units
        ob.cash_reserve_batch(
            out, ctx.prices, ctx.holdings, bu, su, ctx.lot, ctx.cash, ctx.equity, ctx.min_order_value,
            float(self.reserve), float(self.band),
        )  # fmt: skip
        return out


@dataclass(frozen=True)
class PositionCap:
    """|holding| x price <= ``cap`` x equity after the step's fills, for every asset.

    The equity after the fills depends on the orders (fees, slippage), and the orders on the cap. The rule
    solves for the equity E at which the cut positions (cap x E) and their costs agree (linear in E once
    it is known which cuts are buys and which are sells), cuts the orders there in whole lots, settles
    them, and accepts when the settled equity is at least E. Otherwise (lot and minimum-order rounding,
    more assets crossing the cap) it lowers E by a margin that covers that rounding and tries again,
    ending at a lower bound that always holds. (order_math.position_cap_row)
    """

    cap: float
    allow_short: bool = False

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """The orders cut so every asset's position value stays <= ``cap`` x equity after the fills."""
        out = np.array(qty, dtype=np.float64)
        bu, su = ctx.units
        ob.position_cap_batch(
            out, ctx.prices, ctx.holdings, bu, su, ctx.slippage, ctx.lot, ctx.equity, ctx.fee_rate,
            ctx.min_order_value, float(self.cap), bool(self.allow_short),
        )  # fmt: skip
        return out


def default_rules(env: EnvConfig, risk: list[OrderRule] | None = None) -> list[OrderRule]:
    """The rule list every consumer uses (see the module docstring for the order).

    ``risk``: more rules (the risk manager's) placed after the minimum-order rule and before the cash
    reserve and position cap, so that whatever they cut or sell, the last two still hold exactly.
    """
    rules: list[OrderRule] = [] if env.allow_short else [NoShort()]
    rules += [LotRounding(), MinOrderValue(), *(risk or [])]
    rules += [
        CashReserve(env.cash_reserve, env.rebalance_band),
        PositionCap(env.position_cap, allow_short=env.allow_short),
    ]
    return rules


def apply_rules(rules: list[OrderRule], qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
    """Apply ``rules`` in order, each to the previous one's output."""
    for rule in rules:
        qty = rule.apply(qty, ctx)
    return qty


def lot_sizes(tickers: tuple[str, ...] | list[str], env: EnvConfig) -> np.ndarray:
    """(A,) lot size per ticker from EnvConfig.lot_size, default 1e-8."""
    return np.array([float(env.lot_size.get(t, DEFAULT_LOT)) for t in tickers], dtype=np.float64)
