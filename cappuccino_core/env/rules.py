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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.fills import Fill, unit_cash

DEFAULT_LOT = 1e-8
# Relative safety margin on computed limits: absorbs floating-point rounding (~1e-16) so that the limits
# hold exactly when re-checked on the settled state. 1e-12 of equity is far below any lot or fee.
_EPS = 1e-12


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
        self.equity = self.cash + (self.holdings * self.prices).sum(axis=1)
        if self.buy_unit is None or self.sell_unit is None:
            self.buy_unit, self.sell_unit = unit_cash(self.prices, self.slippage, self.fee_rate)

    def settle(self, qty: np.ndarray) -> Fill:
        """What the state would be after ``qty`` filled: the arithmetic the kernel and broker apply."""
        assert self.buy_unit is not None and self.sell_unit is not None
        return Fill(
            qty,
            self.cash,
            self.holdings,
            self.prices,
            self.slippage,
            self.fee_rate,
            self.buy_unit,
            self.sell_unit,
        )

    @cached_property
    def unit_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, A) fee + slippage per unit bought, per unit sold (quote currency, at the reference price)."""
        assert self.buy_unit is not None and self.sell_unit is not None
        return self.buy_unit - self.prices, self.prices - self.sell_unit

    def equity_after(self, qty: np.ndarray) -> np.ndarray:
        """(N,) equity after ``qty`` filled: equity - fees - slippage (settle(qty).equity up to rounding)."""
        cost_buy, cost_sell = self.unit_costs
        return self.equity - (np.maximum(qty, 0.0) * cost_buy - np.minimum(qty, 0.0) * cost_sell).sum(axis=1)

    @cached_property
    def max_cost_rate(self) -> np.ndarray:
        """(N, A) upper bound on fee + slippage per unit of notional traded, either side."""
        return (1.0 + self.slippage) * (1.0 + self.fee_rate) - 1.0

    @cached_property
    def _min_qty(self) -> np.ndarray:
        """(N, A) smallest whole-lot quantity worth at least the minimum order value."""
        return np.ceil(self.min_order_value / self.prices / self.lot) * self.lot

    @cached_property
    def _exit_level(self) -> np.ndarray:
        """(N, A) a sell of at least this much (within half a lot of the holding) sells all of it."""
        return np.where(self.holdings > 0, self.holdings - 0.5 * self.lot, np.inf)

    @cached_property
    def sellable(self) -> np.ndarray:
        """(N, A) bool: the holding is worth at least the minimum order value (not dust)."""
        return self.holdings * self.prices >= self.min_order_value

    def legal_buy(self, qty: np.ndarray) -> np.ndarray:
        """Buy quantities (>= 0) rounded down to lots; those under the minimum order value become 0."""
        q = np.floor(qty / self.lot) * self.lot
        return np.where(q >= self._min_qty, q, 0.0)

    def legal_sell(self, qty: np.ndarray, position: np.ndarray | None = None) -> np.ndarray:
        """Sell quantities (>= 0) of at least ``qty`` out of ``position`` (default: the holdings): rounded
        up to lots and to the minimum order value, at most the position (then exactly all of it); 0 where
        nothing is asked or the position is dust (worth less than the minimum order value: no broker
        accepts that order). With ``position`` = a short's size, the same gives buys to cover it."""
        if position is None:
            position, exit_level, sellable = self.holdings, self._exit_level, self.sellable
        else:
            exit_level = np.where(position > 0, position - 0.5 * self.lot, np.inf)
            sellable = position * self.prices >= self.min_order_value
        q = np.maximum(np.ceil(qty / self.lot) * self.lot, self._min_qty)
        q = np.where(q >= exit_level, position, q)
        return np.where((qty > 0) & sellable, q, 0.0)

    def exits(self, qty: np.ndarray) -> np.ndarray:
        """(N, A) bool: sells within half a lot of the whole long position."""
        return -qty >= self._exit_level

    def full_exit(self, qty: np.ndarray) -> np.ndarray:
        """Sells within half a lot of the whole long position become exactly the whole position, so
        holdings end at exactly 0 (never -1e-17)."""
        return np.where(self.exits(qty), -self.holdings, qty)


@runtime_checkable
class OrderRule(Protocol):
    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """Return the orders this rule accepts (same shape; never mutates ``qty``)."""
        ...


class NoShort:
    """Spot accounts: a sell never exceeds the holding."""

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return np.maximum(qty, -np.maximum(ctx.holdings, 0.0))


class LotRounding:
    """Whole lots, rounded toward zero; a sell within half a lot of the whole position sells all of it."""

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return np.where(ctx.exits(qty), -ctx.holdings, np.trunc(qty / ctx.lot) * ctx.lot)


