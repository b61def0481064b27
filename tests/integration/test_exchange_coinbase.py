"""Coinbase broker (real coinbase-advanced-py RESTClient, over TLS) against the loopback exchange."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from coinbase.rest import RESTClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.loopback import Fault, LoopbackServer
from cappuccino_core.loopback.exchange import Exchange, FeeTier, ReplayBook
from cappuccino_core.venues.coinbase.auth import public_key
from cappuccino_core.venues.coinbase.broker import CoinbaseBroker
from cappuccino_core.venues.coinbase.loopback_trading import coinbase_exchange

MAKER, TAKER = 0.004, 0.006


def bars(closes: list[float]) -> pl.DataFrame:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "time": [t0 + timedelta(hours=i) for i in range(len(closes))],
            "open": closes,
            "high": [c + 1 for c in closes],
            "low": [c - 1 for c in closes],
            "close": closes,
        }
    )


@pytest.fixture
def exchange() -> Exchange:
    # 2 bps spread around 100 -> bid 99.99 / ask 100.01; bars: 100, 95, 95, 90, 90
    book = ReplayBook({"BTC/USD": bars([100.0, 95.0, 95.0, 90.0, 90.0])}, spread_bps=2.0)
    return Exchange(book, cash=10_000.0, tiers=(FeeTier(0.0, MAKER, TAKER, "T1"),))


def _pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def srv(exchange: Exchange) -> Iterator[LoopbackServer]:
    with coinbase_exchange(exchange) as s:
        yield s
        exchange.closing.set()


def make_broker(srv: LoopbackServer, exchange: Exchange, **cfg: Any) -> CoinbaseBroker:
    base = {
        "request_timeout_s": 1.0,
        "retry_wait_s": 0.0,
        "retry_wait_max_s": 0.0,
        "maker_wait_s": 2.0,
        "maker_poll_s": 1.0,
        "maker_requotes": 1,
    }
    conf = TradingConfig(**(base | cfg))
    pem = _pem()
    exchange.register_key("organizations/x/apiKeys/y", public_key(pem))  # the loopback verifies the JWT
    client = RESTClient(
        api_key="organizations/x/apiKeys/y", api_secret=pem, base_url=srv.host_port, timeout=1
    )
    client.session.verify = str(srv.cert_path)
    client.session.trust_env = False
    return CoinbaseBroker(client, conf, sleep=lambda s: None)


def test_fee_tier_product_rounding_and_book(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange)
    assert (b.maker_fee_rate, b.fee_rate) == (MAKER, TAKER)  # read from the transaction summary
    assert b.round_qty("BTC/USD", 0.123456789123) == pytest.approx(0.12345678)
    assert b.round_price("BTC/USD", 99.999, "buy") == pytest.approx(99.99)
    assert b.round_price("BTC/USD", 99.991, "sell") == pytest.approx(100.00)
    q = b.best_bid_ask(["BTC/USD"])["BTC/USD"]
    assert (q.bid, q.ask) == (pytest.approx(99.99), pytest.approx(100.01))


def test_maker_first_rests_at_the_touch_and_fills_as_maker(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange)
    b.sleep = lambda s: exchange.advance()  # time passes: the next bar (low 94) trades through the 99.99 bid
    o = b.submit("cap-p1", "BTC/USD", "buy", 1.0, 100.0)
    assert o.status == "filled" and o.liquidity == "MAKER" and o.avg_price == pytest.approx(99.99)
    assert o.fee == pytest.approx(MAKER * 99.99)
    assert [f.liquidity for f in b.fills("cap-p1")] == ["MAKER"]
    assert b.positions() == {"BTC/USD": pytest.approx(1.0)}
    assert b.cash() == pytest.approx(10_000 - 99.99 * (1 + MAKER))
    again = b.get_order("cap-p1")  # the parent id finds its legs
    assert again is not None and again.filled_qty == pytest.approx(1.0) and len(exchange.orders) == 1


def test_post_only_rejected_at_the_touch_then_requote(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange)
    real = b.client.get_best_bid_ask
    moved = {"n": 0}

    def stale_quote(**kw: Any) -> Any:  # the book drops to 95 between our quote and our order
        out = real(**kw)
        if moved["n"] == 0:
            exchange.advance()
        moved["n"] += 1
        return out

    b.client.get_best_bid_ask = stale_quote  # type: ignore[method-assign]
    b.sleep = lambda s: exchange.advance()
    o = b.submit("cap-p2", "BTC/USD", "buy", 1.0, 100.0)
    reasons = [x.reject_reason for x in exchange.orders.values()]
    assert reasons[0] == "INVALID_LIMIT_PRICE_POST_ONLY"  # 99.99 bid crossed the new 95.01 ask
    assert srv.log.count(route="coinbase.create_order") == srv.log.count(
        route="coinbase.create_order", status=200
    )
    assert o.status == "filled" and o.liquidity == "MAKER" and o.avg_price == pytest.approx(94.99)


def test_unfilled_quote_falls_back_to_taker(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange, maker_requotes=0)
    exchange.holdings["BTC/USD"] = 1.0  # a sell the flat book never reaches: rest at 100.01, then take
    o = b.submit("cap-p3", "BTC/USD", "sell", 0.5, 100.0)
    assert o.status == "filled" and o.liquidity == "TAKER" and o.avg_price == pytest.approx(99.99)
    assert [x.status for x in exchange.orders.values()] == ["canceled", "filled"]


def test_fallback_cancel_leaves_the_rest(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange, maker_requotes=0, maker_fallback="cancel")
    o = b.submit("cap-p4", "BTC/USD", "buy", 1.0, 100.0)
    assert o.status == "canceled" and o.filled_qty == 0 and not exchange.open_orders()


def test_partial_fill_then_cancel_reconciles(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange)
    exchange.partial_then_cancel(0.4)
    b.sleep = lambda s: exchange.advance()
    o = b.submit("cap-p5", "BTC/USD", "buy", 1.0, 100.0)
    fills = b.fills("cap-p5")
    assert o.status == "filled" and o.filled_qty == pytest.approx(1.0)
    assert sum(f.qty for f in fills) == pytest.approx(1.0)
    assert sum(f.fee for f in fills) == pytest.approx(o.fee)
    assert b.positions()["BTC/USD"] == pytest.approx(1.0)
    assert b.cash() == pytest.approx(10_000 - sum(f.qty * f.price + f.fee for f in fills))


def test_timeout_after_accept_is_looked_up_not_resent(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange, maker_first=False)
    exchange.stall_after_accept(4.0)
    o = b.submit("cap-p6", "BTC/USD", "buy", 0.3, 100.0)
    assert o.status == "filled" and len(exchange.orders) == 1
    assert srv.log.count(route="coinbase.create_order") == 1


def test_429_5xx_storm_no_duplicate_or_orphan(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange, maker_first=False, submit_attempts=6)
    srv.faults.add("coinbase.create_order", Fault.rate_limit(), times=2)
    srv.faults.add("coinbase.create_order", Fault.server_error(502), times=1)
    srv.faults.add("coinbase.orders_batch", Fault.server_error(500), times=1)
    srv.faults.add("coinbase.create_order", Fault.drop(), times=1)
    o = b.submit("cap-p7", "BTC/USD", "buy", 0.3, 100.0, order_type="limit", limit_price=90.0)
    assert o.status == "open" and len(exchange.orders) == 1
    assert b.cancel_all() == ["cap-p7"] and not exchange.open_orders()


def test_duplicate_client_id_returns_the_existing_order(srv, exchange) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(srv, exchange, maker_first=False)
    first = b.client.create_order("dup", "BTC-USD", "BUY", {"market_market_ioc": {"base_size": "0.1"}})
    second = b.client.create_order("dup", "BTC-USD", "BUY", {"market_market_ioc": {"base_size": "0.1"}})
    assert first.success and first.response["order_id"] == second.response["order_id"]
    assert len(exchange.orders) == 1


def test_real_bars_maker_first_session_reconciles(sample_dir) -> None:  # type: ignore[no-untyped-def]
    """Replay 40 real 1h BTC bars; buy/sell every bar maker-first with half fills per bar; the venue's
    balances equal what the broker's fills say, and no order is left live or duplicated."""
    df = pl.read_parquet(sample_dir / "BINANCE_BTCUSDT_1h.parquet").head(40)
    ex = Exchange(
        ReplayBook({"BTC/USD": df}, spread_bps=2.0),
        cash=100_000.0,
        maker_fill_fraction=0.5,
        tiers=(FeeTier(0.0, MAKER, TAKER, "T1"), FeeTier(10_000.0, 0.002, 0.004, "T2")),
    )
    with coinbase_exchange(ex) as s:
        b = make_broker(s, ex)
        b.sleep = lambda _: ex.advance()
        for i in range(12):
            side = "buy" if i % 2 == 0 else "sell"
            o = b.submit(f"cap-real-{i}", "BTC/USD", side, 0.05, 0.0)
            assert o.filled_qty == pytest.approx(0.05) and o.status == "filled"
        ex.closing.set()
        fills = b.fills()
        assert b.refresh_fee_tier() == (0.002, 0.004)
    assert not ex.open_orders()
    assert len({o.client_order_id for o in ex.orders.values()}) == len(ex.orders)
    signed = sum(f.qty if f.side == "buy" else -f.qty for f in fills)
    flow = sum((f.qty * f.price if f.side == "buy" else -f.qty * f.price) + f.fee for f in fills)
    assert signed == pytest.approx(ex.holdings.get("BTC/USD", 0.0), abs=1e-9)
    assert ex.cash == pytest.approx(100_000.0 - flow)
    assert {f.liquidity for f in fills} <= {"MAKER", "TAKER"} and ex.volume > 10_000  # the tier moved up
    rates = [f.fee / (f.qty * f.price) for f in fills]
    assert rates[0] == pytest.approx(MAKER) and rates[-1] == pytest.approx(0.002)  # oldest first
