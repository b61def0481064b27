"""Coinbase Advanced Trade endpoints (``/api/v3/brokerage/...``) on an :class:`Exchange` (serve over TLS).

Business rejections (a crossing post-only order, insufficient funds) answer HTTP 200 with
``success:false`` and an ``error_response``; a repeated client_order_id returns the existing order's id
with ``success:true`` (the venue de-duplicates). Prices and sizes are decimal strings.
"""

from __future__ import annotations

from typing import Any

from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.loopback.exchange.accounts import Exchange
from cappuccino_core.loopback.server import HTTPError, LoopbackServer, Request, Response, Router
from cappuccino_core.trading.brokers.decimals import dec
from cappuccino_core.venues.coinbase.auth import AuthError, verify_jwt
from cappuccino_core.venues.coinbase.loopback_marketdata import coinbase_error_body
from cappuccino_core.venues.coinbase.loopback_orders import _fill, _iso, _pid, _s, coinbase_order
from cappuccino_core.venues.coinbase.rules import ProductRules


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


def _refused(why: str) -> dict[str, Any]:
    """The failure fields for a refusal by the product rules (``CODE: message``)."""
    code = why.split(":", 1)[0]
    preview = code.startswith("PREVIEW_")
    generic = "UNKNOWN_FAILURE_REASON"
    return {
        "failure_reason": generic,
        "error_response": {
            "error": generic if preview else code,
            "message": why,
            "error_details": why,
            "preview_failure_reason": code if preview else f"PREVIEW_{code}",
            "new_order_failure_reason": generic if preview else code,
        },
    }