class MinOrderValue:
    """Orders whose notional at the reference price is under the minimum are dropped."""

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return np.where(np.abs(qty) * ctx.prices >= ctx.min_order_value, qty, 0.0)


@dataclass(frozen=True)
class CashReserve:
    """Cash after the step's fills >= ``reserve`` x equity after them (``reserve=0``: cash >= 0).

    Sells fill first and their proceeds count. If the buys do not fit, all buys are scaled by one factor
    (then rounded down to lots; those under the minimum dropped). If even without buys cash is below the
    reserve (prices of the holdings rose), every non-dust holding is sold pro rata to restore it.
    """

    reserve: float

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        r, p = self.reserve, ctx.prices
        assert ctx.buy_unit is not None and ctx.sell_unit is not None
        sells, buys = np.minimum(qty, 0.0), np.maximum(qty, 0.0)
        # Cash minus r x equity, after the fills: buying one unit changes it by -(buy_unit - r(buy_unit - p)),
        # selling one by +(sell_unit + r(p - sell_unit)). A small absolute margin absorbs rounding.
        per_buy = ctx.buy_unit - r * (ctx.buy_unit - p)
        per_sell = ctx.sell_unit + r * (p - ctx.sell_unit)
        room = ctx.cash - r * ctx.equity - (sells * per_sell).sum(axis=1) - _EPS * (np.abs(ctx.equity) + 1.0)
        need = (buys * per_buy).sum(axis=1)
        fits = need <= room
        if fits.all():
            return qty
        scale = np.clip(room / np.where(need > 0, need, 1.0), 0.0, 1.0)
        out = np.where(fits[:, None], qty, sells + ctx.legal_buy(buys * scale[:, None]))
        short = room < 0
        if not short.any():
            return out
        # Prices of the holdings rose: no buys, and every non-dust holding is sold pro rata so that the
        # extra proceeds cover the shortfall: fraction = -room / sum(held x per_sell).
        held = np.where(ctx.sellable, ctx.holdings + sells, 0.0)
        gain = (held * per_sell).sum(axis=1)
        frac = np.minimum(-room / np.where(gain > 0, gain, 1.0) * (1.0 + _EPS), 1.0)
        forced = -ctx.legal_sell(-sells + held * frac[:, None])
        return np.where(short[:, None], forced, out)


