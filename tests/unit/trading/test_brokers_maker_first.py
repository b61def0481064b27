"""Maker-first logic against an in-memory venue, and the place-once retry helper."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.trading.brokers.base import BrokerError, Order, Quote
from cappuccino_core.trading.brokers.retry import place_once
from cappuccino_core.venues.coinbase.maker_first import combine, work


class FakeVenue:
    """Quotes 99/101; a maker quote fills ``fill_frac`` per poll; post-only rejections on request."""

    def __init__(self, fill_frac: float = 0.0, reject_first: int = 0) -> None:
        self.orders: dict[str, Order] = {}
        self.fill_frac, self.reject_left = fill_frac, reject_first
        self.placed: list[str] = []

    def quote(self, asset: str) -> Quote:
        return Quote(asset, 99.0, 101.0)

    def round_qty(self, asset: str, qty: float) -> float:
        return round(qty, 6)

    def round_price(self, asset: str, price: float, side: str) -> float:
        return price

    def place_leg(self, coid, asset, side, qty, limit_price, post_only):  # type: ignore[no-untyped-def]
        self.placed.append(coid)
        if post_only and self.reject_left:
            self.reject_left -= 1
            o = Order(
                coid,
                asset,
                side,
                qty,
                "rejected",
                "limit",
                limit_price,
                reason="INVALID_LIMIT_PRICE_POST_ONLY",
            )
        elif limit_price is None:
            o = Order(
                coid,
                asset,
                side,
                qty,
                "filled",
                filled_qty=qty,
                avg_price=101.0 if side == "buy" else 99.0,
                fee=0.01 * qty,
                liquidity="TAKER",
                broker_order_id=coid,
            )
        else:
            o = Order(
                coid, asset, side, qty, "open", "limit", limit_price, post_only=True, broker_order_id=coid
            )
        self.orders[coid] = o
        return o

    def leg(self, coid: str) -> Order | None:
        o = self.orders.get(coid)
        if o is not None and o.is_live and self.fill_frac:
            q = min(o.qty, o.filled_qty + o.qty * self.fill_frac)
            o = replace(
                o,
                filled_qty=q,
                avg_price=o.limit_price,
                fee=0.001 * q,
                liquidity="MAKER",
                status="filled" if q >= o.qty else "partially_filled",
            )
            self.orders[coid] = o
        return o

    def cancel_leg(self, order: Order) -> Order:
        o = replace(self.orders[order.client_order_id], status="canceled")
        self.orders[o.client_order_id] = o
        return o


CFG = TradingConfig(maker_wait_s=3.0, maker_poll_s=1.0, maker_requotes=1)


def test_fills_as_maker_at_the_bid() -> None:
    v = FakeVenue(fill_frac=0.5)
    o = work(v, CFG, "p", "BTC/USD", "buy", 1.0, sleep=lambda s: None)
    assert o.status == "filled" and o.avg_price == 99.0 and o.liquidity == "MAKER" and v.placed == ["p-m0"]


def test_partial_maker_then_taker_fallback_is_mixed() -> None:
    v = FakeVenue(fill_frac=0.1)  # 3 polls x 10% of each quote: m0 0.3 of 1.0, m1 0.21 of 0.7, taker 0.49
    o = work(v, CFG, "p", "BTC/USD", "buy", 1.0, sleep=lambda s: None)
    assert v.placed == ["p-m0", "p-m1", "p-t"]
    assert o.filled_qty == pytest.approx(1.0) and o.liquidity == "TAKER" and o.status == "filled"
    assert o.avg_price == pytest.approx(0.3 * 99 + 0.21 * 99 + 0.49 * 101)


def test_post_only_rejection_requotes_then_cancel_fallback() -> None:
    v = FakeVenue(fill_frac=0.0, reject_first=1)
    cfg = CFG.model_copy(update={"maker_fallback": "cancel"})
    o = work(v, cfg, "p", "BTC/USD", "sell", 2.0, sleep=lambda s: None)
    assert v.placed == ["p-m0", "p-m1"] and o.status == "canceled" and o.filled_qty == 0


def test_all_quotes_rejected_and_no_fallback_is_rejected() -> None:
    v = FakeVenue(reject_first=5)
    o = work(
        v,
        CFG.model_copy(update={"maker_fallback": "cancel"}),
        "p",
        "BTC/USD",
        "buy",
        1.0,
        sleep=lambda s: None,
    )
    assert o.status == "rejected" and o.reason == "INVALID_LIMIT_PRICE_POST_ONLY"


def test_resume_reuses_existing_legs() -> None:
    v = FakeVenue(fill_frac=1.0)
    v.orders["p-m0"] = Order(
        "p-m0",
        "BTC/USD",
        "buy",
        1.0,
        "canceled",
        "limit",
        99.0,
        filled_qty=0.25,
        avg_price=99.0,
        liquidity="MAKER",
        broker_order_id="p-m0",
    )
    o = work(v, CFG, "p", "BTC/USD", "buy", 1.0, sleep=lambda s: None)
    assert v.placed == ["p-m1"] and v.orders["p-m1"].qty == pytest.approx(0.75)
    assert o.filled_qty == pytest.approx(1.0) and o.status == "filled"


def test_combine_of_nothing_filled_live() -> None:
    leg = Order("p-m0", "BTC/USD", "buy", 1.0, "open", "limit", 99.0)
    assert combine("p", "BTC/USD", "buy", 1.0, [leg], done=False).status == "open"


def test_place_once_looks_up_before_every_resend() -> None:
    calls: list[str] = []
    store: dict[str, str] = {}

    def lookup() -> str | None:
        calls.append("lookup")
        return store.get("x")

    def send() -> str:
        calls.append("send")
        store["x"] = "order"  # accepted ...
        raise requests.Timeout("answer lost")  # ... but the answer never came

    out = place_once(
        "x",
        lookup,
        send,
        transient=lambda e: isinstance(e, requests.Timeout),
        attempts=3,
        wait_s=0.0,
        wait_max_s=0.0,
        sleep=lambda s: None,
    )
    assert out == "order" and calls == ["lookup", "send", "lookup"]


def test_place_once_gives_up_and_never_sends_blind() -> None:
    sends: list[int] = []

    def lookup() -> None:
        raise requests.ConnectionError("down")

    with pytest.raises(BrokerError, match="gave up after 3"):
        place_once(
            "x",
            lookup,
            lambda: sends.append(1),
            transient=lambda e: True,
            attempts=3,
            wait_s=0.0,
            wait_max_s=0.0,
            sleep=lambda s: None,
        )
    assert sends == []


def test_place_once_raises_non_transient() -> None:
    with pytest.raises(KeyError):
        place_once(
            "x",
            lambda: None,
            lambda: {}["k"],
            transient=lambda e: False,
            attempts=3,
            wait_s=0.0,
            wait_max_s=0.0,
        )