class CoinbaseTradingRoutes:
    """Coinbase Advanced Trade route handlers on one :class:`Exchange`, one method per route."""

    def __init__(
        self,
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
        self.ex = ex
        self.prefix = prefix
        self.base_increment = base_increment
        self.quote_increment = quote_increment
        self.base_min_size = base_min_size
        self.base_max_size = base_max_size
        self.quote_min_size = quote_min_size
        self.products = products
        self.page_size = page_size

    def product_body(self, pid: str) -> dict[str, Any]:
        """The venue's product object for ``pid`` (with the per-product overrides)."""
        sym, t = parse_symbol(pid), self.ex.book.top(pid)
        body: dict[str, Any] = {
            "product_id": pid,
            "price": _s(t.bid),
            "base_increment": self.base_increment,
            "quote_increment": self.quote_increment,
            "price_increment": self.quote_increment,
            "base_min_size": self.base_min_size,
            "base_max_size": self.base_max_size,
            "quote_min_size": self.quote_min_size,
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
        return body | (self.products or {}).get(pid, {})

    def refusal(self, pid: str, side: str, cfg: dict[str, Any]) -> str | None:
        """The venue's own checks on the strings sent (not on floats parsed from them)."""
        ex = self.ex
        if not ex.book.has(pid):
            return None  # INVALID_PRODUCT_ID below
        ((_key, c),) = cfg.items()
        size = dec(str(c["base_size"]))
        price = dec(str(c["limit_price"])) if c.get("limit_price") is not None else None
        top = ex.book.top(pid)
        rules = ProductRules.from_product(self.product_body(pid))
        ref = top.ask if side == "BUY" else top.bid
        return rules.refusal(size, price, ref_price=ref, post_only=bool(c.get("post_only", False)))

    def auth(self, req: Request) -> None:
        """The venue's JWT check: a registered key id, its algorithm, signature, expiry, and the request's
        method, host and path in the ``uri`` claim (401 otherwise)."""
        bearer = req.headers.get("Authorization") or ""
        if not bearer.startswith("Bearer "):
            raise HTTPError(401, "missing or invalid Authorization bearer token")
        uri = f"{req.method} {req.headers.get('Host') or ''}{req.path}"
        try:
            verify_jwt(bearer[len("Bearer ") :], self.ex.api_keys, uri)
        except AuthError as exc:
            raise HTTPError(401, f"Unauthorized: {exc}") from None

    def create(self, req: Request) -> Response | dict[str, Any]:
        """``POST /orders``: place an order (business refusals answer 200 with ``success:false``)."""
        self.auth(req)
        ex = self.ex
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
        why = None if ex.get_by_client_id(coid) else self.refusal(pid, side, cfg)
        if why is not None:
            return failure | _refused(why)
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

    def cancel(self, req: Request) -> dict[str, Any]:
        """``POST /orders/batch_cancel``: cancel the given order ids, one result each."""
        self.auth(req)
        ex = self.ex
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

    def get_order(self, req: Request) -> dict[str, Any]:
        """``GET /orders/historical/{order_id}``: one order (404 if unknown)."""
        self.auth(req)
        o = self.ex.get(req.params["order_id"])
        if o is None:
            raise HTTPError(404, "order not found")
        return {"order": coinbase_order(o)}

    def batch(self, req: Request) -> dict[str, Any]:
        """``GET /orders/historical/batch``: orders, newest first, filtered and paged."""
        self.auth(req)
        ex = self.ex
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
        page, cursor = _page(orders[::-1], req.arg("cursor"), _limit(req, self.page_size))
        return {"orders": page, "sequence": "0", "has_next": bool(cursor), "cursor": cursor}

    def fills(self, req: Request) -> dict[str, Any]:
        """``GET /orders/historical/fills``: fills, newest first, filtered and paged."""
        self.auth(req)
        ex = self.ex
        ids, pids = set(req.args("order_ids")), set(req.args("product_ids"))
        with ex.lock:
            out = [
                _fill(f)
                for f in ex.fills
                if (not ids or f.order_id in ids) and (not pids or _pid(f.symbol) in pids)
            ]
        page, cursor = _page(out[::-1], req.arg("cursor"), _limit(req, self.page_size))
        return {"fills": page, "cursor": cursor}

    def best_bid_ask(self, req: Request) -> dict[str, Any]:
        """``GET /best_bid_ask``: the top of book of the given (or all) products."""
        self.auth(req)
        ex = self.ex
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

    def product(self, req: Request) -> dict[str, Any]:
        """``GET /products/{product_id}``: the product object (404 if unknown)."""
        self.auth(req)
        pid = req.params["product_id"]
        if not self.ex.book.has(pid):
            raise HTTPError(404, f"product {pid} not found")
        return self.product_body(pid)

    def summary(self, req: Request) -> dict[str, Any]:
        """``GET /transaction_summary``: volume, fees and the current fee tier."""
        self.auth(req)
        ex = self.ex
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

    def accounts(self, req: Request) -> dict[str, Any]:
        """``GET /accounts``: one account per currency (balance, hold), paged."""
        self.auth(req)
        ex = self.ex
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
        page, cursor = _page(accs, req.arg("cursor"), _limit(req, self.page_size))
        return {"accounts": page, "has_next": bool(cursor), "cursor": cursor, "size": len(page)}

    def register(self, router: Router) -> None:
        """Add every route to ``router`` under ``prefix``, with Coinbase's error bodies."""
        eb, p = coinbase_error_body, self.prefix
        pid = r"(?P<product_id>[A-Za-z0-9]+-[A-Za-z0-9]+)"
        for method, path, fn, name in (
            ("POST", f"{p}/orders", self.create, "coinbase.create_order"),
            ("POST", f"{p}/orders/batch_cancel", self.cancel, "coinbase.cancel_orders"),
            ("GET", f"{p}/orders/historical/batch", self.batch, "coinbase.orders_batch"),
            ("GET", f"{p}/orders/historical/fills", self.fills, "coinbase.fills"),
            (
                "GET",
                rf"{p}/orders/historical/(?P<order_id>[0-9a-fA-F-]{{36}})",
                self.get_order,
                "coinbase.order",
            ),
            ("GET", f"{p}/best_bid_ask", self.best_bid_ask, "coinbase.best_bid_ask"),
            ("GET", rf"{p}/products/{pid}", self.product, "coinbase.product"),
            ("GET", f"{p}/transaction_summary", self.summary, "coinbase.transaction_summary"),
            ("GET", f"{p}/accounts", self.accounts, "coinbase.accounts"),
        ):
            router.add(method, path, fn, name=name, error_body=eb)


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
    CoinbaseTradingRoutes(
        ex,
        prefix=prefix,
        base_increment=base_increment,
        quote_increment=quote_increment,
        base_min_size=base_min_size,
        base_max_size=base_max_size,
        quote_min_size=quote_min_size,
        products=products,
        page_size=page_size,
    ).register(router)


def coinbase_exchange(ex: Exchange, router: Router | None = None, **options: Any) -> LoopbackServer:
    """An HTTPS loopback (fresh self-signed cert) speaking Coinbase Advanced trading; ``options`` go to
    :func:`register_coinbase_trading` (increments, minimums, ``page_size``)."""
    router = router or Router()
    register_coinbase_trading(router, ex, **options)
    srv = LoopbackServer(router, tls=True, name="coinbase-exchange")
    srv.exchange = ex  # clients register their keys on it
    return srv
