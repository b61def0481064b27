"""What the bar loop needs of a broker (:class:`LoopBroker`), what one tick reports (:class:`TickResult`), and
two facts about a venue account: its key (:func:`account_id`, the lease's and the positions' key) and an
order's totals as the venue reports them (:func:`venue_totals`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

_ACCOUNT_CHARS = 32  # positions.broker holds the account key


class LoopBroker(Protocol):
    name: str
    fee_rate: float

    def cash(self) -> float: ...
    def positions(self) -> dict[str, float]: ...
    # Orders come back as brokers.base.Order (or any mapping with status, filled_qty, avg_price, fee, ...).
    def submit(self, client_order_id: str, asset: str, side: str, qty: float, price: float) -> Any: ...
    def get_order(self, client_order_id: str) -> Any: ...


@dataclass
class TickResult:
    bar_time_ns: int
    skipped: str | None = None  # why no decision was made
    orders: list[str] = field(default_factory=list)  # client order ids placed
    dust: dict[str, float] = field(default_factory=dict)  # flatten: remainders under the lot/minimum size
    error: str | None = None  # a broker error that stopped this bar's sends (the rest stay for reconcile)


def venue_totals(got: Any, qty: float, px: float, fee: float) -> tuple[float, float, float]:
    """An order's (filled qty, average price, fees): what the venue reports, at least what the fills add up
    to (``qty``, ``px``, ``fee``). The difference marks fills still to be recorded (reconcile asks again)."""
    vq = float(got.get("filled_qty") or 0.0)
    if vq <= qty:
        return qty, px, fee
    return vq, float(got.get("avg_price") or px), max(float(got.get("fee", 0.0) or 0.0), fee)


def account_id(broker: Any) -> str:
    """The account a broker trades (the lease's key): its ``account_id`` when it has one (an in-process
    sim or loopback venue is its own account), else its name (one account per venue and state store)."""
    key = str(getattr(broker, "account_id", None) or broker.name)
    if len(key) <= _ACCOUNT_CHARS:
        return key
    return f"{key[:12]}:{hashlib.sha256(key.encode()).hexdigest()[: _ACCOUNT_CHARS - 13]}"
