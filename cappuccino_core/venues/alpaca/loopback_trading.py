"""Alpaca trading endpoints (``/v2/...``) and latest crypto quotes on an :class:`Exchange`.

Orders use ``BTC/USD``, positions ``BTCUSD``; money and quantities are decimal strings; a single cancel
answers 204, cancel-all 207 with a per-order status list; a repeated client_order_id answers 422 like the
real venue; business rejections (insufficient balance, ...) answer 403. Fees follow Alpaca's crypto schedule
and are taken in the asset received (:mod:`cappuccino_core.venues.alpaca.rules`); qty and limit_price must
sit on the asset's ``min_trade_increment``/``price_increment`` and qty reach ``min_order_size`` (422, code
40010001, like the venue).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.loopback.exchange.accounts import Exchange, ExOrder, FeeTier
from cappuccino_core.loopback.server import HTTPError, LoopbackServer, Request, Response, Router
from cappuccino_core.trading.brokers.decimals import dec, plain
from cappuccino_core.venues.alpaca.loopback_marketdata import alpaca_error_body
from cappuccino_core.venues.alpaca.rules import FEE_TIERS, INVALID, AssetRules

_STATUS = {
    "open": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "rejected": "rejected",
}
ACCOUNT_ID = "4b7c5a36-0c2e-4d8b-9a1e-6f1f2a3b4c5d"


def _iso(t: datetime | None) -> str | None:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if t else None


def _num(x: float | None) -> str | None:
    return None if x is None else plain(dec(float(x)))  # decimal strings, never exponent form


def alpaca_order(o: ExOrder) -> dict[str, Any]:
    """An exchange order as Alpaca's order object (JSON fields, statuses and timestamps as the venue sends
    them)."""
    return {
        "id": o.id,
        "client_order_id": o.client_order_id,
        "created_at": _iso(o.created),
        "updated_at": _iso(o.updated),
        "submitted_at": _iso(o.created),
        "filled_at": _iso(o.updated) if o.status == "filled" else None,
        "canceled_at": _iso(o.updated) if o.status == "canceled" else None,
        "expired_at": None,
        "failed_at": None,
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, o.symbol)),
        "symbol": o.symbol,
        "asset_class": "crypto",
        "notional": None,
        "qty": _num(o.qty),
        "filled_qty": _num(o.filled_qty),
        "filled_avg_price": _num(o.avg_price),
        "order_class": "",
        "order_type": o.order_type,
        "type": o.order_type,
        "side": o.side,
        "time_in_force": o.time_in_force,
        "limit_price": _num(o.limit_price),
        "stop_price": None,
        "status": "pending_cancel" if o.pending_cancel else _STATUS[o.status],
        "extended_hours": False,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
        "position_intent": "buy_to_open" if o.side == "buy" else "sell_to_close",
    }


def _position(ex: Exchange, sym: str, qty: float) -> dict[str, Any]:
    top = ex.book.top(sym)
    basis = ex.cost_basis.get(sym, 0.0)
    avg = basis / qty if qty > 0 else 0.0
    value = qty * top.bid
    return {
        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, sym)),
        "symbol": sym.replace("/", ""),
        "exchange": "CRYPTO",
        "asset_class": "crypto",
        "avg_entry_price": _num(avg),
        "qty": _num(qty),
        "qty_available": _num(qty),
        "side": "long",
        "market_value": _num(value),
        "cost_basis": _num(basis),
        "unrealized_pl": _num(value - basis),
        "unrealized_plpc": _num((value - basis) / basis if basis else 0.0),
        "current_price": _num(top.bid),
        "lastday_price": _num(top.bid),
        "change_today": "0",
    }


def _float(body: dict[str, Any], key: str) -> float | None:
    v = body.get(key)
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise HTTPError(422, f"invalid {key}: {v!r}") from None


def _decimal(body: dict[str, Any], key: str) -> Any:
    v = body.get(key)
    return None if v is None else dec(v if isinstance(v, str) else float(v))


class AlpacaTradingRoutes:
    """Alpaca trading route handlers on one :class:`Exchange`, one method per route."""

    def __init__(
        self,
        ex: Exchange,
        *,
        prefix: str = "/v2",
        min_order_size: str = "0.000001",
        min_trade_increment: str = "0.000000001",
        price_increment: str = "0.000000001",
    ) -> None:
        self.ex = ex
        self.prefix = prefix
        self.min_order_size = min_order_size
        self.min_trade_increment = min_trade_increment
        self.price_increment = price_increment

    def asset_body(self, sym: str) -> dict[str, Any]:
        """The venue's asset object for ``sym`` (with the configured increments and minimum)."""
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, sym)),
            "class": "crypto",
            "exchange": "CRYPTO",
            "symbol": sym,
            "name": sym,
            "status": "active",
            "tradable": True,
            "marginable": False,
            "shortable": False,
            "easy_to_borrow": False,
            "fractionable": True,
            "min_order_size": self.min_order_size,
            "min_trade_increment": self.min_trade_increment,
            "price_increment": self.price_increment,
            "attributes": [],
        }

    def asset(self, req: Request) -> dict[str, Any]:
        """``GET /assets/{symbol}``: the asset object (404 if unknown)."""
        self.auth(req)
        try:
            sym = str(parse_symbol(req.params["symbol"].replace("%2F", "/")))
        except ValueError:
            raise HTTPError(404, "asset not found") from None
        if not self.ex.book.has(sym):
            raise HTTPError(404, "asset not found")
        return self.asset_body(sym)

    def auth(self, req: Request) -> None:
        """Alpaca's key check: APCA-API-KEY-ID names a registered key, APCA-API-SECRET-KEY is its secret."""
        key, secret = req.headers.get("APCA-API-KEY-ID"), req.headers.get("APCA-API-SECRET-KEY")
        if not key or not secret or self.ex.api_keys.get(key) != secret:
            raise HTTPError(401, "request is not authorized")

    def account(self, req: Request) -> dict[str, Any]:
        """``GET /account``: cash, equity and the account's flags."""
        self.auth(req)
        ex = self.ex
        with ex.lock:
            cash, equity = ex.cash, ex.equity()
        return {
            "id": ACCOUNT_ID,
            "account_number": "PA0LOOPBACK",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": ex.quote,
            "cash": _num(cash),
            "buying_power": _num(cash),
            "non_marginable_buying_power": _num(cash),
            "equity": _num(equity),
            "portfolio_value": _num(equity),
            "long_market_value": _num(equity - cash),
            "multiplier": "1",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
        }

    def submit(self, req: Request) -> Response:
        """``POST /orders``: place an order (422 on a bad or duplicate request, 403 on a business refusal)."""
        self.auth(req)
        ex = self.ex
        body = req.json() or {}
        coid = str(body.get("client_order_id") or uuid.uuid4())
        qty = _float(body, "qty")
        if qty is None or qty <= 0:
            raise HTTPError(422, "qty is required and must be > 0 (notional orders are not simulated)")
        typ, tif = str(body.get("type", "market")), str(body.get("time_in_force", "gtc"))
        if typ not in ("market", "limit") or tif not in ("gtc", "ioc"):
            raise HTTPError(422, f"unsupported crypto order type/time_in_force {typ}/{tif}")
        sym = str(body.get("symbol", ""))
        if ex.book.has(sym) and ex.get_by_client_id(coid) is None:
            rules = AssetRules.from_asset(self.asset_body(str(parse_symbol(sym))))
            why = rules.refusal(_decimal(body, "qty"), _decimal(body, "limit_price"))
            if why is not None:
                return Response(422, {"code": INVALID, "message": why})
        try:
            o = ex.place(
                coid,
                sym,
                str(body.get("side", "")),
                qty,
                order_type=typ,
                limit_price=_float(body, "limit_price"),
                time_in_force=tif,
            )
        except KeyError as exc:
            raise HTTPError(422, f"asset not found: {exc}") from None
        except ValueError as exc:
            raise HTTPError(422, str(exc)) from None
        if o.duplicate:
            raise HTTPError(422, "client_order_id must be unique")
        if o.status == "rejected":
            raise HTTPError(
                403,
                "insufficient balance"
                if o.reject_reason == "INSUFFICIENT_FUND"
                else f"order rejected: {o.reject_reason}",
            )
        stall = ex.take_stall()
        if stall > 0:
            ex.closing.wait(stall)
        return Response(200, alpaca_order(o))

    def list_orders(self, req: Request) -> list[dict[str, Any]]:
        """``GET /orders``: open, closed or all orders (never the rejected ones)."""
        self.auth(req)
        status = req.arg("status", "open")
        with self.ex.lock:
            orders = list(self.ex.orders.values())
        if status == "open":
            orders = [o for o in orders if o.status in ("open", "partially_filled")]
        elif status == "closed":
            orders = [o for o in orders if o.status not in ("open", "partially_filled")]
        return [alpaca_order(o) for o in orders if o.status != "rejected"]

    def get_order(self, req: Request) -> dict[str, Any]:
        """``GET /orders/{order_id}``: one order (404 if unknown or rejected)."""
        self.auth(req)
        o = self.ex.get(req.params["order_id"])
        if o is None or o.status == "rejected":
            raise HTTPError(404, "order not found")
        return alpaca_order(o)

    def by_client_id(self, req: Request) -> dict[str, Any]:
        """``GET /orders:by_client_order_id``: one order by its client id (404 if unknown or rejected)."""
        self.auth(req)
        o = self.ex.get_by_client_id(req.arg("client_order_id") or "")
        if o is None or o.status == "rejected":
            raise HTTPError(404, "order not found")
        return alpaca_order(o)

    def cancel(self, req: Request) -> Response:
        """``DELETE /orders/{order_id}``: cancel one order (204; 404 if unknown, 422 if not live)."""
        self.auth(req)
        ex = self.ex
        with ex.lock:
            o = ex.get(req.params["order_id"])
            if o is None:
                raise HTTPError(404, "order not found")
            if o.status not in ("open", "partially_filled") or o.pending_cancel:
                state = "pending_cancel" if o.pending_cancel else _STATUS[o.status]
                raise HTTPError(422, f"order is {state} and cannot be canceled")
            ex.cancel(o.id)
        return Response(204)

    def cancel_all(self, req: Request) -> Response:
        """``DELETE /orders``: cancel every open order (207 with a status per order)."""
        self.auth(req)
        ex = self.ex
        out = [{"id": o.id, "status": 200, "body": None} for o in ex.open_orders() if ex.cancel(o.id)]
        return Response(207, out)

    def positions(self, req: Request) -> list[dict[str, Any]]:
        """``GET /positions``: every non-zero holding."""
        self.auth(req)
        ex = self.ex
        with ex.lock:
            return [_position(ex, s, q) for s, q in sorted(ex.holdings.items()) if q > 1e-12]

    def position(self, req: Request) -> dict[str, Any]:
        """``GET /positions/{symbol}``: one holding (404 if none)."""
        self.auth(req)
        try:
            sym = str(parse_symbol(req.params["symbol"]))
        except ValueError:
            raise HTTPError(404, "position does not exist") from None
        with self.ex.lock:
            q = self.ex.holdings.get(sym, 0.0)
            if q <= 1e-12:
                raise HTTPError(404, "position does not exist")
            return _position(self.ex, sym, q)

    def fee_activities(self, req: Request) -> list[dict[str, Any]]:
        """``GET /account/activities/{CFEE|FEE}`` (optional ``order_id``): the fee each fill was charged, as
        the venue books it: CFEE for a fee kept in the asset received (``qty`` negative, in the base asset),
        FEE for a fee paid in USD (``net_amount`` negative). Other activity types answer an empty list."""
        self.auth(req)
        kind, order_id = req.params["activity_type"].upper(), req.arg("order_id")
        with self.ex.lock:
            fills = [f for f in self.ex.fills if order_id is None or f.order_id == order_id]
        out = []
        for f in fills:
            in_kind = f.fee_asset != "" and f.fee_asset != self.ex.quote
            if kind != ("CFEE" if in_kind else "FEE"):
                continue
            out.append(
                {
                    "id": f"{f.trade_id}::fee",
                    "activity_type": kind,
                    "date": _iso(f.time),
                    "order_id": f.order_id,
                    "symbol": f.symbol.replace("/", ""),
                    "qty": _num(-f.fee if in_kind else 0.0),
                    "price": _num(f.price),
                    "net_amount": _num(0.0 if in_kind else -f.fee),
                    "description": f"{f.liquidity} fee on {f.trade_id}",
                    "status": "executed",
                }
            )
        return out

    def latest_quotes(self, req: Request) -> dict[str, Any]:
        """``GET /v1beta3/crypto/us/latest/quotes``: the top of book of the given symbols (no auth)."""
        out: dict[str, Any] = {}
        for s in req.args("symbols"):
            if self.ex.book.has(s):
                t = self.ex.book.top(s)
                out[s] = {"t": _iso(t.time), "bp": t.bid, "bs": t.bid_size, "ap": t.ask, "as": t.ask_size}
        return {"quotes": out}

    def register(self, router: Router) -> None:
        """Add every route to ``router`` under ``prefix``, with Alpaca's error bodies."""
        eb, p = alpaca_error_body, self.prefix
        oid = r"(?P<order_id>[0-9a-fA-F-]{36})"
        for method, path, fn, name in (
            ("GET", f"{p}/account", self.account, "alpaca.account"),
            ("POST", f"{p}/orders", self.submit, "alpaca.submit_order"),
            ("GET", f"{p}/orders", self.list_orders, "alpaca.orders"),
            ("DELETE", f"{p}/orders", self.cancel_all, "alpaca.cancel_all"),
            ("GET", f"{p}/orders:by_client_order_id", self.by_client_id, "alpaca.order_by_client_id"),
            ("GET", f"{p}/orders/{oid}", self.get_order, "alpaca.order"),
            ("DELETE", f"{p}/orders/{oid}", self.cancel, "alpaca.cancel_order"),
            ("GET", f"{p}/positions", self.positions, "alpaca.positions"),
            ("GET", rf"{p}/positions/(?P<symbol>[A-Za-z0-9/%-]+)", self.position, "alpaca.position"),
            ("GET", rf"{p}/assets/(?P<symbol>[A-Za-z0-9/%-]+)", self.asset, "alpaca.asset"),
            (
                "GET",
                rf"{p}/account/activities/(?P<activity_type>[A-Za-z]+)",
                self.fee_activities,
                "alpaca.fee_activities",
            ),
            ("GET", "/v1beta3/crypto/us/latest/quotes", self.latest_quotes, "alpaca.latest_quotes"),
        ):
            router.add(method, path, fn, name=name, error_body=eb)


