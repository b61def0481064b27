"""The simulated venue account: balances, orders, fills, fee tiers, idempotency and order-level faults.

Venue-neutral: the Alpaca and Coinbase route modules translate wire formats to calls on :class:`Exchange`.
Rules (like the real venues):
- a repeated ``client_order_id`` never creates a second order (``place`` returns the existing one, with
  ``duplicate=True``; each venue's routes answer it in that venue's way);
- a post-only limit that would cross the touch is rejected with ``INVALID_LIMIT_PRICE_POST_ONLY``;
- market / marketable limit orders take liquidity at the touch (TAKER fee); resting limits fill at their
  limit price when a later bar trades through them (MAKER fee), at most ``maker_fill_fraction`` of the
  order per bar (partial fills);
- fees by tier: the tier is picked by the account's traded quote volume so far; charged in the quote
  currency (Coinbase) or, with ``fee_in_kind``, in the asset received (Alpaca: a buy pays in the base asset);
- holds: a resting buy reserves its value plus fee, a resting sell its quantity; a new order must fit in
  what is not held (two buys worth twice the cash: the second is refused ``INSUFFICIENT_FUND``);
- cancels may be asynchronous (``cancel_delay_bars`` > 0): a cancel marks the order ``pending_cancel``
  (Coinbase ``CANCEL_QUEUED``, Alpaca ``pending_cancel``); it stays live, bars can still fill it, and the
  cancel completes ``cancel_delay_bars`` bars later (after that bar's fills).
Order faults: :meth:`Exchange.stall_after_accept` (the order is created, the answer comes ``seconds`` late:
a client timeout after accept) and :meth:`Exchange.partial_then_cancel` (the next order fills a fraction,
then the venue cancels the rest).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.loopback.exchange.book import Bar, ReplayBook

POST_ONLY_REJECT = "INVALID_LIMIT_PRICE_POST_ONLY"
INSUFFICIENT = "INSUFFICIENT_FUND"
LIVE = ("open", "partially_filled")


@dataclass(frozen=True)
class FeeTier:
    """One fee tier: maker and taker rates from a 30-day quote volume on."""

    volume_from: float  # quote volume at which this tier starts
    maker: float
    taker: float
    name: str = ""


DEFAULT_TIERS = (
    FeeTier(0.0, 0.006, 0.012, "Intro 1"),
    FeeTier(10_000.0, 0.0035, 0.0075, "Intro 2"),
    FeeTier(50_000.0, 0.0025, 0.004, "Advanced 1"),
)


@dataclass
class ExFill:
    """One execution on the loopback exchange (fee in the currency the venue charges it in)."""

    trade_id: str
    order_id: str
    symbol: str
    side: str
    qty: float
    price: float
    fee: float
    liquidity: str  # MAKER | TAKER
    time: datetime
    fee_asset: str = ""  # the currency ``fee`` is in: the quote, or the base asset for an in-kind buy fee


@dataclass
class ExOrder:
    """An order on the loopback exchange, as the venue keeps it."""

    id: str
    client_order_id: str
    symbol: str
    side: str  # buy | sell
    qty: float
    order_type: str  # market | limit
    limit_price: float | None
    time_in_force: str  # gtc | ioc
    post_only: bool
    status: str = "open"  # open | partially_filled | filled | canceled | rejected
    filled_qty: float = 0.0
    filled_value: float = 0.0
    fees: float = 0.0
    reject_reason: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    fills: list[ExFill] = field(default_factory=list)
    duplicate: bool = False  # set on the object returned for a repeated client order id
    cancel_at: int | None = None  # book index at which a pending (asynchronous) cancel completes

    @property
    def pending_cancel(self) -> bool:
        """A cancel was asked and is not effective yet (the order can still fill)."""
        return self.cancel_at is not None and self.status in LIVE

    @property
    def remaining(self) -> float:
        """Quantity not filled yet."""
        return max(self.qty - self.filled_qty, 0.0)

    @property
    def avg_price(self) -> float | None:
        """Average fill price, None before the first fill."""
        return self.filled_value / self.filled_qty if self.filled_qty > 0 else None


class Exchange:
    """One account on one simulated venue, quoted in ``quote`` (e.g. USD)."""

    def __init__(
        self,
        book: ReplayBook,
        *,
        cash: float = 100_000.0,
        quote: str = "USD",
        tiers: tuple[FeeTier, ...] = DEFAULT_TIERS,
        maker_fill_fraction: float = 1.0,
        cancel_delay_bars: int = 0,
    ) -> None:
        if cash < 0 or not tiers or not 0 < maker_fill_fraction <= 1:
            raise ValueError(
                f"need cash >= 0, tiers, 0 < maker_fill_fraction <= 1; got {cash}, {tiers}, "
                f"{maker_fill_fraction}"
            )
        self.book, self.quote = book, quote
        self.tiers = tuple(sorted(tiers, key=lambda t: t.volume_from))
        self.maker_fill_fraction = maker_fill_fraction
        self.cancel_delay_bars = int(cancel_delay_bars)
        self.fee_in_kind = False
        self.api_keys: dict[str, object] = {}  # key id -> secret (Alpaca) or public key (Coinbase JWT)
        self.cash = float(cash)
        self.holdings: dict[str, float] = {}
        self.cost_basis: dict[str, float] = {}
        self.volume = 0.0
        self.orders: dict[str, ExOrder] = {}
        self.by_client_id: dict[str, str] = {}
        self.fills: list[ExFill] = []
        self.lock = threading.RLock()
        self.closing = threading.Event()
        self._stalls: list[float] = []
        self._partials: list[float] = []
        self._trade_seq = itertools.count(1)

    # ------------------------------------------------------------------ credentials
    def register_key(self, key_id: str, credential: object) -> None:
        """Accept requests signed by ``key_id``: the venue's routes check every private call against it
        (Alpaca: the secret; Coinbase: the public key the JWT must verify with)."""
        with self.lock:
            self.api_keys[key_id] = credential

    # ------------------------------------------------------------------ faults
    def stall_after_accept(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` order placements are executed, then their answer waits ``seconds``."""
        with self.lock:
            self._stalls.extend([seconds] * times)

    def take_stall(self) -> float:
        """Seconds the next request should stall (an injected delay), 0 when none is queued."""
        with self.lock:
            return self._stalls.pop(0) if self._stalls else 0.0

    def partial_then_cancel(self, fraction: float, times: int = 1) -> None:
        """The next ``times`` accepted orders fill ``fraction`` of their size now; the rest is canceled."""
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must be in (0, 1), got {fraction}")
        with self.lock:
            self._partials.extend([fraction] * times)

    # ------------------------------------------------------------------ fees, balances
    def charge_like(self, tiers: tuple[FeeTier, ...], *, fee_in_kind: bool) -> None:
        """Charge fees as a venue does: its tiers (kept if the caller gave the Exchange its own) and where the
        fee is taken from. Called by a venue's routes when they are registered."""
        with self.lock:
            if self.tiers == tuple(sorted(DEFAULT_TIERS, key=lambda t: t.volume_from)):
                self.tiers = tuple(sorted(tiers, key=lambda t: t.volume_from))
            self.fee_in_kind = fee_in_kind

    def _hold(self, o: ExOrder) -> float:
        """Quote currency reserved by a live buy (value + maker fee unless the fee is taken in kind)."""
        fee = 0.0 if self.fee_in_kind else self.tier().maker
        return o.remaining * float(o.limit_price or 0.0) * (1 + fee)

    def held_cash(self, exclude: ExOrder | None = None) -> float:
        """Cash on hold for resting buys."""
        return sum(
            self._hold(o)
            for o in self.orders.values()
            if o is not exclude and o.side == "buy" and o.status in LIVE and o.limit_price is not None
        )

    def held_qty(self, symbol: str, exclude: ExOrder | None = None) -> float:
        """Base quantity on hold for resting sells of ``symbol``."""
        return sum(
            o.remaining
            for o in self.orders.values()
            if o is not exclude and o.side == "sell" and o.symbol == symbol and o.status in LIVE
        )

    def tier(self) -> FeeTier:
        """The fee tier the account's traded volume reaches."""
        current = self.tiers[0]
        for t in self.tiers:
            if self.volume >= t.volume_from:
                current = t
        return current

    def equity(self) -> float:
        """Cash plus holdings marked at the current bid."""
        return self.cash + sum(q * self.book.top(s).bid for s, q in self.holdings.items() if q)

    # ------------------------------------------------------------------ orders
    def get(self, order_id: str) -> ExOrder | None:
        """The order with the exchange's id, None if unknown."""
        return self.orders.get(order_id)

    def get_by_client_id(self, client_order_id: str) -> ExOrder | None:
        """The order with this client order id, None if unknown."""
        oid = self.by_client_id.get(client_order_id)
        return self.orders.get(oid) if oid else None

    def place(
        self,
        client_order_id: str,
        symbol: str,
        side: str,
        qty: float,
        *,
        order_type: str = "market",
        limit_price: float | None = None,
        time_in_force: str = "gtc",
        post_only: bool = False,
    ) -> ExOrder:
        """Accept (and possibly fill) an order. Returns the order; a rejected one has status ``rejected`` and
        ``reject_reason``. A known ``client_order_id`` returns the existing order with ``duplicate=True``."""
        sym = str(parse_symbol(symbol))
        if side not in ("buy", "sell") or order_type not in ("market", "limit") or qty <= 0:
            raise ValueError(f"bad order {client_order_id}: side={side} type={order_type} qty={qty}")
        if order_type == "limit" and (limit_price is None or limit_price <= 0):
            raise ValueError(f"limit order {client_order_id} needs limit_price > 0, got {limit_price}")
        if not self.book.has(sym):
            raise KeyError(f"unknown product {symbol}")
        with self.lock:
            existing = self.get_by_client_id(client_order_id)
            if existing is not None:
                existing.duplicate = True
                return existing
            o = ExOrder(
                str(uuid.uuid4()),
                client_order_id,
                sym,
                side,
                float(qty),
                order_type,
                limit_price,
                time_in_force,
                post_only,
            )
            self.orders[o.id], self.by_client_id[client_order_id] = o, o.id
            self._execute(o)
            return o

    def _execute(self, o: ExOrder) -> None:
        top = self.book.top(o.symbol)
        touch = top.ask if o.side == "buy" else top.bid
        crosses = o.order_type == "market" or (
            o.limit_price is not None
            and (o.limit_price >= touch if o.side == "buy" else o.limit_price <= touch)
        )
        if crosses and o.post_only:
            return self._reject(o, POST_ONLY_REJECT)
        ref = touch if crosses else float(o.limit_price or touch)
        fee = 0.0 if self.fee_in_kind else (self.tier().taker if crosses else self.tier().maker)
        if o.side == "buy" and o.qty * ref * (1 + fee) > self.cash - self.held_cash(o) + 1e-9:
            return self._reject(o, INSUFFICIENT)
        if o.side == "sell" and o.qty > self.holdings.get(o.symbol, 0.0) - self.held_qty(o.symbol, o) + 1e-12:
            return self._reject(o, INSUFFICIENT)
        partial = self._partials.pop(0) if self._partials else None
        if crosses:
            size = min(o.qty, top.ask_size if o.side == "buy" else top.bid_size)
            self._fill(o, size * partial if partial else size, touch, "TAKER")
            # a market/IOC remainder (or an injected partial) is canceled; a gtc limit rests for the rest
            if o.remaining > 0 and (partial or o.order_type == "market" or o.time_in_force == "ioc"):
                o.status = "canceled"
        elif o.time_in_force == "ioc":
            o.status = "canceled"
        elif partial:
            self._fill(o, o.qty * partial, float(o.limit_price or touch), "MAKER")
            o.status = "canceled"

    def _reject(self, o: ExOrder, reason: str) -> None:
        o.status, o.reject_reason = "rejected", reason

    def _fill(self, o: ExOrder, qty: float, price: float, liquidity: str) -> None:
        if qty <= 0:
            return
        tier = self.tier()
        rate = tier.maker if liquidity == "MAKER" else tier.taker
        fee = rate * qty * price  # quote value of the fee
        in_kind = self.fee_in_kind and o.side == "buy"  # Alpaca: the fee is taken from the asset received
        base_fee = rate * qty if in_kind else 0.0
        sym = parse_symbol(o.symbol)
        now = datetime.now(UTC)
        f = ExFill(
            f"t{next(self._trade_seq):08d}",
            o.id,
            o.symbol,
            o.side,
            qty,
            price,
            base_fee if in_kind else fee,
            liquidity,
            now,
            sym.base if in_kind else sym.quote,
        )
        sign = 1.0 if o.side == "buy" else -1.0
        held = self.holdings.get(o.symbol, 0.0)
        if sign > 0:
            self.cost_basis[o.symbol] = self.cost_basis.get(o.symbol, 0.0) + qty * price
        elif held > 0:
            self.cost_basis[o.symbol] = self.cost_basis.get(o.symbol, 0.0) * max(held - qty, 0.0) / held
        self.holdings[o.symbol] = held + sign * qty - base_fee
        self.cash -= sign * qty * price + (0.0 if in_kind else fee)
        self.volume += qty * price
        o.filled_qty += qty
        o.filled_value += qty * price
        o.fees += fee
        o.fills.append(f)
        o.updated = now
        o.status = "filled" if o.remaining <= 1e-12 else "partially_filled"
        self.fills.append(f)

    def cancel(self, order_id: str) -> ExOrder | None:
        """Cancel a live order; returns it (its status tells whether it was live), None if unknown. With
        ``cancel_delay_bars`` > 0 the cancel is only queued (``pending_cancel``) and completes on a later
        :meth:`advance`; fills can still arrive meanwhile."""
        with self.lock:
            o = self.orders.get(order_id)
            if o is not None and o.status in LIVE:
                if self.cancel_delay_bars > 0:
                    if o.cancel_at is None:
                        o.cancel_at = self.book.index + self.cancel_delay_bars
                else:
                    o.status, o.updated = "canceled", datetime.now(UTC)
            return o

    def open_orders(self) -> list[ExOrder]:
        """Orders still live (open, partially filled or pending cancel)."""
        with self.lock:
            return [o for o in self.orders.values() if o.status in LIVE]

    def advance(self, steps: int = 1) -> dict[str, Bar]:
        """Move the book on; resting limits the new bar trades through fill (MAKER, at their limit price)."""
        bars = self.book.advance(steps)
        with self.lock:
            for o in list(self.orders.values()):
                if o.status not in LIVE or o.limit_price is None:
                    continue
                b = bars[o.symbol]
                hit = b.low <= o.limit_price if o.side == "buy" else b.high >= o.limit_price
                if not hit:
                    continue
                qty = min(o.remaining, o.qty * self.maker_fill_fraction)
                if o.side == "sell":
                    qty = min(qty, self.holdings.get(o.symbol, 0.0))
                elif qty * o.limit_price * (1 + (0.0 if self.fee_in_kind else self.tier().maker)) > self.cash:
                    continue  # cannot pay: stays resting
                self._fill(o, qty, o.limit_price, "MAKER")
            for o in self.orders.values():  # queued cancels complete after the bar's fills
                if o.pending_cancel and o.cancel_at is not None and self.book.index >= o.cancel_at:
                    o.status, o.updated = "canceled", datetime.now(UTC)
        return bars
