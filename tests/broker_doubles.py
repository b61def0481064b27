"""Venue doubles' common part: the typed order a dict-keeping double answers with, and the broker flags."""

from __future__ import annotations

from typing import Any

from cappuccino_core.trading.brokers.base import Order


class DoubleFlags:
    """A venue double's answers to the protocol's flags: cumulative fills only, fees in quote currency, and
    no orders live at the venue before the trader starts."""

    execution_ids = False
    fee_in_kind = False

    def cancel_all(self) -> list[str]:
        """Nothing is live at the venue on start."""
        return []


def order_of(coid: str, d: dict[str, Any] | None) -> Order | None:
    """The typed order for a double's dict record (None for an unknown id)."""
    if d is None:
        return None
    return Order(
        client_order_id=coid, asset=str(d.get("asset", "")), side=d.get("side", "buy"),
        qty=float(d.get("qty", d.get("filled_qty", 0.0))), status=str(d["status"]),
        broker_order_id=d.get("broker_order_id"), filled_qty=float(d.get("filled_qty", 0.0)),
        avg_price=d.get("avg_price"), fee=float(d.get("fee", 0.0)), liquidity=d.get("liquidity"),
        time=d.get("time"),
    )  # fmt: skip
