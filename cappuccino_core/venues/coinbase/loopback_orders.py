"""Coinbase Advanced Trade's order and fill objects, as the loopback venue
(:mod:`cappuccino_core.venues.coinbase.loopback_trading`) writes them from :class:`Exchange` state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cappuccino_core.loopback.exchange.accounts import ExFill, ExOrder
from cappuccino_core.trading.brokers.decimals import dec, plain

_STATUS = {
    "open": "OPEN",
    "partially_filled": "OPEN",
    "filled": "FILLED",
    "canceled": "CANCELLED",
    "rejected": "FAILED",
}


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _s(x: float | None) -> str:
    return "" if x is None else plain(dec(float(x)))  # decimal strings, never exponent form


def _pid(symbol: str) -> str:
    return symbol.replace("/", "-")


def _config(o: ExOrder) -> dict[str, Any]:
    if o.order_type == "market":
        return {"market_market_ioc": {"base_size": _s(o.qty)}}
    key = "limit_limit_gtc" if o.time_in_force == "gtc" else "sor_limit_ioc"
    cfg: dict[str, Any] = {"base_size": _s(o.qty), "limit_price": _s(o.limit_price)}
    if key == "limit_limit_gtc":
        cfg["post_only"] = o.post_only
    return {key: cfg}


def coinbase_order(o: ExOrder) -> dict[str, Any]:
    """An exchange order as Coinbase's order object (JSON fields, statuses and timestamps as the venue sends
    them)."""
    pct = 100.0 * o.filled_qty / o.qty if o.qty else 0.0
    return {
        "order_id": o.id,
        "product_id": _pid(o.symbol),
        "user_id": "loopback",
        "order_configuration": _config(o),
        "side": o.side.upper(),
        "client_order_id": o.client_order_id,
        "status": "CANCEL_QUEUED" if o.pending_cancel else _STATUS[o.status],
        "time_in_force": "GOOD_UNTIL_CANCELLED" if o.time_in_force == "gtc" else "IMMEDIATE_OR_CANCEL",
        "created_time": _iso(o.created),
        "last_fill_time": _iso(o.updated) if o.fills else None,
        "completion_percentage": f"{pct:.2f}",
        "filled_size": _s(o.filled_qty),
        "average_filled_price": _s(o.avg_price or 0.0),
        "fee": "",
        "number_of_fills": str(len(o.fills)),
        "filled_value": _s(o.filled_value),
        "pending_cancel": o.pending_cancel,
        "size_in_quote": False,
        "total_fees": _s(o.fees),
        "size_inclusive_of_fees": False,
        "total_value_after_fees": _s(o.filled_value + (o.fees if o.side == "buy" else -o.fees)),
        "trigger_status": "INVALID_ORDER_TYPE",
        "order_type": o.order_type.upper(),
        "reject_reason": "REJECT_REASON_UNSPECIFIED",
        "settled": o.status == "filled",
        "product_type": "SPOT",
        "reject_message": o.reject_reason or "",
        "cancel_message": "",
        "order_placement_source": "RETAIL_ADVANCED",
        "outstanding_hold_amount": "0",
        "is_liquidation": False,
        "edit_history": [],
        "leverage": "",
        "margin_type": "UNKNOWN_MARGIN_TYPE",
        "retail_portfolio_id": "",
    }


def _fill(f: ExFill) -> dict[str, Any]:
    """A fill as Coinbase lists it: no client order id (the venue's fills do not carry one)."""
    return {
        "entry_id": f.trade_id,
        "trade_id": f.trade_id,
        "order_id": f.order_id,
        "trade_time": _iso(f.time),
        "trade_type": "FILL",
        "price": _s(f.price),
        "size": _s(f.qty),
        "commission": _s(f.fee),
        "product_id": _pid(f.symbol),
        "sequence_timestamp": _iso(f.time),
        "liquidity_indicator": f.liquidity,
        "size_in_quote": False,
        "user_id": "loopback",
        "side": f.side.upper(),
        "retail_portfolio_id": "",
    }