def register_alpaca_trading(
    router: Router,
    ex: Exchange,
    *,
    prefix: str = "/v2",
    min_order_size: str = "0.000001",
    min_trade_increment: str = "0.000000001",
    price_increment: str = "0.000000001",
) -> None:
    """Routes ``alpaca.account``, ``alpaca.submit_order``, ``alpaca.orders``, ``alpaca.order``,
    ``alpaca.order_by_client_id``, ``alpaca.cancel_order``, ``alpaca.cancel_all``, ``alpaca.positions``,
    ``alpaca.position``, ``alpaca.asset``, ``alpaca.latest_quotes`` (``/v1beta3/crypto/us/latest/quotes``).
    ``ex`` is set to charge Alpaca's fee tiers (unless it was given its own) in the asset received."""
    ex.charge_like(
        tuple(FeeTier(v, m, t, f"Tier {i + 1}") for i, (v, m, t) in enumerate(FEE_TIERS)), fee_in_kind=True
    )
    AlpacaTradingRoutes(
        ex,
        prefix=prefix,
        min_order_size=min_order_size,
        min_trade_increment=min_trade_increment,
        price_increment=price_increment,
    ).register(router)


def alpaca_exchange(ex: Exchange, router: Router | None = None) -> LoopbackServer:
    """A plain-HTTP loopback speaking Alpaca trading (pass ``server.url`` as ``url_override``)."""
    router = router or Router()
    register_alpaca_trading(router, ex)
    srv = LoopbackServer(router, name="alpaca-exchange")
    srv.exchange = ex  # clients register their keys on it
    return srv
