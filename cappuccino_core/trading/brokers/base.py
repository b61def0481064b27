"""The one broker protocol and its value types.

Every broker (``sim``, ``alpaca-paper``, ``coinbase``) implements :class:`Broker`. Assets are canonical
symbol strings (``str(parse_symbol(x))``, e.g. ``"BTC/USD"``); sides are ``"buy"``/``"sell"``; quantities
are base units (always > 0 on orders; signed on positions); money is quote currency.

Order statuses are normalised across venues to :data:`STATUSES`; ``new``/``open``/``partially_filled``
and ``pending_cancel`` (a cancel asked, not yet confirmed: fills can still arrive) are live, the rest are
final. Every order carries a deterministic client order id; ``submit`` with an id the broker already knows
returns the existing order instead of placing a second one.

Two capabilities are optional and named by their own protocols, checked with ``isinstance``:
:class:`BarAware` (a simulated venue that learns each bar before the loop trades it) and
:class:`OwnAccount` (a broker whose account key is not its name, e.g. an in-process sim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]
TimeInForce = Literal["gtc", "ioc"]
Liquidity = Literal["MAKER", "TAKER"]

STATUSES = ("new", "open", "partially_filled", "pending_cancel", "filled", "canceled", "rejected", "expired")
# pending_cancel: a cancel was asked and the venue has not confirmed it; fills can still arrive (live)
LIVE_STATUSES = ("new", "open", "partially_filled", "pending_cancel")
FINAL_STATUSES = ("filled", "canceled", "rejected", "expired")


class BrokerError(RuntimeError):
    """A venue call failed in a way the caller cannot treat as an answer (transport, auth, 5xx)."""


class OrderRejected(BrokerError):
    """The venue refused the order (business rejection); ``reason`` is the venue's code, e.g.
    ``INVALID_LIMIT_PRICE_POST_ONLY`` or ``INSUFFICIENT_FUND``."""

    def __init__(self, client_order_id: str, reason: str, message: str = "") -> None:
        super().__init__(f"order {client_order_id} rejected: {reason} {message}".rstrip())
        self.client_order_id, self.reason, self.message = client_order_id, reason, message


@dataclass(frozen=True)
class Order:
    """An order as the broker sees it now. ``avg_price``/``fee`` cover all fills so far (fee in quote)."""

    client_order_id: str
    asset: str
    side: Side
    qty: float
    status: str
    order_type: OrderType = "market"
    limit_price: float | None = None
    time_in_force: TimeInForce = "gtc"
    post_only: bool = False
    broker_order_id: str | None = None
    filled_qty: float = 0.0
    avg_price: float | None = None
    fee: float = 0.0
    liquidity: Liquidity | None = None  # MAKER only if every fill was maker
    reason: str | None = None  # why rejected / canceled, venue code
    time: datetime | None = None  # last update (or creation) time, UTC

    @property
    def is_live(self) -> bool:
        """True while the venue may still fill it (see :data:`LIVE_STATUSES`)."""
        return self.status in LIVE_STATUSES

    @property
    def remaining(self) -> float:
        """Quantity not filled yet (base units, never negative)."""
        return max(self.qty - self.filled_qty, 0.0)


@dataclass(frozen=True)
class Fill:
    """One execution. ``trade_id`` is unique per broker; ``fee`` is in quote currency."""

    trade_id: str
    client_order_id: str
    asset: str
    side: Side
    qty: float
    price: float
    fee: float
    liquidity: Liquidity
    time: datetime
    broker_order_id: str | None = None


@dataclass(frozen=True)
class Position:
    """A venue's holding of one asset (signed base units; average entry in quote currency)."""

    asset: str
    qty: float  # signed base units
    avg_entry_price: float = 0.0
    market_value: float | None = None


@dataclass(frozen=True)
class Quote:
    """Top of book."""

    asset: str
    bid: float
    ask: float
    bid_size: float = 0.0
    ask_size: float = 0.0
    time: datetime | None = None

    @property
    def mid(self) -> float:
        """The mid price, half way between bid and ask."""
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True)
class Account:
    """A venue account's balances (quote currency) and fee rates; ``extra`` keeps venue-specific fields."""

    cash: float
    equity: float
    currency: str = "USD"
    maker_fee_rate: float = 0.0
    taker_fee_rate: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Broker(Protocol):
    """What every broker offers. ``fee_rate`` is the taker rate the risk/order rules budget with.

    ``execution_ids``: ``fills(client_order_id)`` reports each execution with the venue's trade id (otherwise
    only an order's cumulative filled quantity and average price are known, and the loop keys fills by them).
    ``fee_in_kind``: a buy's fee is kept in the asset received (Alpaca): the position is ``qty - fee/price``.
    """

    name: str
    fee_rate: float
    execution_ids: bool
    fee_in_kind: bool

    def account(self) -> Account:
        """Balances and fee rates of the account now."""
        ...

    def cash(self) -> float:
        """Quote currency free to spend."""
        ...

    def positions(self) -> dict[str, float]:
        """Non-zero holdings by canonical asset."""
        ...

    def position_details(self) -> list[Position]:
        """Non-zero holdings with their average entry (and market value when the venue reports it)."""
        ...

    def best_bid_ask(self, assets: list[str]) -> dict[str, Quote]:
        """Top of book per canonical asset."""
        ...

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
        """Place an order (``price`` is the reference price, e.g. the bar close, used for sizing checks and by
        the sim fill). Idempotent on ``client_order_id``: a known id returns the existing order. A business
        rejection returns an Order with status ``rejected`` and ``reason`` set (it does not raise)."""
        ...

    def cancel(self, client_order_id: str) -> Order | None:
        """Cancel if live; returns the order's state afterwards, None if the broker never saw the id."""
        ...

    def cancel_all(self) -> list[str]:
        """Cancel every live order; returns the client order ids asked to cancel."""
        ...

    def get_order(self, client_order_id: str) -> Order | None:
        """The order's state now, None if the broker never saw the id."""
        ...

    def get_order_by_id(self, broker_order_id: str) -> Order | None:
        """The order with the venue's own id, None if unknown."""
        ...

    def fills(self, client_order_id: str | None = None) -> list[Fill]:
        """Executions (of one order, or all), oldest first."""
        ...


@runtime_checkable
class BarAware(Protocol):
    """A simulated venue that learns each bar (clock, prices, resting limits) before the loop trades it."""

    def on_bar(self, time: datetime, close: dict[str, float]) -> object:
        """The bar closing at ``time`` with these closes (by canonical asset) is now the venue's market."""
        ...


@runtime_checkable
class OwnAccount(Protocol):
    """A broker whose account is not the venue name's one (an in-process sim or loopback venue)."""

    account_id: str


@runtime_checkable
class Closable(Protocol):
    """A broker holding a resource to release (a connection pool, an in-process exchange server)."""

    def close(self) -> None:
        """Release it; the broker is not used afterwards."""
        ...
