"""``coinbase``: the Broker protocol on coinbase-advanced-py's RESTClient, maker-first by default.

Lot and tick rounding come from product metadata (GET /products/{id}); the fee tier from the transaction
summary; maker/taker attribution from the fills' liquidity indicator. Business rejections arrive as HTTP 200
with ``success:false`` and become ``rejected`` orders. Every placement is looked up by client order id before
any resend (timeouts, dropped connections, 429 and 5xx are retried; the venue also de-duplicates ids)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from coinbase.rest import RESTClient

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.trading.brokers.base import (
    Account,
    Fill,
    Order,
    OrderType,
    Position,
    Quote,
    Side,
    TimeInForce,
)
from cappuccino_core.trading.brokers.decimals import plain
from cappuccino_core.trading.brokers.retry import is_transient, place_once, with_retries
from cappuccino_core.venues.coinbase import maker_first
from cappuccino_core.venues.coinbase.auth import SigningRESTClient
from cappuccino_core.venues.coinbase.rules import ProductRules, failure_reason
from cappuccino_core.venues.coinbase.wire import _d

log = logging.getLogger(__name__)
LOOKUP_WINDOW = timedelta(days=7)  # how far back an order is searched by client id

_STATUS = {
    "OPEN": "open",
    "FILLED": "filled",
    "CANCELLED": "canceled",
    "EXPIRED": "expired",
    "FAILED": "rejected",
    "PENDING": "new",
    "QUEUED": "new",
    "CANCEL_QUEUED": "pending_cancel",  # live: fills can still arrive until the venue confirms
}


def _f(x: Any) -> float:
    return float(x) if x not in (None, "") else 0.0


def _pid(asset: str) -> str:
    s = parse_symbol(asset)
    return f"{s.base}-{s.quote}"


def _time(x: Any) -> datetime | None:
    return datetime.fromisoformat(str(x).replace("Z", "+00:00")) if x else None


class CoinbaseBroker:
    """A Coinbase Advanced Trade account through coinbase-advanced-py, behind the :class:`Broker` protocol:
    maker-first orders (post-only limit legs, then a taker leg), fills reported with the venue's trade ids."""

    name = "coinbase"
    execution_ids = True  # fills() carries the venue's trade id per execution
    fee_in_kind = False  # fees are charged in the quote currency

    def __init__(
        self, client: RESTClient, cfg: TradingConfig, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client, self.cfg, self.sleep = client, cfg, sleep
        self._products: dict[str, dict[str, Any]] = {}
        self._ids: dict[str, str] = {}  # client order id -> venue order id
        self.maker_fee_rate, self.fee_rate = self._fee_tier()

    @classmethod
    def connect(cls, cfg: TradingConfig, api_key: str, api_secret: str) -> CoinbaseBroker:
        """A broker on ``cfg``'s Coinbase endpoint with this key (ES256 or Ed25519)."""
        client = SigningRESTClient(  # ES256 or Ed25519 keys
            api_key=api_key,
            api_secret=api_secret,
            base_url=cfg.coinbase_base_url,
            timeout=math.ceil(cfg.request_timeout_s),
        )
        if cfg.coinbase_cert_path:
            client.session.verify = cfg.coinbase_cert_path
            client.session.trust_env = False  # else REQUESTS_CA_BUNDLE silently overrides verify
        return cls(client, cfg)

    def _retry(self, what: str, call: Callable[[], Any]) -> Any:
        c = self.cfg
        return with_retries(
            what,
            call,
            transient=is_transient,
            attempts=c.submit_attempts,
            wait_s=c.retry_wait_s,
            wait_max_s=c.retry_wait_max_s,
            sleep=self.sleep,
        )

    # ------------------------------------------------------------------ venue metadata
    def _fee_tier(self) -> tuple[float, float]:
        tier = _d(self._retry("transaction_summary", self.client.get_transaction_summary))["fee_tier"]
        return float(tier["maker_fee_rate"]), float(tier["taker_fee_rate"])

    def refresh_fee_tier(self) -> tuple[float, float]:
        """Re-read the fee tier (it moves with traded volume); returns (maker, taker)."""
        self.maker_fee_rate, self.fee_rate = self._fee_tier()
        return self.maker_fee_rate, self.fee_rate

    def product(self, asset: str) -> dict[str, Any]:
        """The venue's product record for ``asset`` (increments, minimum sizes), fetched once and cached."""
        pid = _pid(asset)
        if pid not in self._products:
            self._products[pid] = _d(self._retry("get_product", lambda: self.client.get_product(pid)))
        return self._products[pid]

    def rules(self, asset: str) -> ProductRules:
        """Increments, minimums and trading mode of ``asset``'s product (read once per broker)."""
        return ProductRules.from_product(self.product(asset))

    def round_qty(self, asset: str, qty: float) -> float:
        """``qty`` rounded down to the product's ``base_increment`` (Decimal arithmetic)."""
        return float(self.rules(asset).size(qty)) if qty > 0 else 0.0

    def round_price(self, asset: str, price: float, side: str) -> float:
        """Buys round down, sells up: a maker quote never crosses because of rounding."""
        return float(self.rules(asset).price(price, side))

    # ------------------------------------------------------------------ account
    def _pages(
        self,
        what: str,
        call: Callable[..., Any],
        key: str,
        *,
        enough: Callable[[list[dict[str, Any]]], bool] | None = None,
        **query: Any,
    ) -> list[dict[str, Any]]:
        """Every page of a cursor-paginated list (accounts, orders, fills: ``has_next``/``cursor``), or the
        pages up to the first one for which ``enough(page_items)`` is true."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            args = query | ({"cursor": cursor} if cursor else {})
            page = _d(self._retry(what, lambda args=args: call(**args)))  # type: ignore[misc]
            items = page.get(key) or []
            out.extend(items)
            cursor = str(page.get("cursor") or "") or None
            if (
                (enough is not None and enough(items))
                or not cursor
                or not page.get("has_next", True)
                or cursor in seen
            ):
                return out
            seen.add(cursor)

    def _balances(self) -> dict[str, float]:
        """Balance per currency (available + hold) over every page of accounts."""
        accs = self._pages("get_accounts", self.client.get_accounts, "accounts")
        out: dict[str, float] = {}
        for a in accs:
            v = _f(a["available_balance"]["value"]) + _f((a.get("hold") or {}).get("value"))
            out[a["currency"]] = out.get(a["currency"], 0.0) + v
        return out

    def _marks(self, currencies: list[str]) -> dict[str, float]:
        """Bid per currency against USD; a currency without a ``<C>-USD`` book is left out (logged)."""
        marks: dict[str, float] = {}
        assets = []
        for c in currencies:
            try:
                assets.append(str(parse_symbol(f"{c}/USD")))
            except ValueError:
                continue
        if assets:
            try:
                books = self.best_bid_ask(assets)
            except requests.HTTPError:
                books = {}
            marks = {parse_symbol(s).base: q.bid for s, q in books.items()}
        missing = [c for c in currencies if c not in marks]
        if missing:
            log.warning("coinbase: no USD book for %s; valued at 0 in equity", ", ".join(missing))
        return marks

    def account(self) -> Account:
        """Cash (USD + USDC) and equity; a held currency without a USD book (dust) counts 0, not a crash."""
        bal = self._balances()
        quotes = {"USD", "USDC"}
        cash = sum(v for c, v in bal.items() if c in quotes)
        held = {c: v for c, v in bal.items() if c not in quotes and v > 0}
        marks = self._marks(sorted(held))
        equity = cash + sum(v * marks.get(c, 0.0) for c, v in held.items())
        return Account(cash, equity, "USD", self.maker_fee_rate, self.fee_rate)

    def cash(self) -> float:
        bal = self._balances()
        return bal.get("USD", 0.0) + bal.get("USDC", 0.0)

    def position_details(self) -> list[Position]:
        return [
            Position(f"{c}/USD", v) for c, v in self._balances().items() if c not in ("USD", "USDC") and v
        ]

    def positions(self) -> dict[str, float]:
        return {p.asset: p.qty for p in self.position_details()}

    def quote(self, asset: str) -> Quote:
        """Top of book for one asset."""
        return self.best_bid_ask([asset])[str(parse_symbol(asset))]

    def best_bid_ask(self, assets: list[str]) -> dict[str, Quote]:
        pids = [_pid(a) for a in assets]
        books = _d(self._retry("best_bid_ask", lambda: self.client.get_best_bid_ask(product_ids=pids)))
        out = {}
        for b in books["pricebooks"]:
            s = str(parse_symbol(b["product_id"]))
            bid, ask = b["bids"][0], b["asks"][0]
            out[s] = Quote(
                s,
                float(bid["price"]),
                float(ask["price"]),
                float(bid["size"]),
                float(ask["size"]),
                _time(b.get("time")),
            )
        return out

    # ------------------------------------------------------------------ one venue order (a leg)
    def _order(self, raw: dict[str, Any]) -> Order:
        cfg: dict[str, Any] = next(iter(raw.get("order_configuration", {}).values()), {})
        filled = _f(raw.get("filled_size"))
        status = _STATUS.get(raw["status"], "open")
        if status == "open" and filled > 0:
            status = "partially_filled"
        limit = _f(cfg.get("limit_price")) or None
        fills = self._fills_raw(order_ids=[raw["order_id"]]) if filled > 0 else []
        liq = {f["liquidity_indicator"] for f in fills}
        order_type: OrderType = "limit" if limit else "market"
        tif: TimeInForce = "gtc" if raw.get("time_in_force") == "GOOD_UNTIL_CANCELLED" else "ioc"
        return Order(
            client_order_id=raw["client_order_id"],
            asset=str(parse_symbol(raw["product_id"])),
            side="buy" if raw["side"] == "BUY" else "sell",
            qty=_f(cfg.get("base_size")),
            status=status,
            order_type=order_type,
            limit_price=limit,
            time_in_force=tif,
            post_only=bool(cfg.get("post_only")),
            broker_order_id=raw["order_id"],
            filled_qty=filled,
            avg_price=_f(raw.get("average_filled_price")) or None,
            fee=_f(raw.get("total_fees")),
            liquidity=("MAKER" if liq == {"MAKER"} else "TAKER") if liq else None,
            reason=raw.get("reject_message") or None,
            time=_time(raw.get("last_fill_time") or raw.get("created_time")),
        )

    def get_order_by_id(self, broker_order_id: str) -> Order | None:
        def call() -> Order | None:
            try:
                return self._order(_d(self.client.get_order(broker_order_id))["order"])
            except requests.HTTPError as exc:
                if str(exc).startswith("404"):
                    return None
                raise

        return self._retry("get_order", call)

    def leg(self, coid: str) -> Order | None:
        """A venue order by client order id (the local map first, else a scan of the venue's order list)."""
        oid = self._ids.get(coid)
        if oid is None:
            self._scan_orders(find=coid)
            oid = self._ids.get(coid)
            if oid is None:
                return None
        return self.get_order_by_id(oid)

    def _refuse(
        self, coid: str, asset: str, side: str, qty: float, limit: float | None, post_only: bool, why: str
    ) -> Order:
        return Order(
            coid,
            str(parse_symbol(asset)),
            "buy" if side == "buy" else "sell",
            qty,
            "rejected",
            "limit" if limit is not None else "market",
            limit,
            post_only=post_only,
            reason=why,
        )

    def _scan_orders(self, find: str | None = None, **query: Any) -> list[dict[str, Any]]:
        """The orders the venue lists, newest first, over every page; learns each client order id's venue id.
        With ``find``: stops at the page holding that id or at one older than :data:`LOOKUP_WINDOW` (a leg
        looked up before it is sent is recent; the account's whole history is not read per order)."""
        horizon = datetime.now(UTC) - LOOKUP_WINDOW

        def enough(items: list[dict[str, Any]]) -> bool:
            if find is None:
                return False
            if any(o.get("client_order_id") == find for o in items):
                return True
            oldest = _time(items[-1].get("created_time")) if items else None
            return oldest is not None and oldest < horizon

        listed = self._pages("list_orders", self.client.list_orders, "orders", enough=enough, **query)
        for o in listed:
            if o.get("client_order_id"):
                self._ids.setdefault(str(o["client_order_id"]), str(o["order_id"]))
        return listed

    def place_leg(
        self, coid: str, asset: str, side: str, qty: float, limit_price: float | None, post_only: bool
    ) -> Order:
        """Place one venue order. Size rounded down to ``base_increment`` (a sell also to the holding), price
        to the tick; an order the venue would refuse (minimums, trading mode) is refused here with the
        venue's code and never sent."""
        rules, pid = self.rules(asset), _pid(asset)
        size = rules.size(qty)
        if side == "sell":
            held = self._balances().get(parse_symbol(asset).base, 0.0)
            size = min(size, rules.size(held)) if held > 0 else size
        px = rules.price(limit_price, side) if limit_price is not None else None
        ref = None
        if px is None and rules.quote_min_size > 0:
            q = self.quote(asset)
            ref = q.ask if side == "buy" else q.bid
        why = rules.refusal(size, px, ref_price=ref, post_only=post_only)
        if why is not None:
            return self._refuse(coid, asset, side, qty, limit_price, post_only, why)
        base = plain(size)
        if px is None:
            cfg: dict[str, Any] = {"market_market_ioc": {"base_size": base}}
        else:
            cfg = {"limit_limit_gtc": {"base_size": base, "limit_price": plain(px), "post_only": post_only}}

        def send() -> Order:
            resp = _d(self.client.create_order(coid, pid, side.upper(), cfg))
            if not resp.get("success"):
                reason = failure_reason(resp)
                return self._refuse(coid, asset, side, qty, limit_price, post_only, reason)
            ok = resp.get("success_response") or resp.get("response") or {}
            oid = str(ok.get("order_id") or resp["order_id"])
            self._ids[coid] = oid
            got = self.get_order_by_id(oid)
            if got is None:
                raise requests.ConnectionError(f"order {oid} accepted but not found yet")
            return got

        c = self.cfg
        return place_once(
            coid,
            lambda: self.leg(coid),
            send,
            transient=is_transient,
            attempts=c.submit_attempts,
            wait_s=c.retry_wait_s,
            wait_max_s=c.retry_wait_max_s,
            sleep=self.sleep,
        )

    def cancel_leg(self, order: Order) -> Order:
        """Cancel a live leg at the venue and return its state afterwards (a final leg is returned as is)."""
        if order.broker_order_id and order.is_live:
            oid = order.broker_order_id
            self._retry("cancel_orders", lambda: self.client.cancel_orders(order_ids=[oid]))
            return self.get_order_by_id(oid) or order
        return order

    # ------------------------------------------------------------------ Broker protocol
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
        s: Side = "buy" if side == "buy" else "sell"
        if order_type == "market" and self.cfg.maker_first:
            return maker_first.work(self, self.cfg, client_order_id, asset, s, qty, sleep=self.sleep)
        return self.place_leg(
            client_order_id, asset, s, qty, limit_price if order_type == "limit" else None, post_only
        )

    def get_order(self, client_order_id: str) -> Order | None:
        direct = self.leg(client_order_id)
        if direct is not None or not self.cfg.maker_first:
            return direct
        legs = [
            o
            for k in range(self.cfg.maker_requotes + 1)
            if (o := self.leg(maker_first.leg_id(client_order_id, k)))
        ]
        taker = self.leg(maker_first.leg_id(client_order_id, 0, "t"))
        legs += [taker] if taker else []
        if not legs:
            return None
        live = any(o.is_live for o in legs)
        return maker_first.combine(
            client_order_id, legs[0].asset, legs[0].side, legs[0].qty, legs, done=not live
        )

    def cancel(self, client_order_id: str) -> Order | None:
        o = self.leg(client_order_id)
        return self.cancel_leg(o) if o is not None else self.get_order(client_order_id)

    def cancel_all(self) -> list[str]:
        listed = self._scan_orders(order_status=["OPEN"])
        ids = [o["order_id"] for o in listed]
        if not ids:
            return []
        res = _d(self._retry("cancel_orders", lambda: self.client.cancel_orders(order_ids=ids)))["results"]
        ok = {r["order_id"] for r in res if r.get("success")}
        return [o["client_order_id"] for o in listed if o["order_id"] in ok]

    def _fills_raw(self, **query: Any) -> list[dict[str, Any]]:
        return self._pages("get_fills", self.client.get_fills, "fills", **query)

    def fills(self, client_order_id: str | None = None) -> list[Fill]:
        """Executions, oldest first; for ``client_order_id``, those of that order and its maker-first legs
        (asked by venue order id when the ids are known, so no page of other fills can hide them)."""

        def mine() -> list[str]:
            return [] if client_order_id is None else [
                oid for coid, oid in self._ids.items()
                if coid == client_order_id or coid.startswith(client_order_id + "-")
            ]  # fmt: skip

        oids = mine()
        if client_order_id is not None and not oids:  # after a restart: learn the ids from the venue
            self._scan_orders()
            oids = mine()
            if not oids:
                return []
        raw = self._fills_raw(order_ids=oids) if oids else self._fills_raw()
        ids = {v: k for k, v in self._ids.items()}
        out = []
        for f in raw:
            coid = ids.get(f["order_id"], f["order_id"])  # venue fills carry no client order id
            if (
                client_order_id is not None
                and coid != client_order_id
                and not coid.startswith(client_order_id + "-")
            ):
                continue
            out.append(
                Fill(
                    f["trade_id"],
                    coid,
                    str(parse_symbol(f["product_id"])),
                    "buy" if f["side"] == "BUY" else "sell",
                    float(f["size"]),
                    float(f["price"]),
                    float(f["commission"]),
                    "MAKER" if f["liquidity_indicator"] == "MAKER" else "TAKER",
                    _time(f["trade_time"]) or datetime.now(),
                    f["order_id"],
                )
            )
        return sorted(out, key=lambda f: (f.time, f.trade_id))  # oldest first (the venue sends newest first)
