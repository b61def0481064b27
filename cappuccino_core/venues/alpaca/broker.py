"""``alpaca-paper``: the Broker protocol on alpaca-py's TradingClient (paper=True; ``url_override`` points it
at the loopback exchange in tests). Market and limit orders, fractional qty, gtc/ioc; positions come back
without the slash (``BTCUSD``) and are normalised; cancel answers 204, cancel-all 207.

Alpaca's order object carries no fee: fills are derived from ``filled_qty``/``filled_avg_price`` changes.
Their fee is what the venue reports it charged the order (its CFEE / FEE account activities, filtered by
``order_id``); only when it reports none is the fill charged by Alpaca's crypto schedule (entry tier 0.15%
maker / 0.25% taker). Liquidity is a guess either way: a market order or a limit that filled on arrival is
TAKER, a limit that filled after it rested is MAKER. The fee of a buy is taken by
the venue in the asset received (the position is the filled quantity minus the fee); ``Fill.fee`` is its
value in quote currency. Quantities and limit prices are rounded (Decimal, down / to the tick) to the
asset's ``min_trade_increment``/``price_increment``; below ``min_order_size`` or ``post_only`` (Alpaca has
no post-only crypto orders) the order is refused before it leaves. 403/422 business answers become
``rejected`` orders with the venue's message; 401 and permission 403s raise :class:`BrokerPermissionError`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from alpaca.common.exceptions import APIError
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.requests import CryptoLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.data.http import apply_timeout
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.trading.brokers.base import (
    Account,
    BrokerError,
    Fill,
    Order,
    OrderType,
    Position,
    Quote,
    Side,
    TimeInForce,
)
from cappuccino_core.trading.brokers.retry import is_transient, place_once, with_retries
from cappuccino_core.venues.alpaca.rules import (
    ENTRY_MAKER,
    ENTRY_TAKER,
    POST_ONLY_UNSUPPORTED,
    AssetRules,
    error_fields,
    is_business_rejection,
)

_STATUS = {
    "new": "open",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "expired": "expired",
    "done_for_day": "expired",
    "replaced": "canceled",
    "rejected": "rejected",
    "pending_new": "new",
    "accepted": "new",
    "accepted_for_bidding": "new",
    "pending_cancel": "pending_cancel",
    "pending_replace": "open",
    "held": "new",
    "calculated": "open",
    "stopped": "open",
    "suspended": "open",
}


def _val(x: Any) -> str:
    return str(getattr(x, "value", x))


def _f(x: Any) -> float:
    return float(x) if x not in (None, "") else 0.0


def _not_found(exc: APIError) -> bool:
    return exc.status_code == 404


def _order_request(
    client_order_id: str, sym: str, side: str, q: Decimal, px: Decimal | None, time_in_force: TimeInForce
) -> Any:
    """alpaca-py's request for a rounded order: a limit order when ``px`` is set, else a market order."""
    common: dict[str, Any] = {
        "symbol": sym,
        "qty": float(q),
        "client_order_id": client_order_id,
        "side": OrderSide.BUY if side == "buy" else OrderSide.SELL,
        "time_in_force": AlpacaTif.IOC if time_in_force == "ioc" else AlpacaTif.GTC,
    }
    if px is not None:
        return LimitOrderRequest(limit_price=float(px), **common)
    return MarketOrderRequest(**common)


class BrokerPermissionError(BrokerError):
    """The venue refused the request for the account or the keys (401, a permission 403), not the order."""


