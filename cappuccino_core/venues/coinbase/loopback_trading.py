"""Coinbase Advanced Trade endpoints (``/api/v3/brokerage/...``) on an :class:`Exchange` (serve over TLS).

Business rejections (a crossing post-only order, insufficient funds) answer HTTP 200 with
``success:false`` and an ``error_response``; a repeated client_order_id returns the existing order's id
with ``success:true`` (the venue de-duplicates). Prices and sizes are decimal strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.loopback.exchange.accounts import Exchange, ExFill, ExOrder
from cappuccino_core.loopback.server import HTTPError, LoopbackServer, Request, Response, Router
from cappuccino_core.trading.brokers.decimals import dec, plain
from cappuccino_core.venues.coinbase.auth import AuthError, verify_jwt
from cappuccino_core.venues.coinbase.loopback_marketdata import coinbase_error_body
from cappuccino_core.venues.coinbase.rules import ProductRules

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


def _page(items: list[Any], cursor: str | None, size: int) -> tuple[list[Any], str]:
    """One page of ``items`` from the offset in ``cursor``; the next cursor ("" on the last page)."""
    try:
        start = int(cursor or 0)
    except ValueError:
        raise HTTPError(400, f"invalid cursor {cursor!r}") from None
    end = start + size
    return items[start:end], (str(end) if end < len(items) else "")


def _limit(req: Request, default: int) -> int:
    raw = req.arg("limit")
    try:
        n = int(raw) if raw else default
    except ValueError:
        raise HTTPError(400, f"invalid limit {raw!r}") from None
    return max(1, min(n, default))


def _parse_config(cfg: dict[str, Any]) -> tuple[str, str, float, float | None, bool]:
    """(order_type, tif, base_size, limit_price, post_only) from an order_configuration."""
    if len(cfg) != 1:
        raise HTTPError(400, "order_configuration must have exactly one key")
    ((key, c),) = cfg.items()
    try:
        size = float(c["base_size"])
        if key == "market_market_ioc":
            return "market", "ioc", size, None, False
        if key in ("limit_limit_gtc", "sor_limit_ioc"):
            tif = "gtc" if key == "limit_limit_gtc" else "ioc"
            return "limit", tif, size, float(c["limit_price"]), bool(c.get("post_only", False))
    except (KeyError, TypeError, ValueError) as exc:
        raise HTTPError(400, f"invalid {key}: {exc}") from None
    raise HTTPError(400, f"order configuration {key} is not simulated")


def register_coinbase_trading(
    router: Router,
    ex: Exchange,
    *,
    prefix: str = "/api/v3/brokerage",
    base_increment: str = "0.00000001",
    quote_increment: str = "0.01",
    base_min_size: str = "0.00000001",
    base_max_size: str = "1000000",
    quote_min_size: str = "1",
    products: dict[str, dict[str, Any]] | None = None,
    page_size: int = 49,
) -> None:
    """Routes ``coinbase.create_order``, ``coinbase.cancel_orders``, ``coinbase.orders_batch``,
    ``coinbase.fills``, ``coinbase.order``, ``coinbase.best_bid_ask``, ``coinbase.product``,
    ``coinbase.transaction_summary``, ``coinbase.accounts``. Every product has the increments and minimums
    given here (``products`` overrides fields per product id, e.g. ``{"BTC-USD": {"limit_only": True}}``);
    orders off an increment, below a minimum or against the trading mode are refused with the venue's codes
    (:mod:`cappuccino_core.venues.coinbase.rules`). Accounts, orders and fills come in pages of at most
    ``page_size`` (the venue's account default is 49) with ``has_next``/``cursor``."""

    def product_body(pid: str) -> dict[str, Any]:
        sym, t = parse_symbol(pid), ex.book.top(pid)
        body: dict[str, Any] = {
            "product_id": pid,
            "price": _s(t.bid),
            "base_increment": base_increment,
            "quote_increment": quote_increment,
            "price_increment": quote_increment,
            "base_min_size": base_min_size,
            "base_max_size": base_max_size,
            "quote_min_size": quote_min_size,
            "quote_max_size": "100000000",
            "base_currency_id": sym.base,
            "quote_currency_id": sym.quote,
            "base_name": sym.base,
            "quote_name": sym.quote,
            "status": "online",
            "post_only": False,
            "limit_only": False,
            "cancel_only": False,
            "trading_disabled": False,
            "is_disabled": False,
            "product_type": "SPOT",
            "volume_24h": "0",
            "price_percentage_change_24h": "0",
        }
        return body | (products or {}).get(pid, {})

    def refusal(pid: str, side: str, cfg: dict[str, Any]) -> str | None:
        """The venue's own checks on the strings sent (not on floats parsed from them)."""
        if not ex.book.has(pid):
            return None  # INVALID_PRODUCT_ID below
        ((_key, c),) = cfg.items()
        size = dec(str(c["base_size"]))
        price = dec(str(c["limit_price"])) if c.get("limit_price") is not None else None
        top = ex.book.top(pid)
        rules = ProductRules.from_product(product_body(pid))
        ref = top.ask if side == "BUY" else top.bid
        return rules.refusal(size, price, ref_price=ref, post_only=bool(c.get("post_only", False)))

    def auth(req: Request) -> None:
        """The venue's JWT check: a registered key id, its algorithm, signature, expiry, and the request's
        method, host and path in the ``uri`` claim (401 otherwise)."""
        bearer = req.headers.get("Authorization") or ""
        if not bearer.startswith("Bearer "):
            raise HTTPError(401, "missing or invalid Authorization bearer token")
        uri = f"{req.method} {req.headers.get('Host') or ''}{req.path}"
        try:
            verify_jwt(bearer[len("Bearer ") :], ex.api_keys, uri)
        except AuthError as exc:
            raise HTTPError(401, f"Unauthorized: {exc}") from None

    def create(req: Request) -> Response | dict[str, Any]:
        auth(req)
        body = req.json() or {}
        coid, pid, side = (
            str(body.get("client_order_id", "")),
            str(body.get("product_id", "")),
            body.get("side"),
        )
        cfg = body.get("order_configuration") or {}
        typ, tif, size, limit, post_only = _parse_config(cfg)
        failure = {"success": False, "order_configuration": cfg}
        if side not in ("BUY", "SELL"):
            return failure | {"error_response": {"error": "INVALID_SIDE", "message": f"bad side {side!r}"}}
        why = None if ex.get_by_client_id(coid) else refusal(pid, side, cfg)
        if why is not None:
            code = why.split(":", 1)[0]
            preview = code.startswith("PREVIEW_")
            generic = "UNKNOWN_FAILURE_REASON"
            return failure | {
                "failure_reason": generic,
                "error_response": {
                    "error": generic if preview else code,
                    "message": why,
                    "error_details": why,
                    "preview_failure_reason": code if preview else f"PREVIEW_{code}",
                    "new_order_failure_reason": generic if preview else code,
                },
            }
        try:
            o = ex.place(
                coid,
                pid,
                side.lower(),
                size,
                order_type=typ,
                limit_price=limit,
                time_in_force=tif,
                post_only=post_only,
            )
        except (KeyError, ValueError) as exc:
            reason = "INVALID_PRODUCT_ID" if isinstance(exc, KeyError) else "INVALID_ARGUMENT"
            return failure | {
                "error_response": {
                    "error": reason,
                    "message": str(exc),
                    "error_details": str(exc),
                    "new_order_failure_reason": reason,
                }
            }
        if o.status == "rejected" and not o.duplicate:
            r = o.reject_reason or "UNKNOWN_FAILURE_REASON"
            return failure | {
                "error_response": {
                    "error": r,
                    "message": r,
                    "error_details": r,
                    "preview_failure_reason": f"PREVIEW_{r}",
                    "new_order_failure_reason": r,
                }
            }
        stall = ex.take_stall()
        if stall > 0:
            ex.closing.wait(stall)
        return {
            "success": True,
            "order_configuration": cfg,
            "success_response": {
                "order_id": o.id,
                "product_id": _pid(o.symbol),
                "side": side,
                "client_order_id": o.client_order_id,
            },
        }

    def cancel(req: Request) -> dict[str, Any]:
        auth(req)
        results = []
        for oid in (req.json() or {}).get("order_ids", []):
            with ex.lock:
                o = ex.get(str(oid))
                live = o is not None and o.status in ("open", "partially_filled") and not o.pending_cancel
                ex.cancel(str(oid))
            reason = (
                "UNKNOWN_CANCEL_FAILURE_REASON"
                if live
                else "UNKNOWN_CANCEL_ORDER"
                if o is None
                else "DUPLICATE_CANCEL_REQUEST"
            )
            results.append({"success": live, "failure_reason": reason, "order_id": str(oid)})
        return {"results": results}

    def get_order(req: Request) -> dict[str, Any]:
        auth(req)
        o = ex.get(req.params["order_id"])
        if o is None:
            raise HTTPError(404, "order not found")
        return {"order": coinbase_order(o)}

    def batch(req: Request) -> dict[str, Any]:
        auth(req)
        pids, statuses = set(req.args("product_ids")), set(req.args("order_status"))
        ids = set(req.args("order_ids"))
        with ex.lock:
            orders = [coinbase_order(o) for o in ex.orders.values()]
        orders = [
            o
            for o in orders
            if (not pids or o["product_id"] in pids)
            and (not statuses or o["status"] in statuses)
            and (not ids or o["order_id"] in ids)
        ]
        page, cursor = _page(orders[::-1], req.arg("cursor"), _limit(req, page_size))
        return {"orders": page, "sequence": "0", "has_next": bool(cursor), "cursor": cursor}

    def fills(req: Request) -> dict[str, Any]:
        auth(req)
        ids, pids = set(req.args("order_ids")), set(req.args("product_ids"))
        with ex.lock:
            out = [
                _fill(f)
                for f in ex.fills
                if (not ids or f.order_id in ids) and (not pids or _pid(f.symbol) in pids)
            ]
        page, cursor = _page(out[::-1], req.arg("cursor"), _limit(req, page_size))
        return {"fills": page, "cursor": cursor}

    def best_bid_ask(req: Request) -> dict[str, Any]:
        auth(req)
        books = []
        for pid in req.args("product_ids") or [_pid(s) for s in ex.book.symbols]:
            if ex.book.has(pid):
                t = ex.book.top(pid)
                books.append(
                    {
                        "product_id": pid,
                        "bids": [{"price": _s(t.bid), "size": _s(t.bid_size)}],
                        "asks": [{"price": _s(t.ask), "size": _s(t.ask_size)}],
                        "time": _iso(t.time),
                    }
                )
        return {"pricebooks": books}

    def product(req: Request) -> dict[str, Any]:
        auth(req)
        pid = req.params["product_id"]
        if not ex.book.has(pid):
            raise HTTPError(404, f"product {pid} not found")
        return product_body(pid)

    def summary(req: Request) -> dict[str, Any]:
        auth(req)
        with ex.lock:
            tier, vol, fees = ex.tier(), ex.volume, sum(o.fees for o in ex.orders.values())
        nxt = [t.volume_from for t in ex.tiers if t.volume_from > tier.volume_from]
        return {
            "total_volume": vol,
            "total_fees": fees,
            "advanced_trade_only_volume": vol,
            "advanced_trade_only_fees": fees,
            "coinbase_pro_volume": 0,
            "coinbase_pro_fees": 0,
            "total_balance": _s(ex.cash),
            "has_promo_fee": False,
            "margin_rate": None,
            "goods_and_services_tax": None,
            "fee_tier": {
                "pricing_tier": tier.name,
                "usd_from": _s(tier.volume_from),
                "usd_to": _s(nxt[0]) if nxt else "",
                "taker_fee_rate": _s(tier.taker),
                "maker_fee_rate": _s(tier.maker),
                "aop_from": "",
                "aop_to": "",
            },
        }

    def accounts(req: Request) -> dict[str, Any]:
        auth(req)
        with ex.lock:  # available = balance - holds of resting orders (the venue's split)
            bal = {ex.quote: (ex.cash, ex.held_cash())} | {
                parse_symbol(s).base: (q, min(ex.held_qty(s), q)) for s, q in ex.holdings.items()
            }
        accs = [
            {
                "uuid": f"acct-{c}",
                "name": f"{c} Wallet",
                "currency": c,
                "active": True,
                "ready": True,
                "available_balance": {"value": _s(v - h), "currency": c},
                "hold": {"value": _s(h), "currency": c},
                "default": c == ex.quote,
                "type": "ACCOUNT_TYPE_CRYPTO",
            }
            for c, (v, h) in bal.items()
        ]
        page, cursor = _page(accs, req.arg("cursor"), _limit(req, page_size))
        return {"accounts": page, "has_next": bool(cursor), "cursor": cursor, "size": len(page)}

    eb, p = coinbase_error_body, prefix
    pid = r"(?P<product_id>[A-Za-z0-9]+-[A-Za-z0-9]+)"
    for method, path, fn, name in (
        ("POST", f"{p}/orders", create, "coinbase.create_order"),
        ("POST", f"{p}/orders/batch_cancel", cancel, "coinbase.cancel_orders"),
        ("GET", f"{p}/orders/historical/batch", batch, "coinbase.orders_batch"),
        ("GET", f"{p}/orders/historical/fills", fills, "coinbase.fills"),
        ("GET", rf"{p}/orders/historical/(?P<order_id>[0-9a-fA-F-]{{36}})", get_order, "coinbase.order"),
        ("GET", f"{p}/best_bid_ask", best_bid_ask, "coinbase.best_bid_ask"),
        ("GET", rf"{p}/products/{pid}", product, "coinbase.product"),
        ("GET", f"{p}/transaction_summary", summary, "coinbase.transaction_summary"),
        ("GET", f"{p}/accounts", accounts, "coinbase.accounts"),
    ):
        router.add(method, path, fn, name=name, error_body=eb)


def coinbase_exchange(ex: Exchange, router: Router | None = None, **options: Any) -> LoopbackServer:
    """An HTTPS loopback (fresh self-signed cert) speaking Coinbase Advanced trading; ``options`` go to
    :func:`register_coinbase_trading` (increments, minimums, ``page_size``)."""
    router = router or Router()
    register_coinbase_trading(router, ex, **options)
    srv = LoopbackServer(router, tls=True, name="coinbase-exchange")
    srv.exchange = ex  # clients register their keys on it
    return srv
