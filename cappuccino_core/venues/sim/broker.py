"""``sim``: an in-process broker that fills with the step kernel's cost model (env.fills.settle), for
backtests, the arena and offline runs.

Market orders fill at once at the reference price moved by the kernel's slippage, paying the model's fee
rate (the same arithmetic as training and backtests). Limit orders that the reference price already
crosses fill the same way (a crossing post-only order is rejected with INVALID_LIMIT_PRICE_POST_ONLY);
others rest until :meth:`SimBroker.on_bar` sees a bar trade through them and then fill at their limit
price (no slippage, same fee rate, liquidity MAKER). No shorting, no credit."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.env.fills import CostModel, settle
from cappuccino_core.trading.brokers.base import (
    Account,
    Fill,
    Liquidity,
    Order,
    OrderType,
    Position,
    Quote,
    Side,
    TimeInForce,
)

POST_ONLY_REJECT = "INVALID_LIMIT_PRICE_POST_ONLY"


def _sym(asset: str) -> str:
    """Canonical ``BASE/QUOTE`` when the name parses; a bare ticker (``"BTC"``) is kept as given."""
    try:
        return str(parse_symbol(asset))
    except ValueError:
        if not asset or not asset.replace("_", "").isalnum():
            raise ValueError(f"sim broker: bad asset name {asset!r}") from None
        return asset


class SimBroker:
    """An in-process broker filling at the bar's prices with the training kernel's cost model (fees, slippage,
    spread); :meth:`on_bar` moves its clock and prices and fills resting limits the bar trades through."""

    execution_ids = True  # fills() carries a trade id per execution
    fee_in_kind = False  # fees are charged in the quote currency

    def __init__(
        self, costs: CostsConfig | CostModel, cash: float, *, spread_bps: float = 0.0, name: str = "sim"
    ) -> None:
        if cash < 0 or spread_bps < 0:
            raise ValueError(f"sim broker needs cash >= 0 and spread_bps >= 0; got {cash}, {spread_bps}")
        self.model = costs if isinstance(costs, CostModel) else CostModel.from_config(costs)
        self.fee_rate, self.name, self.spread_bps = self.model.fee_rate, name, spread_bps
        self._cash = float(cash)
        self._pos: dict[str, float] = {}
        self._basis: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._vol: dict[str, float] = {}
        self._orders: dict[str, Order] = {}
        self._by_id: dict[str, str] = {}
        self._fills: list[Fill] = []
        self._seq = itertools.count(1)
        # Each sim is its own account: its order (and so trade) ids carry an instance token, so two sims
        # recording into one state store never share a venue trade id.
        self._instance = secrets.token_hex(4)
        self.account_id = f"{name}:{self._instance}"
        self.now: datetime = datetime.now(UTC)

    # ------------------------------------------------------------------ market state
    def on_bar(
        self,
        time: datetime,
        close: dict[str, float],
        high: dict[str, float] | None = None,
        low: dict[str, float] | None = None,
        volatility: dict[str, float] | None = None,
    ) -> list[Fill]:
        """A closed bar: new reference prices (and volatility for slippage); resting limits it trades
        through fill. Returns the new fills."""
        self.now = time
        self._last.update({_sym(a): float(p) for a, p in close.items()})
        self._vol.update({_sym(a): float(v) for a, v in (volatility or {}).items()})
        new: list[Fill] = []
        for coid, o in list(self._orders.items()):
            if not o.is_live or o.limit_price is None:
                continue
            hi = (high or close).get(o.asset, close.get(o.asset))
            lo = (low or close).get(o.asset, close.get(o.asset))
            if hi is None or lo is None:
                continue
            if (o.side == "buy" and lo <= o.limit_price) or (o.side == "sell" and hi >= o.limit_price):
                new.extend(self._fill(coid, o.remaining, o.limit_price, 0.0, "MAKER"))
        return new

    def best_bid_ask(self, assets: list[str]) -> dict[str, Quote]:
        out = {}
        for a in assets:
            s = _sym(a)
            p = self._price(s)
            half = p * self.spread_bps / 2e4
            out[s] = Quote(s, p - half, p + half, float("inf"), float("inf"), self.now)
        return out

    def _price(self, asset: str) -> float:
        if asset not in self._last:
            raise KeyError(f"sim broker has no price for {asset} yet (call on_bar or pass price to submit)")
        return self._last[asset]

    # ------------------------------------------------------------------ account
    def cash(self) -> float:
        return self._cash

    def positions(self) -> dict[str, float]:
        return {a: q for a, q in self._pos.items() if q != 0.0}

    def position_details(self) -> list[Position]:
        return [
            Position(a, q, self._basis.get(a, 0.0) / q if q else 0.0, q * self._last.get(a, 0.0))
            for a, q in self.positions().items()
        ]

    def account(self) -> Account:
        equity = self._cash + sum(q * self._last.get(a, 0.0) for a, q in self._pos.items())
        return Account(self._cash, equity, "USD", self.fee_rate, self.fee_rate)

    # ------------------------------------------------------------------ orders
    def submit(
        self,
        client_order_id: str,
        asset: str,
        side: str,
        qty: float,
        price: float,
        *,
        order_type: OrderType = "market",
        limit_price: float | None = None,
        time_in_force: TimeInForce = "gtc",
        post_only: bool = False,
    ) -> Order:
        if client_order_id in self._orders:
            return self._orders[client_order_id]
        if side not in ("buy", "sell") or qty <= 0 or price <= 0 or not np.isfinite(qty * price):
            raise ValueError(f"order {client_order_id}: bad side/qty/price {side!r}, {qty}, {price}")
        if order_type == "limit" and (limit_price is None or limit_price <= 0):
            raise ValueError(
                f"order {client_order_id}: a limit order needs limit_price > 0, got {limit_price}"
            )
        s: Side = "buy" if side == "buy" else "sell"
        sym = _sym(asset)
        self._last[sym] = float(price)
        o = Order(
            client_order_id,
            sym,
            s,
            float(qty),
            "open",
            order_type,
            limit_price,
            time_in_force,
            post_only,
            broker_order_id=f"sim-{self._instance}-{next(self._seq):08d}",
            time=self.now,
        )
        self._orders[client_order_id], self._by_id[o.broker_order_id or ""] = o, client_order_id
        crosses = order_type == "market" or (
            limit_price is not None and (limit_price >= price if s == "buy" else limit_price <= price)
        )
        if crosses and post_only:
            return self._set(client_order_id, status="rejected", reason=POST_ONLY_REJECT)
        if not crosses:
            return self._set(client_order_id, status="canceled") if time_in_force == "ioc" else o
        slip = float(self.model.slippage(np.asarray(self._vol.get(sym, 0.0))))
        if limit_price is not None and (
            price * (1 + slip) > limit_price if s == "buy" else price * (1 - slip) < limit_price
        ):
            slip = abs(limit_price / price - 1.0)  # the limit caps the slippage
        reason = self._unaffordable(sym, s, qty, price, slip)
        if reason:
            return self._set(client_order_id, status="rejected", reason=reason)
        self._fill(client_order_id, qty, price, slip, "TAKER" if self.model.liquidity == "taker" else "MAKER")
        return self._orders[client_order_id]

    def _unaffordable(self, sym: str, side: Side, qty: float, price: float, slip: float) -> str | None:
        if side == "sell" and qty > self._pos.get(sym, 0.0) * (1 + 1e-12):
            return f"INSUFFICIENT_FUND: sell {qty} > held {self._pos.get(sym, 0.0)}"
        if side == "buy" and qty * price * (1 + slip) * (1 + self.fee_rate) > self._cash * (1 + 1e-12):
            return "INSUFFICIENT_FUND: not enough cash"
        return None

    def _set(self, coid: str, **kw: object) -> Order:
        self._orders[coid] = replace(self._orders[coid], **kw)  # type: ignore[arg-type]
        return self._orders[coid]

    def _fill(self, coid: str, qty: float, price: float, slip: float, liq: Liquidity) -> list[Fill]:
        o = self._orders[coid]
        sign = 1.0 if o.side == "buy" else -1.0
        held = self._pos.get(o.asset, 0.0)
        if sign > 0 and qty * price * (1 + slip) * (1 + self.fee_rate) > self._cash * (1 + 1e-12):
            return []  # a resting buy the cash no longer covers keeps resting
        qty = min(qty, held) if sign < 0 else qty
        if qty <= 0:
            return []
        f = settle(
            np.array([[sign * qty]]),
            np.array([self._cash]),
            np.array([[held]]),
            np.array([[price]]),
            np.array([[slip]]),
            self.fee_rate,
        )
        px, fee = float(f.price[0, 0]), float(f.fee[0, 0])
        self._cash = float(f.cash[0])
        new_held = float(f.holdings[0, 0])
        self._basis[o.asset] = (
            self._basis.get(o.asset, 0.0) + qty * px
            if sign > 0
            else self._basis.get(o.asset, 0.0) * (new_held / held if held else 0.0)
        )
        self._pos[o.asset] = 0.0 if abs(new_held) < 1e-12 else new_held
        filled = o.filled_qty + qty
        avg = ((o.avg_price or 0.0) * o.filled_qty + px * qty) / filled
        fill = Fill(
            f"{o.broker_order_id}-{len(self._fills)}",
            coid,
            o.asset,
            o.side,
            qty,
            px,
            fee,
            liq,
            self.now,
            o.broker_order_id,
        )
        self._fills.append(fill)
        liquidity = liq if o.liquidity in (None, liq) else "TAKER"
        status = "filled" if filled >= o.qty * (1 - 1e-12) else "partially_filled"
        self._set(
            coid,
            filled_qty=filled,
            avg_price=avg,
            fee=o.fee + fee,
            liquidity=liquidity,
            status=status,
            time=self.now,
        )
        return [fill]

    def get_order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def get_order_by_id(self, broker_order_id: str) -> Order | None:
        coid = self._by_id.get(broker_order_id)
        return self._orders.get(coid) if coid else None

    def cancel(self, client_order_id: str) -> Order | None:
        o = self._orders.get(client_order_id)
        if o is not None and o.is_live:
            return self._set(client_order_id, status="canceled", time=self.now)
        return o

    def cancel_all(self) -> list[str]:
        live = [c for c, o in self._orders.items() if o.is_live]
        for c in live:
            self.cancel(c)
        return live

    def fills(self, client_order_id: str | None = None) -> list[Fill]:
        return [f for f in self._fills if client_order_id is None or f.client_order_id == client_order_id]
