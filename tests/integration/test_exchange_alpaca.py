"""Alpaca-paper broker (real alpaca-py TradingClient) against the loopback exchange."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.trading.client import TradingClient

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.loopback import Fault
from cappuccino_core.loopback.exchange import Exchange, ReplayBook
from cappuccino_core.trading.brokers.client_ids import client_order_id
from cappuccino_core.venues.alpaca.broker import AlpacaPaperBroker
from cappuccino_core.venues.alpaca.loopback_trading import alpaca_exchange


def bars(closes: list[float], lows: list[float] | None = None) -> pl.DataFrame:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    lows = lows or [c - 1 for c in closes]
    return pl.DataFrame(
        {
            "time": [t0 + timedelta(hours=i) for i in range(len(closes))],
            "open": closes,
            "high": [c + 1 for c in closes],
            "low": lows,
            "close": closes,
        }
    )


@pytest.fixture
def exchange() -> Exchange:
    # spread 2 bps around 100: bid 99.99, ask 100.01; Alpaca's entry tier: 0.15% maker / 0.25% taker, taken
    # in the asset received (the Alpaca routes set the Exchange to charge that way)
    book = ReplayBook({"BTC/USD": bars([100.0, 100.0, 95.0, 100.0])}, spread_bps=2.0)
    return Exchange(book, cash=10_000.0)


@pytest.fixture
def env(exchange: Exchange):  # type: ignore[no-untyped-def]
    exchange.register_key("k", "s")  # the loopback checks APCA-API-KEY-ID / APCA-API-SECRET-KEY
    with alpaca_exchange(exchange) as srv:
        cfg = TradingConfig(request_timeout_s=0.5, submit_attempts=4, retry_wait_s=0.0, retry_wait_max_s=0.0)
        client = TradingClient("k", "s", paper=True, url_override=srv.url)
        data = CryptoHistoricalDataClient("k", "s", url_override=srv.url)
        broker = AlpacaPaperBroker(client, cfg, data_client=data, sleep=lambda s: None)  # Alpaca's rates
        yield srv, broker
        exchange.closing.set()


def test_market_buy_fills_at_ask_and_positions_lose_the_slash(env, exchange) -> None:  # type: ignore[no-untyped-def]
    _srv, broker = env
    coid = client_order_id("run1", 0, "BTC/USD", "buy")
    o = broker.submit(coid, "BTC/USD", "buy", 0.5, 100.0)
    assert o.status == "filled" and o.filled_qty == 0.5 and o.avg_price == pytest.approx(100.01)
    assert o.client_order_id == coid and o.broker_order_id
    # served as "BTCUSD", normalised; the 0.25% taker fee is taken in BTC: 0.5 - 0.00125 = 0.49875
    assert broker.positions() == {"BTC/USD": pytest.approx(0.49875)}
    assert broker.cash() == pytest.approx(10_000 - 0.5 * 100.01)  # 9949.995: no USD fee on a buy
    assert o.fee == pytest.approx(0.0025 * 0.5 * 100.01) and o.liquidity == "TAKER"  # its quote value
    q = broker.best_bid_ask(["BTC/USD"])["BTC/USD"]
    assert (q.bid, q.ask) == (pytest.approx(99.99), pytest.approx(100.01))


def test_resubmitting_the_same_client_id_returns_the_existing_order(env, exchange) -> None:  # type: ignore[no-untyped-def]
    _srv, broker = env
    a = broker.submit("cid-1", "BTC/USD", "buy", 0.1, 100.0)
    b = broker.submit("cid-1", "BTC/USD", "buy", 0.1, 100.0)
    assert a.broker_order_id == b.broker_order_id and len(exchange.orders) == 1


def test_timeout_after_accept_then_retry_finds_the_order(env, exchange) -> None:  # type: ignore[no-untyped-def]
    srv, broker = env
    exchange.stall_after_accept(3.0)  # order created, answer comes after the client's 0.5 s timeout
    o = broker.submit("cid-stall", "BTC/USD", "buy", 0.2, 100.0)
    assert o.status == "filled" and len(exchange.orders) == 1
    assert srv.log.count(route="alpaca.submit_order") == 1


def test_429_and_5xx_storm_never_duplicates(env, exchange) -> None:  # type: ignore[no-untyped-def]
    srv, broker = env
    broker.client._retry = 1  # let the adapter (not the SDK) do the retrying
    srv.faults.add("alpaca.submit_order", Fault.rate_limit(), times=1)
    srv.faults.add("alpaca.submit_order", Fault.server_error(503), times=1)
    srv.faults.add("alpaca.order_by_client_id", Fault.server_error(500), times=1)
    o = broker.submit("cid-storm", "BTC/USD", "buy", 0.2, 100.0)
    assert o.status == "filled" and len(exchange.orders) == 1
    assert not exchange.open_orders()


def test_dropped_connection_before_accept_resends_once(env, exchange) -> None:  # type: ignore[no-untyped-def]
    srv, broker = env
    srv.faults.add("alpaca.submit_order", Fault.drop(), times=1)
    o = broker.submit("cid-drop", "BTC/USD", "buy", 0.2, 100.0)
    assert o.status == "filled" and len(exchange.orders) == 1
    assert srv.log.count(route="alpaca.submit_order") == 2


def test_limit_rests_fills_on_cross_and_cancel_204_cancel_all_207(env, exchange) -> None:  # type: ignore[no-untyped-def]
    srv, broker = env
    rest = broker.submit("cid-l1", "BTC/USD", "buy", 1.0, 100.0, order_type="limit", limit_price=96.0)
    other = broker.submit("cid-l2", "BTC/USD", "buy", 1.0, 100.0, order_type="limit", limit_price=90.0)
    third = broker.submit("cid-l3", "BTC/USD", "buy", 1.0, 100.0, order_type="limit", limit_price=91.0)
    assert rest.status == other.status == third.status == "open"
    after = broker.cancel("cid-l2")  # DELETE answers 204
    assert after is not None and after.status == "canceled"
    exchange.advance()  # bar 1: low 99 -> nothing
    exchange.advance()  # bar 2: low 94 -> the 96 bid fills as maker
    filled = broker.get_order("cid-l1")
    assert filled is not None and filled.status == "filled" and filled.avg_price == 96.0
    assert filled.liquidity == "MAKER" and filled.fee == pytest.approx(0.0015 * 96.0)  # rested, then filled
    assert broker.cancel_all() == ["cid-l3"]  # DELETE /v2/orders answers 207
    assert broker.get_order("cid-l3").status == "canceled"  # type: ignore[union-attr]
    assert srv.log.count(route="alpaca.cancel_order", status=204) == 1
    assert srv.log.count(route="alpaca.cancel_all", status=207) == 1
    assert broker.get_order("nope") is None


def test_insufficient_balance_is_a_rejected_order_not_an_exception(env) -> None:  # type: ignore[no-untyped-def]
    _srv, broker = env
    o = broker.submit("cid-big", "BTC/USD", "buy", 1000.0, 100.0)
    assert o.status == "rejected" and "insufficient" in (o.reason or "")


def test_partial_fill_then_cancel_reconciles(env, exchange) -> None:  # type: ignore[no-untyped-def]
    _srv, broker = env
    exchange.partial_then_cancel(0.4)
    o = broker.submit("cid-part", "BTC/USD", "buy", 1.0, 100.0)
    assert o.status == "canceled" and o.filled_qty == pytest.approx(0.4)
    fills = broker.fills("cid-part")
    assert sum(f.qty for f in fills) == pytest.approx(0.4)
    assert broker.positions()["BTC/USD"] == pytest.approx(0.4 * (1 - 0.0025))  # 0.399: fee in kind
    assert fills[0].price == pytest.approx(100.01)