class AlpacaPaperBroker:
    """The Alpaca paper-trading account through alpaca-py, behind the :class:`Broker` protocol (crypto,
    market and limit orders; a buy's fee is kept in the asset received)."""

    name = "alpaca-paper"
    fee_in_kind = True  # a buy's fee is kept in the asset received: the position is qty - fee / price
    execution_ids = False  # the order object reports cumulative filled qty and average price only

    def __init__(
        self,
        client: TradingClient,
        cfg: TradingConfig,
        *,
        fee_rate: float = ENTRY_TAKER,
        maker_fee_rate: float = ENTRY_MAKER,
        data_client: CryptoHistoricalDataClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.cfg, self.fee_rate, self.data, self.sleep = (
            client,
            cfg,
            fee_rate,
            data_client,
            sleep,
        )
        self.maker_fee_rate = maker_fee_rate
        self._rules: dict[str, AssetRules] = {}
        self._rested: set[str] = set()  # limit orders seen resting: their later fills are MAKER
        # alpaca-py sends without a timeout: the data layer's adapter adds one so a stalled answer ends.
        apply_timeout(client._session, cfg.request_timeout_s)
        client._retry_wait = int(cfg.retry_wait_s)  # the SDK's own 429/504 retries use the configured wait
        self._fills: dict[str, list[Fill]] = {}

    @classmethod
    def connect(
        cls,
        cfg: TradingConfig,
        api_key: str,
        secret_key: str,
        *,
        fee_rate: float = ENTRY_TAKER,
        maker_fee_rate: float = ENTRY_MAKER,
    ) -> AlpacaPaperBroker:
        """A broker on the paper endpoint in ``cfg`` with these keys (the data client for quotes included)."""
        client = TradingClient(api_key, secret_key, paper=True, url_override=cfg.alpaca_url_override)
        data = CryptoHistoricalDataClient(api_key, secret_key, url_override=cfg.alpaca_url_override)
        return cls(client, cfg, fee_rate=fee_rate, maker_fee_rate=maker_fee_rate, data_client=data)

    def rules(self, asset: str) -> AssetRules:
        """The asset's min_order_size and increments (GET /v2/assets/{symbol}, read once)."""
        sym = str(parse_symbol(asset))
        if sym not in self._rules:
            raw: Any = self._retry("get_asset", lambda: self.client.get(f"/assets/{sym}"))
            self._rules[sym] = AssetRules.from_asset(dict(raw))
        return self._rules[sym]

    def _retry(self, what: str, call: Callable[[], Any]) -> Any:
        """Retry transient failures; a 401/403 (keys, permissions) raises BrokerPermissionError."""
        try:
            return self._retry_raw(what, call)
        except APIError as exc:
            if exc.status_code in (401, 403):
                code, message = error_fields(str(exc))
                raise BrokerPermissionError(
                    f"alpaca refused {what} for the account/keys ({exc.status_code} {code}): {message}"
                ) from exc
            raise

    def _retry_raw(self, what: str, call: Callable[[], Any]) -> Any:
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

    # ------------------------------------------------------------------ account
    def account(self) -> Account:
        a: Any = self._retry("get_account", self.client.get_account)
        return Account(
            cash=_f(a.cash),
            equity=_f(a.equity),
            currency=str(a.currency or "USD"),
            taker_fee_rate=self.fee_rate,
            maker_fee_rate=self.maker_fee_rate,
        )

    def cash(self) -> float:
        return self.account().cash

    def position_details(self) -> list[Position]:
        raw: Any = self._retry("get_all_positions", self.client.get_all_positions)
        return [
            Position(
                str(parse_symbol(p.symbol)),
                _f(p.qty) * (-1 if _val(p.side) == "short" else 1),
                _f(p.avg_entry_price),
                _f(p.market_value),
            )
            for p in raw
        ]

    def positions(self) -> dict[str, float]:
        return {p.asset: p.qty for p in self.position_details() if p.qty != 0}

    def best_bid_ask(self, assets: list[str]) -> dict[str, Quote]:
        if self.data is None:
            raise RuntimeError("alpaca-paper: best_bid_ask needs a CryptoHistoricalDataClient")
        syms = [str(parse_symbol(a)) for a in assets]
        data = self.data
        raw: Any = self._retry(
            "latest quotes",
            lambda: data.get_crypto_latest_quote(CryptoLatestQuoteRequest(symbol_or_symbols=syms)),
        )
        return {
            s: Quote(
                s, float(q.bid_price), float(q.ask_price), float(q.bid_size), float(q.ask_size), q.timestamp
            )
            for s, q in raw.items()
        }

    # ------------------------------------------------------------------ orders
    def _order(self, o: Any) -> Order:
        filled, avg = _f(o.filled_qty), (_f(o.filled_avg_price) or None)
        order_type: OrderType = "limit" if _val(o.order_type or o.type) == "limit" else "market"
        tif: TimeInForce = "ioc" if _val(o.time_in_force) == "ioc" else "gtc"
        out = Order(
            client_order_id=str(o.client_order_id),
            asset=str(parse_symbol(o.symbol)),
            side="buy" if _val(o.side) == "buy" else "sell",
            qty=_f(o.qty),
            status=_STATUS.get(_val(o.status), "open"),
            order_type=order_type,
            limit_price=_f(o.limit_price) or None,
            time_in_force=tif,
            broker_order_id=str(o.id),
            filled_qty=filled,
            avg_price=avg,
            fee=0.0,
            liquidity=None,
            time=o.updated_at or o.submitted_at,
        )
        self._note_fill(out)
        fills = self._fills.get(out.client_order_id, [])
        if fills:
            liq = {f.liquidity for f in fills}
            out = replace(
                out, fee=sum(f.fee for f in fills), liquidity="MAKER" if liq == {"MAKER"} else "TAKER"
            )
        if out.order_type == "limit" and out.is_live:
            self._rested.add(out.client_order_id)
        return out

    def _note_fill(self, o: Order) -> None:
        done = self._fills.setdefault(o.client_order_id, [])
        seen = sum(f.qty for f in done)
        if o.filled_qty > seen + 1e-12 and o.avg_price:
            value = o.filled_qty * o.avg_price - sum(f.qty * f.price for f in done)
            q = o.filled_qty - seen
            maker = o.client_order_id in self._rested  # filled after it rested on the book
            rate = self.maker_fee_rate if maker else self.fee_rate
            fee = rate * value  # the schedule's guess, used only when the venue reports no fee
            charged = self._charged(o)
            if charged is not None:  # what the venue charged the order so far, less what is booked
                price = value / q
                if o.side == "buy":
                    fee = max(charged - sum(f.fee / f.price for f in done), 0.0) * price
                else:
                    fee = max(charged - sum(f.fee for f in done), 0.0)
            done.append(
                Fill(
                    f"{o.broker_order_id}:{len(done)}",
                    o.client_order_id,
                    o.asset,
                    o.side,
                    q,
                    value / q,
                    fee,
                    "MAKER" if maker else "TAKER",
                    o.time or datetime.now(UTC),
                    o.broker_order_id,
                )
            )

    def _charged(self, o: Order) -> float | None:
        """The fee the venue has charged order ``o`` so far, from its fee activities (``order_id`` filter):
        a buy's in the asset received (CFEE ``qty``, base units), a sell's in USD (FEE ``net_amount``). None
        when the venue reports none (not posted yet, or a venue without the endpoint): the schedule's rate
        is booked instead. The in-kind fee must be what the venue kept, or the stored position drifts from
        the venue's (the rate depends on the venue's tier and on whether the fill rested, which a process
        that first sees the fill after a restart cannot tell)."""
        if o.broker_order_id is None:
            return None
        kind = "CFEE" if o.side == "buy" else "FEE"

        def call() -> Any:
            try:
                return self.client.get(f"/account/activities/{kind}", {"order_id": o.broker_order_id})
            except APIError as exc:
                if exc.status_code in (404, 422):  # no such endpoint / filter on this venue
                    return None
                raise

        raw: Any = self._retry("fee_activities", call)
        rows = [a for a in raw or [] if str(a.get("order_id", "")) == o.broker_order_id]
        if not rows:
            return None
        if o.side == "buy":
            return -sum(_f(a.get("qty")) for a in rows)
        return -sum(_f(a.get("net_amount")) for a in rows)

    def _lookup(self, client_order_id: str) -> Order | None:
        try:
            return self._order(self.client.get_order_by_client_id(client_order_id))
        except APIError as exc:
            if _not_found(exc):
                return None
            raise

    def get_order(self, client_order_id: str) -> Order | None:
        return self._retry("get_order", lambda: self._lookup(client_order_id))

    def get_order_by_id(self, broker_order_id: str) -> Order | None:
        def call() -> Order | None:
            try:
                return self._order(self.client.get_order_by_id(broker_order_id))
            except APIError as exc:
                if _not_found(exc):
                    return None
                raise

        return self._retry("get_order_by_id", call)

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
        sym = str(parse_symbol(asset))
        s_: Side = "buy" if side == "buy" else "sell"

        def refused(reason: str) -> Order:
            return Order(
                client_order_id,
                sym,
                s_,
                qty,
                "rejected",
                order_type,
                limit_price,
                time_in_force,
                reason=reason,
            )

        if post_only:  # Alpaca would accept and ignore it: a taker fill the caller did not ask for
            return refused(f"{POST_ONLY_UNSUPPORTED}: Alpaca has no post-only crypto orders")
        if order_type == "limit" and limit_price is None:
            raise ValueError(f"order {client_order_id}: a limit order needs limit_price")
        rules = self.rules(sym)
        q = rules.qty(qty)
        px = rules.price(limit_price, s_) if order_type == "limit" and limit_price is not None else None
        why = rules.refusal(q, px)
        if why is not None:
            return refused(why)
        req = _order_request(client_order_id, sym, side, q, px, time_in_force)

        def send() -> Order:
            try:
                return self._order(self.client.submit_order(req))
            except APIError as exc:
                code, message = error_fields(str(exc))
                if exc.status_code == 422 and "unique" in message:
                    found = self._lookup(client_order_id)
                    if found is not None:
                        return found
                if is_business_rejection(exc.status_code, code, message):
                    return refused(f"{code or exc.status_code}: {message}")
                if exc.status_code in (401, 403):
                    raise BrokerPermissionError(
                        f"alpaca refused {client_order_id} for the account/keys ({exc.status_code} {code}): "
                        f"{message}"
                    ) from exc
                raise

        c = self.cfg
        return place_once(
            client_order_id,
            lambda: self._lookup(client_order_id),
            send,
            transient=is_transient,
            attempts=c.submit_attempts,
            wait_s=c.retry_wait_s,
            wait_max_s=c.retry_wait_max_s,
            sleep=self.sleep,
        )

    def cancel(self, client_order_id: str) -> Order | None:
        o = self.get_order(client_order_id)
        if o is None or not o.is_live or o.broker_order_id is None:
            return o
        oid = o.broker_order_id

        def call() -> None:
            try:
                self.client.cancel_order_by_id(oid)  # 204
            except APIError as exc:
                if exc.status_code != 422:  # 422: no longer cancelable (filled meanwhile)
                    raise

        self._retry("cancel", call)
        return self.get_order(client_order_id)

    def cancel_all(self) -> list[str]:
        open_q = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500)  # the venue's maximum page
        live = self._retry("get_orders", lambda: self.client.get_orders(open_q))
        ids = {str(o.id): str(o.client_order_id) for o in live}
        res: Any = self._retry("cancel_orders", self.client.cancel_orders)  # 207 with per-order status
        return [ids.get(str(r.id), str(r.id)) for r in res if int(r.status) == 200]

    def fills(self, client_order_id: str | None = None) -> list[Fill]:
        if client_order_id is not None:
            self.get_order(client_order_id)
            return list(self._fills.get(client_order_id, []))
        return [f for fs in self._fills.values() for f in fs]