@dataclass(frozen=True)
class PositionCap:
    """|holding| x price <= ``cap`` x equity after the step's fills, for every asset.

    The equity after the fills depends on the orders (fees, slippage), and the orders on the cap. The rule
    solves for the equity E at which the cut positions (cap x E) and their costs agree (linear in E once
    it is known which cuts are buys and which are sells), cuts the orders there in whole lots, settles
    them, and accepts when the settled equity is at least E. Otherwise (lot and minimum-order rounding,
    more assets crossing the cap) it lowers E by a margin that covers that rounding and tries again,
    ending at a lower bound that always holds.
    """

    cap: float
    allow_short: bool = False

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        first = ctx.equity_after(qty)
        side = self._sides(qty, ctx, first)
        if not side.any():  # nothing beyond the cap at the equity the orders settle to
            return qty
        estimate = np.where(side.any(axis=1), self._solve(qty, ctx, first, side), first)
        for attempt in range(3):
            q = self._cut(qty, ctx, estimate)
            settled = ctx.equity_after(q)
            short = settled < estimate * (1.0 - 0.1 * _EPS)
            if not short.any() or attempt == 2:
                return q
            if attempt == 0:
                # Cutting deeper trades at most cap x n_assets x (the extra cut in equity) more notional,
                # plus one lot and one minimum order per asset of rounding, each at the max cost rate.
                k = ctx.max_cost_rate.max(axis=1)
                n = qty.shape[1]
                slack = (ctx.min_order_value + 2.0 * ctx.lot * ctx.prices).sum(axis=1)
                margin = (
                    k
                    * (self.cap * n * (estimate - settled) + slack)
                    / np.maximum(1.0 - k * self.cap * n, 0.5)
                )
                estimate = np.where(
                    short, np.maximum(settled - margin, self._lower_bound(qty, ctx)), estimate
                )
            else:
                estimate = np.where(short, self._lower_bound(qty, ctx), estimate)
        return q

    def _limit(self, ctx: OrderContext, equity: np.ndarray) -> np.ndarray:
        return (self.cap * (1.0 - _EPS)) * np.maximum(equity, 0.0)[:, None] / ctx.prices

    def _sides(self, qty: np.ndarray, ctx: OrderContext, equity: np.ndarray) -> np.ndarray:
        """(N, A) +1 where the position would end above +cap x ``equity``, -1 below -cap x it, else 0."""
        limit = self._limit(ctx, equity)
        pos = ctx.holdings + qty
        side = (pos > limit).astype(np.float64)
        if self.allow_short:
            side -= pos < -limit
        return side

    def _solve(self, qty: np.ndarray, ctx: OrderContext, equity: np.ndarray, side: np.ndarray) -> np.ndarray:
        """E with E = equity before - costs of the uncut orders - costs of moving each cut asset to the
        position side x cap x E / p, at cost_buy per unit bought and cost_sell per unit sold (whether a
        cut buys or sells is read at ``equity``). Linear in E:
        E (1 + cap x sum(c x side / p)) = equity before - uncut costs + sum(c x holding), c = +cost_buy for
        a cut that buys, -cost_sell for one that sells, 0 for an uncut asset."""
        cost_buy, cost_sell = ctx.unit_costs
        h, p = ctx.holdings, ctx.prices
        value = h * p
        uncut = np.where(side == 0.0, qty, 0.0)
        uncut_cost = (np.maximum(uncut, 0.0) * cost_buy - np.minimum(uncut, 0.0) * cost_sell).sum(axis=1)
        buying = side * (self.cap * equity)[:, None] > value
        c = np.where(side == 0.0, 0.0, np.where(buying, cost_buy, -cost_sell))
        slope = 1.0 + self.cap * (c * side / p).sum(axis=1)
        solved = (ctx.equity - uncut_cost + (c * h).sum(axis=1)) / slope
        # A forced cut (selling down a long, covering a short: the position is already beyond the cap) is
        # rounded up, by up to a lot, and to the minimum order value when it is smaller: it costs a little
        # more than solved for; leave room for that. A cut of a new order is rounded toward zero: cheaper.
        beyond = side * value - self.cap * equity[:, None]
        extra = 2.0 * ctx.lot * p + np.where(beyond < ctx.min_order_value, ctx.min_order_value, 0.0)
        rounding = np.where((side != 0.0) & (beyond > 0.0), ctx.max_cost_rate * extra, 0.0).sum(axis=1)
        return solved - rounding

    def _lower_bound(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        """Equity after fills that any cut of ``qty`` reaches: the cut never trades more than
        max(|qty|, |holding|) of an asset, so costs are at most the max cost rate on |qty| + |holding|."""
        turnover = (ctx.max_cost_rate * (np.abs(qty) + np.abs(ctx.holdings)) * ctx.prices).sum(axis=1)
        return np.maximum(ctx.equity * (1.0 - _EPS) - turnover * (1.0 + 1e-9), 0.0)

    def _cut(self, qty: np.ndarray, ctx: OrderContext, equity: np.ndarray) -> np.ndarray:
        """Orders cut so that every position ends within +-cap x ``equity``, in whole lots."""
        limit = self._limit(ctx, equity)
        h = ctx.holdings
        pos = h + qty
        room = limit - h  # > 0: the buy that reaches the cap; < 0: the sell that brings it back
        cut = np.where(
            room >= 0, ctx.legal_buy(np.maximum(room, 0.0)), -ctx.legal_sell(np.maximum(-room, 0.0))
        )
        q = np.where(pos > limit, cut, qty)
        if self.allow_short:  # the mirror image
            room = limit + h  # > 0: the short sale that reaches the cap; < 0: the cover that brings it back
            cover = ctx.legal_sell(np.maximum(-room, 0.0), np.maximum(-h, 0.0))
            cut = np.where(room >= 0, -ctx.legal_buy(np.maximum(room, 0.0)), cover)
            q = np.where(pos < -limit, cut, q)
        return q


def default_rules(env: EnvConfig, risk: list[OrderRule] | None = None) -> list[OrderRule]:
    """The rule list every consumer uses (see the module docstring for the order).

    ``risk``: more rules (the risk manager's) placed after the minimum-order rule and before the cash
    reserve and position cap, so that whatever they cut or sell, the last two still hold exactly.
    """
    rules: list[OrderRule] = [] if env.allow_short else [NoShort()]
    rules += [LotRounding(), MinOrderValue(), *(risk or [])]
    rules += [CashReserve(env.cash_reserve), PositionCap(env.position_cap, allow_short=env.allow_short)]
    return rules


def apply_rules(rules: list[OrderRule], qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
    for rule in rules:
        qty = rule.apply(qty, ctx)
    return qty


def lot_sizes(tickers: tuple[str, ...] | list[str], env: EnvConfig) -> np.ndarray:
    """(A,) lot size per ticker from EnvConfig.lot_size, default 1e-8."""
    return np.array([float(env.lot_size.get(t, DEFAULT_LOT)) for t in tickers], dtype=np.float64)
