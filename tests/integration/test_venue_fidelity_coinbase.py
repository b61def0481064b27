"""Coinbase venue fidelity: the loopback is as strict as the venue, and the broker survives it.

Asynchronous cancels (Coinbase answers ``CANCEL_QUEUED`` and fills can still arrive until the cancel is
done), precision and minimums (``base_increment``/``base_min_size``/``quote_min_size``), JWT checks."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import polars as pl
import pytest
import requests
from coinbase.rest import RESTClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.loopback import LoopbackServer
from cappuccino_core.loopback.exchange import Exchange, FeeTier, ReplayBook
from cappuccino_core.venues.coinbase.auth import (
    AuthError,
    build_jwt,
    load_private_key,
    public_key,
    verify_jwt,
)
from cappuccino_core.venues.coinbase.broker import CoinbaseBroker
from cappuccino_core.venues.coinbase.loopback_trading import coinbase_exchange
from cappuccino_core.venues.coinbase.maker_first import LegStillLive
from cappuccino_core.venues.coinbase.wire import _d

HIGH = 99.995  # a bar low above the 99.99 bid: a resting buy at the bid does not fill


def bars(lows: list[float]) -> pl.DataFrame:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    n = len(lows)
    return pl.DataFrame(
        {
            "time": [t0 + timedelta(hours=i) for i in range(n)],
            "open": [100.0] * n,
            "high": [101.0] * n,
            "low": lows,
            "close": [100.0] * n,
        }
    )


def pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def exchange(lows: list[float], **kw: Any) -> Exchange:
    book = ReplayBook({"BTC/USD": bars(lows)}, spread_bps=2.0)  # bid 99.99 / ask 100.01
    return Exchange(book, cash=10_000.0, tiers=(FeeTier(0.0, 0.004, 0.006, "T1"),), **kw)


@pytest.fixture
def served() -> Iterator[Any]:
    servers: list[tuple[LoopbackServer, Exchange]] = []

    def start(ex: Exchange, **options: Any) -> LoopbackServer:
        srv = coinbase_exchange(ex, **options).__enter__()
        servers.append((srv, ex))
        return srv

    yield start
    for srv, ex in servers:
        ex.closing.set()
        srv.__exit__(None, None, None)


def broker(srv: LoopbackServer, ex: Exchange, **cfg: Any) -> CoinbaseBroker:
    base = {"request_timeout_s": 2.0, "retry_wait_s": 0.0, "retry_wait_max_s": 0.0}
    conf = TradingConfig(**(base | cfg))
    secret = pem()
    ex.register_key("organizations/x/apiKeys/y", public_key(secret))
    client = RESTClient(
        api_key="organizations/x/apiKeys/y", api_secret=secret, base_url=srv.host_port, timeout=2
    )
    client.session.verify = str(srv.cert_path)
    client.session.trust_env = False
    b = CoinbaseBroker(client, conf, sleep=lambda s: ex.advance())  # each poll: one bar passes
    return b


def err(resp: dict[str, Any]) -> dict[str, Any]:
    """The error body of a failed create (the SDK's CreateOrderResponse names it ``response``)."""
    out: dict[str, Any] = resp.get("error_response") or resp.get("response") or {}
    return out


MAKER = {"maker_wait_s": 2.0, "maker_poll_s": 1.0, "maker_requotes": 1, "maker_cancel_wait_s": 5.0}


def test_cancel_pending_while_a_fill_arrives_fills_exactly_once(served) -> None:  # type: ignore[no-untyped-def]
    # The quote (buy 1.0 @ 99.99) rests bars 1-2 unfilled, is canceled at bar 2; the venue queues the cancel
    # for 3 bars; bar 5 trades through 99.99 and fills it while the cancel is still pending. A broker that
    # re-quoted or took the rest while the leg was CANCEL_QUEUED would have bought 2.0 (finding 1).
    ex = exchange([99.0, HIGH, HIGH, HIGH, HIGH, 94.0, HIGH, HIGH, HIGH], cancel_delay_bars=3)
    b = broker(served(ex), ex, **MAKER)
    o = b.submit("cap-dbl", "BTC/USD", "buy", 1.0, 100.0)
    bought = sum(f.qty for f in ex.fills if f.side == "buy")
    assert o.filled_qty == pytest.approx(1.0) and bought == pytest.approx(1.0)
    assert o.status == "filled" and len(ex.orders) == 1  # no second leg, no market fallback
    assert ex.holdings["BTC/USD"] == pytest.approx(1.0)


def test_cancel_that_stays_pending_stops_without_fallback(served) -> None:  # type: ignore[no-untyped-def]
    ex = exchange([99.0] + [HIGH] * 20, cancel_delay_bars=50)
    b = broker(served(ex), ex, **(MAKER | {"maker_cancel_wait_s": 3.0}))
    with pytest.raises(LegStillLive, match="still pending_cancel"):
        b.submit("cap-stuck", "BTC/USD", "buy", 1.0, 100.0)
    assert len(ex.orders) == 1  # the stuck quote only: no re-quote, no market order
    leg = b.leg("cap-stuck-m0")
    assert leg is not None and leg.status == "pending_cancel"  # CANCEL_QUEUED is live, not "open"


def test_loopback_reports_cancel_queued_on_the_wire(served) -> None:  # type: ignore[no-untyped-def]
    ex = exchange([99.0, HIGH, HIGH, HIGH], cancel_delay_bars=1)
    b = broker(served(ex), ex, maker_first=False)
    o = b.submit("cap-lim", "BTC/USD", "buy", 0.5, 100.0, order_type="limit", limit_price=99.0)
    raw = _d(b.client.get_order(o.broker_order_id))["order"]
    assert raw["status"] == "OPEN" and raw["pending_cancel"] is False
    b.client.cancel_orders(order_ids=[o.broker_order_id])
    raw = _d(b.client.get_order(o.broker_order_id))["order"]
    assert raw["status"] == "CANCEL_QUEUED" and raw["pending_cancel"] is True
    ex.advance()
    assert b.get_order_by_id(str(o.broker_order_id)).status == "canceled"  # type: ignore[union-attr]


def test_exit_sell_of_the_whole_holding_goes_out_exactly(served) -> None:  # type: ignore[no-untyped-def]
    # finding 4: 43506.20643078 went out as "43506.2064308" (> holding) and was refused INSUFFICIENT_FUND
    ex = exchange([99.0, HIGH])
    ex.holdings["BTC/USD"] = 43506.20643078
    b = broker(served(ex), ex, maker_first=False)
    o = b.submit("cap-exit", "BTC/USD", "sell", 43506.20643078, 100.0)
    assert o.status == "filled" and o.filled_qty == 43506.20643078
    assert ex.holdings["BTC/USD"] == pytest.approx(0.0, abs=1e-12)
    # asking a hair more than held sends the holding (rounded down), never more
    ex.holdings["BTC/USD"] = 0.5
    o = b.submit("cap-exit2", "BTC/USD", "sell", 0.500000004, 100.0)
    assert o.status == "filled" and o.filled_qty == 0.5


def test_minimums_refused_before_they_leave_and_by_the_loopback(served) -> None:  # type: ignore[no-untyped-def]
    ex = exchange([99.0, HIGH])
    srv = served(ex)
    b = broker(srv, ex, maker_first=False)
    o = b.submit("cap-tiny", "BTC/USD", "buy", 0.005, 100.0)  # 0.005 * 100.01 = 0.50 < quote_min_size 1
    assert o.status == "rejected" and o.reason is not None
    assert o.reason.startswith("PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL") and len(ex.orders) == 0
    # the loopback refuses what a client sends off-increment or below minimums, with the venue's shape
    off = _d(
        b.client.create_order("raw1", "BTC-USD", "BUY", {"market_market_ioc": {"base_size": "0.123456789"}})
    )
    assert off["success"] is False and err(off)["new_order_failure_reason"] == "INVALID_SIZE_PRECISION"
    lo = _d(b.client.create_order("raw2", "BTC-USD", "BUY", {"market_market_ioc": {"base_size": "0.005"}}))
    assert err(lo)["preview_failure_reason"] == "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL"
    assert err(lo)["error"] == "UNKNOWN_FAILURE_REASON"  # the specific code is elsewhere
    px = {"limit_limit_gtc": {"base_size": "1", "limit_price": "99.001", "post_only": True}}
    assert err(_d(b.client.create_order("raw3", "BTC-USD", "BUY", px)))["error"] == "INVALID_PRICE_PRECISION"
    assert len(ex.orders) == 0


def test_maker_first_stops_on_a_refusal_that_is_not_post_only(served) -> None:  # type: ignore[no-untyped-def]
    ex = exchange([99.0, HIGH, HIGH])
    b = broker(served(ex), ex, **MAKER)
    o = b.submit("cap-mf-tiny", "BTC/USD", "buy", 0.005, 100.0)
    assert o.status == "rejected" and "QUOTE_SIZE_TOO_SMALL" in str(o.reason) and len(ex.orders) == 0


def ed25519_secret() -> str:
    """A CDP-style Ed25519 secret: base64 of the 32-byte seed followed by the 32-byte public key."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    seed = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    pub = key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    return base64.b64encode(seed + pub).decode()


def test_ed25519_key_authenticates_and_a_wrong_signature_is_refused(served) -> None:  # type: ignore[no-untyped-def]
    ex = exchange([99.0, HIGH])
    srv = served(ex)
    secret, name = ed25519_secret(), "organizations/o/apiKeys/ed"
    ex.register_key(name, public_key(secret))
    cfg = TradingConfig(
        coinbase_base_url=srv.host_port, coinbase_cert_path=str(srv.cert_path), maker_first=False
    )
    b = CoinbaseBroker.connect(cfg, name, secret)  # signs EdDSA; the loopback verifies it
    assert b.submit("ed-1", "BTC/USD", "buy", 0.1, 100.0).status == "filled"
    head = jwt.get_unverified_header(b.client.set_headers("GET", "/x")["Authorization"][7:])
    assert head["alg"] == "EdDSA" and head["kid"] == name

    url = f"https://{srv.host_port}/api/v3/brokerage/accounts"
    path_uri = f"GET {srv.host_port}/api/v3/brokerage/accounts"

    def status(token: str) -> int:
        r = requests.get(
            url, headers={"Authorization": f"Bearer {token}"}, verify=str(srv.cert_path), timeout=2
        )
        return r.status_code

    good = build_jwt(name, load_private_key(secret), path_uri)
    assert status(good) == 200
    other = load_private_key(ed25519_secret())  # same key id, another key: the signature does not verify
    assert status(build_jwt(name, other, path_uri)) == 401
    assert (
        status(build_jwt(name, load_private_key(secret), path_uri, now=time.time() - 600)) == 401
    )  # expired
    assert (
        status(build_jwt(name, load_private_key(secret), f"POST {srv.host_port}/api/v3/brokerage/accounts"))
        == 401
    )
    assert status(build_jwt("organizations/o/apiKeys/nope", load_private_key(secret), path_uri)) == 401
    es = load_private_key(pem())  # an ES256 token for a key registered as Ed25519: wrong algorithm
    assert status(build_jwt(name, es, path_uri)) == 401
    assert status("not.a.jwt") == 401
    body = requests.get(
        url,
        headers={"Authorization": f"Bearer {build_jwt(name, other, path_uri)}"},
        verify=str(srv.cert_path),
        timeout=2,
    )
    assert "signature does not verify" in body.text


def test_verify_jwt_names_each_failed_check() -> None:
    secret = ed25519_secret()
    keys: dict[str, object] = {"k": public_key(secret)}
    tok = build_jwt("k", load_private_key(secret), "GET h:1/p")
    assert verify_jwt(tok, keys, "GET h:1/p") == "k"
    with pytest.raises(AuthError, match="uri 'GET h:1/p' is not this request"):
        verify_jwt(tok, keys, "GET h:1/q")
    with pytest.raises(AuthError, match="unknown key id"):
        verify_jwt(tok, {}, "GET h:1/p")


def test_accounts_orders_fills_read_every_page_and_dust_does_not_crash(served) -> None:  # type: ignore[no-untyped-def]
    ex = exchange([99.0, HIGH, 94.0, HIGH])
    srv = served(ex, page_size=2)  # accounts USD, BTC, DOGE, SHIB, PEPE: three pages
    ex.holdings |= {"BTC/USD": 2.0, "DOGE/USD": 10.0, "SHIB/USD": 1000.0, "PEPE/USD": 5.0}  # no books but BTC
    b = broker(srv, ex, maker_first=False)
    assert b.positions() == {"BTC/USD": 2.0, "DOGE/USD": 10.0, "SHIB/USD": 1000.0, "PEPE/USD": 5.0}
    acct = b.account()  # dust without a <C>-USD book is valued 0, the tick goes on
    assert acct.cash == pytest.approx(10_000.0) and acct.equity == pytest.approx(10_000.0 + 2.0 * 99.99)
    for i in range(5):  # five resting orders: the list spans three pages
        b.submit(f"cap-o{i}", "BTC/USD", "buy", 0.1, 100.0, order_type="limit", limit_price=95.0 + i)
    ex.advance(2)  # low 94: every limit fills as maker
    fresh = broker(srv, ex, maker_first=False)  # a restart: no ids known locally
    assert fresh.get_order("cap-o0").status == "filled"  # type: ignore[union-attr]
    fills = fresh.fills("cap-o0")  # fills carry no client order id; found through the order's venue id
    assert [(f.client_order_id, f.qty, f.price, f.liquidity) for f in fills] == [
        ("cap-o0", 0.1, 95.0, "MAKER")
    ]
    assert len(fresh.fills()) == 5  # all pages


def test_holds_on_resting_orders(served) -> None:  # type: ignore[no-untyped-def]
    ex = exchange([99.0, HIGH])
    b = broker(served(ex), ex, maker_first=False)
    first = b.submit("cap-h1", "BTC/USD", "buy", 60.0, 100.0, order_type="limit", limit_price=99.0)
    assert first.status == "open"  # 60 * 99 * 1.004 = 5963.76 on hold
    second = b.submit("cap-h2", "BTC/USD", "buy", 60.0, 100.0, order_type="limit", limit_price=99.0)
    assert second.status == "rejected" and str(second.reason).startswith("INSUFFICIENT_FUND")
    usd = next(a for a in _d(b.client.get_accounts())["accounts"] if a["currency"] == "USD")
    assert float(usd["hold"]["value"]) == pytest.approx(60 * 99.0 * 1.004)
    assert float(usd["available_balance"]["value"]) == pytest.approx(10_000 - 60 * 99.0 * 1.004)
    assert b.cash() == pytest.approx(10_000.0)  # available + hold
