"""What one tick reports (:class:`TickResult`), and two facts about a venue account: its key
(:func:`account_id`, the lease's and the positions' key) and an order's totals as the venue reports them
(:func:`venue_totals`). The broker the loop trades is the one protocol,
:class:`~cappuccino_core.trading.brokers.base.Broker`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cappuccino_core.trading.brokers.base import Broker, Order, OwnAccount

_ACCOUNT_CHARS = 32  # positions.broker holds the account key


@dataclass
class TickResult:
    """What one bar did: the orders placed, why no decision was made, or the broker error that stopped it."""

    bar_time_ns: int
    skipped: str | None = None  # why no decision was made
    orders: list[str] = field(default_factory=list)  # client order ids placed
    dust: dict[str, float] = field(default_factory=dict)  # flatten: remainders under the lot/minimum size
    error: str | None = None  # a broker error that stopped this bar's sends (the rest stay for reconcile)


def venue_totals(got: Order, qty: float, px: float, fee: float) -> tuple[float, float, float]:
    """An order's (filled qty, average price, fees): what the venue reports, at least what the fills add up
    to (``qty``, ``px``, ``fee``). The difference marks fills still to be recorded (reconcile asks again)."""
    vq = float(got.filled_qty or 0.0)
    if vq <= qty:
        return qty, px, fee
    return vq, float(got.avg_price or px), max(float(got.fee or 0.0), fee)


def account_id(broker: Broker) -> str:
    """The account a broker trades (the lease's key): its ``account_id`` when it has one (an in-process
    sim or loopback venue is its own account), else its name (one account per venue and state store)."""
    own = broker.account_id if isinstance(broker, OwnAccount) else None
    key = str(own or broker.name)
    if len(key) <= _ACCOUNT_CHARS:
        return key
    return f"{key[:12]}:{hashlib.sha256(key.encode()).hexdigest()[: _ACCOUNT_CHARS - 13]}"
