"""Differential tests: one order sequence through the loopback exchange and, when keys are in the
environment, through the venue's own paper/sandbox endpoint; the recorded response shapes (keys and JSON
types of every answer) must match. Without keys the venue side is skipped with the reason; the loopback
side always runs, so its shapes stay pinned.

Sequence: account -> a tiny limit buy far below the market (cannot fill) -> read it back -> cancel -> read.
Alpaca paper: ALPACA_API_KEY / ALPACA_SECRET_KEY. Coinbase sandbox (api-sandbox.coinbase.com):
COINBASE_SANDBOX_API_KEY / COINBASE_SANDBOX_API_SECRET (never the live keys)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from alpaca.trading.client import TradingClient
from coinbase.rest import RESTClient

from cappuccino_core.loopback.exchange import Exchange, ReplayBook
from cappuccino_core.venues.alpaca.loopback_trading import alpaca_exchange
from cappuccino_core.venues.coinbase import throwaway_key
from cappuccino_core.venues.coinbase.auth import SigningRESTClient, public_key
from cappuccino_core.venues.coinbase.loopback_trading import coinbase_exchange
from cappuccino_core.venues.coinbase.wire import _d

Shape = dict[str, str]


def shape(x: dict[str, Any]) -> Shape:
    """Top-level keys and JSON types (null matches anything: venues leave optional fields empty)."""
    names = {bool: "bool", int: "number", float: "number", str: "string", list: "list", dict: "object"}
    return {k: names.get(type(v), "null") for k, v in x.items()}


def differences(loop: Shape, venue: Shape) -> list[str]:
    """What the venue sends that the loopback lacks or types differently."""
    out = [f"missing {k}" for k in venue if k not in loop]
    out += [
        f"{k}: {loop[k]} vs {t}"
        for k, t in venue.items()
        if k in loop and "null" not in (t, loop[k]) and t != loop[k]
    ]
    return out


def _book() -> Exchange:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    df = pl.DataFrame({"time": [t0, t0 + timedelta(hours=1)], "open": [100.0] * 2, "high": [101.0] * 2,
                       "low": [99.0] * 2, "close": [100.0] * 2})  # fmt: skip
    return Exchange(ReplayBook({"BTC/USD": df}), cash=10_000.0)


def alpaca_sequence(client: TradingClient, price: float) -> dict[str, Shape]:
    coid = f"diff-{secrets.token_hex(6)}"
    body = {"symbol": "BTC/USD", "qty": "0.0001", "side": "buy", "type": "limit", "time_in_force": "gtc",
            "limit_price": f"{price:.2f}", "client_order_id": coid}  # fmt: skip
    acct: Any = client.get("/account")
    placed: Any = client.post("/orders", body)
    got: Any = client.get(f"/orders/{placed['id']}")
    client.delete(f"/orders/{placed['id']}")
    after: Any = client.get("/orders:by_client_order_id", {"client_order_id": coid})
    assert after["status"] in ("canceled", "pending_cancel")
    return {"account": shape(acct), "order": shape(placed), "get": shape(got), "after": shape(after)}


def coinbase_sequence(client: RESTClient, price: float, size: str) -> dict[str, Shape]:
    coid = f"diff-{secrets.token_hex(6)}"
    cfg = {"limit_limit_gtc": {"base_size": size, "limit_price": f"{price:.2f}", "post_only": True}}
    accts = _d(client.get_accounts())
    placed = _d(client.create_order(coid, "BTC-USD", "BUY", cfg))
    oid = (placed.get("success_response") or placed.get("response") or {})["order_id"]
    got = _d(client.get_order(oid))["order"]
    cancel = _d(client.cancel_orders(order_ids=[oid]))["results"][0]
    fills = _d(client.get_fills(order_ids=[oid]))
    return {"accounts": shape(accts), "account": shape(accts["accounts"][0]), "order": shape(got),
            "cancel": shape(cancel), "fills": shape(fills)}  # fmt: skip


def _loopback_alpaca() -> dict[str, Shape]:
    ex = _book()
    with alpaca_exchange(ex) as srv:
        ex.register_key("k", "s")
        out = alpaca_sequence(TradingClient("k", "s", paper=True, url_override=srv.url), 50.0)
        ex.closing.set()
    return out


def _loopback_coinbase() -> dict[str, Shape]:
    ex = _book()
    with coinbase_exchange(ex) as srv:
        name, pem = throwaway_key()
        ex.register_key(name, public_key(pem))
        client = SigningRESTClient(name, pem, base_url=srv.host_port, timeout=2)
        client.session.verify, client.session.trust_env = str(srv.cert_path), False
        out = coinbase_sequence(client, 50.0, "0.1")  # 5 USD: above quote_min_size
        ex.closing.set()
    return out


@pytest.mark.parametrize(("name", "run"), [("alpaca", _loopback_alpaca), ("coinbase", _loopback_coinbase)])
def test_loopback_side_answers_in_the_documented_shapes(
    name: str, run: Callable[[], dict[str, Shape]]
) -> None:
    got = run()
    required = {  # the fields the SDKs and the brokers need (BROKER_WIRE.md)
        "alpaca": {"order": {"id", "client_order_id", "status", "qty", "filled_qty", "created_at"}},
        "coinbase": {"order": {"order_id", "client_order_id", "status", "filled_size", "order_configuration"},
                     "accounts": {"accounts", "has_next", "cursor"}, "fills": {"fills", "cursor"}},
    }[name]  # fmt: skip
    for step, keys in required.items():
        assert keys <= set(got[step]), f"{name} {step} lacks {keys - set(got[step])}"


def _need(*names: str) -> None:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(
            f"venue side needs {', '.join(missing)} in the environment (not set: CI has no venue keys)"
        )


def test_alpaca_paper_matches_the_loopback() -> None:
    _need("ALPACA_API_KEY", "ALPACA_SECRET_KEY")
    client = TradingClient(os.environ["ALPACA_API_KEY"], os.environ["ALPACA_SECRET_KEY"], paper=True)
    quote: Any = client.get("/assets/BTC/USD")  # the asset exists; price far below any market
    assert quote["symbol"] == "BTC/USD"
    venue, loop = alpaca_sequence(client, 1000.0), _loopback_alpaca()
    diffs = {step: differences(loop[step], venue[step]) for step in venue}
    assert not any(diffs.values()), diffs


def test_coinbase_sandbox_matches_the_loopback() -> None:
    _need("COINBASE_SANDBOX_API_KEY", "COINBASE_SANDBOX_API_SECRET")
    key, secret = os.environ["COINBASE_SANDBOX_API_KEY"], os.environ["COINBASE_SANDBOX_API_SECRET"]
    client = SigningRESTClient(key, secret, base_url="api-sandbox.coinbase.com")
    venue, loop = coinbase_sequence(client, 1000.0, "0.001"), _loopback_coinbase()
    diffs = {step: differences(loop[step], venue[step]) for step in venue}
    assert not any(diffs.values()), diffs


def test_differences_name_missing_and_mistyped_fields() -> None:
    loop = shape({"id": "x", "qty": "1", "limit_price": None})
    venue = shape({"id": "x", "qty": 1.0, "limit_price": "2", "notional": None})
    assert differences(loop, venue) == ["missing notional", "qty: string vs number"]
