"""Alpaca venue fidelity: fees taken in the asset received at Alpaca's tiers, per-asset increments and
minimums, post-only refused, 403/422 classified, pending cancels (real alpaca-py TradingClient)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import requests
from alpaca.trading.client import TradingClient

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.loopback import Fault, LoopbackServer
from cappuccino_core.loopback.exchange import Exchange, ReplayBook
from cappuccino_core.loopback.server import Router
from cappuccino_core.venues.alpaca.broker import AlpacaPaperBroker, BrokerPermissionError
from cappuccino_core.venues.alpaca.loopback_trading import register_alpaca_trading


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


@pytest.fixture
def env() -> Iterator[tuple[LoopbackServer, Exchange, AlpacaPaperBroker]]:
    # bid 99.99 / ask 100.01; BTC/USD: min_order_size 0.0001, qty step 1e-9, price tick 0.01 (Alpaca-like)
    ex = Exchange(ReplayBook({"BTC/USD": bars([99.5, 99.5, 94.0, 99.5])}, spread_bps=2.0), cash=10_000.0)
    router = Router()
    register_alpaca_trading(router, ex, min_order_size="0.0001", price_increment="0.01")
    with LoopbackServer(router, name="alpaca-fidelity") as srv:
        ex.register_key("PKTEST", "s3cret")
        cfg = TradingConfig(request_timeout_s=2.0, submit_attempts=2, retry_wait_s=0.0, retry_wait_max_s=0.0)
        client = TradingClient("PKTEST", "s3cret", paper=True, url_override=srv.url)
        yield srv, ex, AlpacaPaperBroker(client, cfg, sleep=lambda s: None)
        ex.closing.set()


def test_positions_after_buys_are_filled_qty_minus_fees_in_kind(env) -> None:  # type: ignore[no-untyped-def]
    _srv, ex, b = env
    taker = b.submit("a-mkt", "BTC/USD", "buy", 0.3, 100.0)  # crosses: TAKER 0.25%
    maker = b.submit("a-lim", "BTC/USD", "buy", 0.2, 100.0, order_type="limit", limit_price=95.0)
    assert taker.liquidity == "TAKER" and maker.status == "open"
    ex.advance()
    ex.advance()  # low 94 trades through 95: the resting limit fills as MAKER 0.15%
    maker = b.get_order("a-lim")  # type: ignore[assignment]
    assert maker is not None and maker.status == "filled" and maker.liquidity == "MAKER"
    # 0.3 * (1 - 0.0025) + 0.2 * (1 - 0.0015) = 0.29925 + 0.1997 = 0.49895 BTC; no USD fee on buys
    assert b.positions() == {"BTC/USD": pytest.approx(0.49895, abs=1e-12)}
    assert b.cash() == pytest.approx(10_000 - 0.3 * 100.01 - 0.2 * 95.0)  # 9951.997
    fees = [(f.liquidity, round(f.fee, 8)) for f in b.fills("a-mkt") + b.fills("a-lim")]
    assert fees == [("TAKER", round(0.0025 * 0.3 * 100.01, 8)), ("MAKER", round(0.0015 * 0.2 * 95.0, 8))]
    assert [(f.fee_asset, round(f.fee, 12)) for f in ex.fills] == [("BTC", 0.00075), ("BTC", 0.0003)]
    # a sell pays its fee in USD, the asset received: 0.1 * 99.99 * (1 - 0.0025)
    before = b.cash()
    b.submit("a-sell", "BTC/USD", "sell", 0.1, 100.0)
    assert b.cash() - before == pytest.approx(0.1 * 99.99 * (1 - 0.0025))


def test_quantities_and_prices_go_out_on_the_increments(env) -> None:  # type: ignore[no-untyped-def]
    srv, ex, b = env
    o = b.submit("a-float", "BTC/USD", "buy", 0.30000000000000004, 100.0)
    assert o.status == "filled" and ex.get_by_client_id("a-float").qty == 0.3  # type: ignore[union-attr]
    lim = b.submit("a-px", "BTC/USD", "buy", 0.1, 100.0, order_type="limit", limit_price=90.123456789)
    assert lim.limit_price == 90.12  # a buy's price rounds down to the 0.01 tick
    tiny = b.submit("a-tiny", "BTC/USD", "buy", 0.00005, 100.0)
    assert tiny.status == "rejected" and str(tiny.reason).startswith("QTY_BELOW_MIN_ORDER_SIZE")
    assert ex.get_by_client_id("a-tiny") is None  # refused before it left
    # the loopback refuses off-increment and below-minimum requests itself, with Alpaca's 422 shape
    h = {"APCA-API-KEY-ID": "PKTEST", "APCA-API-SECRET-KEY": "s3cret"}
    body = {
        "symbol": "BTC/USD",
        "qty": "0.3000000001",
        "side": "buy",
        "type": "market",
        "time_in_force": "gtc",
    }
    r = requests.post(f"{srv.url}/v2/orders", json=body, headers=h, timeout=2)
    assert (
        r.status_code == 422 and r.json()["code"] == 40010001 and "min_trade_increment" in r.json()["message"]
    )
    r = requests.post(f"{srv.url}/v2/orders", json=body | {"qty": "0.00005"}, headers=h, timeout=2)
    assert r.status_code == 422 and "min_order_size 0.0001" in r.json()["message"]
    px = body | {"qty": "0.1", "type": "limit", "limit_price": "90.123"}
    r = requests.post(f"{srv.url}/v2/orders", json=px, headers=h, timeout=2)
    assert r.status_code == 422 and "price_increment" in r.json()["message"]


def test_post_only_is_refused_not_dropped(env) -> None:  # type: ignore[no-untyped-def]
    _srv, ex, b = env
    o = b.submit("a-po", "BTC/USD", "buy", 0.1, 100.0, order_type="limit", limit_price=99.0, post_only=True)
    assert o.status == "rejected" and str(o.reason).startswith("POST_ONLY_UNSUPPORTED") and not ex.orders


def test_permission_403_raises_and_insufficient_403_rejects(env) -> None:  # type: ignore[no-untyped-def]
    srv, _ex, b = env
    no = b.submit("a-big", "BTC/USD", "buy", 1000.0, 100.0)
    assert no.status == "rejected" and "insufficient balance" in str(no.reason)
    srv.faults.add("alpaca.submit_order", Fault.http(403, "forbidden"), times=1)
    with pytest.raises(BrokerPermissionError, match="forbidden"):
        b.submit("a-perm", "BTC/USD", "buy", 0.1, 100.0)


def test_pending_cancel_keeps_the_order_live(env) -> None:  # type: ignore[no-untyped-def]
    _srv, ex, b = env
    ex.cancel_delay_bars = 1
    b.submit("a-pc", "BTC/USD", "buy", 0.1, 100.0, order_type="limit", limit_price=90.0)
    o = b.cancel("a-pc")
    assert o is not None and o.status == "pending_cancel" and o.is_live
    ex.advance()
    assert b.get_order("a-pc").status == "canceled"  # type: ignore[union-attr]


def test_alpaca_routes_check_the_key_headers(env) -> None:  # type: ignore[no-untyped-def]
    srv, _ex, _b = env
    url = f"{srv.url}/v2/account"
    assert requests.get(
        url, headers={"APCA-API-KEY-ID": "PKTEST", "APCA-API-SECRET-KEY": "s3cret"}, timeout=2
    ).ok
    wrong = requests.get(url, headers={"APCA-API-KEY-ID": "PKTEST", "APCA-API-SECRET-KEY": "nope"}, timeout=2)
    assert wrong.status_code == 401 and wrong.json() == {
        "code": 40110000,
        "message": "request is not authorized",
    }
    assert requests.get(url, timeout=2).status_code == 401
    cfg = TradingConfig(request_timeout_s=2.0, submit_attempts=1, retry_wait_s=0.0)
    bad = AlpacaPaperBroker(TradingClient("PKTEST", "nope", paper=True, url_override=srv.url), cfg)
    with pytest.raises(BrokerPermissionError, match="401"):
        bad.submit("a-bad-key", "BTC/USD", "buy", 0.1, 100.0)


def test_bar_loop_positions_follow_fees_in_kind(settings) -> None:  # type: ignore[no-untyped-def]
    """The state store's position after an Alpaca buy is the venue's (filled qty minus the fee in BTC), so
    reconcile finds no mismatch."""
    import numpy as np
    from sqlalchemy import select

    from cappuccino_core.state.schema import PositionRow
    from cappuccino_core.state.store import StateStore
    from cappuccino_core.trading.brokers.factory import make_broker, sample_files
    from cappuccino_core.trading.loop.trader import BarLoop
    from cappuccino_core.trading.risk import RiskManager

    df = pl.read_parquet(sample_files(settings)["BTC/USDT"]).sort("time").tail(4)
    times, close, hour = df["time"].dt.epoch("ns").to_numpy(), df["close"].to_numpy(), 3_600 * 10**9
    with make_broker(settings, "local", venue="alpaca", frames={"BTC/USDT": df}) as broker:
        store = StateStore(settings.paths.state_url)
        loop = BarLoop(broker, store, RiskManager.from_config(settings.risk), settings.env, ("BTC/USDT",),
                       lambda t: np.ones((1, 1)), run_id="kind", bar_ns=hour, max_age_s=1e12,
                       assets=("BTC/USD",), heartbeat_s=0.0)  # fmt: skip
        broker.on_bar(datetime.fromtimestamp((times[0] + hour) / 1e9, UTC), {})
        res = loop.on_bar(0, int(times[0]), close[:1], int(times[0]) + hour)
        assert res.orders, res
        loop.reconcile()
        venue = broker.positions()["BTC/USD"]
        with store.session() as s:
            (pos,) = s.scalars(select(PositionRow).where(PositionRow.asset == "BTC/USD")).all()
        (order,) = broker.exchange.orders.values()
        taker = settings.costs.taker_fee
        assert venue == pytest.approx(order.filled_qty * (1 - taker)) and pos.qty == pytest.approx(venue)
        (audit,) = [a for a in store.audit_log() if a.action == "reconcile"]
        assert audit.evidence["position_mismatches"] == 0
        loop.close()


@pytest.fixture
def tiered() -> Iterator[tuple[LoopbackServer, Exchange, TradingClient]]:
    """A venue charging its own tier, 0.1% maker / 0.2% taker (as the crash soak's exchange does), while the
    broker's schedule says 0.15% / 0.25%: the booked fee must be the venue's, not the schedule's."""
    from cappuccino_core.loopback.exchange import FeeTier

    book = ReplayBook({"BTC/USD": bars([99.5, 99.5, 94.0, 99.5])}, spread_bps=2.0)
    ex = Exchange(book, cash=10_000.0, tiers=(FeeTier(0.0, 0.001, 0.002),))
    router = Router()
    register_alpaca_trading(router, ex, min_order_size="0.0001", price_increment="0.01")
    with LoopbackServer(router, name="alpaca-tiered") as srv:
        ex.register_key("PKTEST", "s3cret")
        yield srv, ex, TradingClient("PKTEST", "s3cret", paper=True, url_override=srv.url)
        ex.closing.set()


def _broker(client: TradingClient) -> AlpacaPaperBroker:
    cfg = TradingConfig(request_timeout_s=2.0, submit_attempts=2, retry_wait_s=0.0, retry_wait_max_s=0.0)
    return AlpacaPaperBroker(client, cfg, sleep=lambda s: None)  # Alpaca's entry tier: 0.15% / 0.25%


def test_booked_fees_are_what_the_venue_charged_even_after_a_restart(
    tiered: tuple[LoopbackServer, Exchange, TradingClient],
) -> None:
    """The crash soak's position mismatch (seed 13): the broker booked its schedule's rate (and TAKER for a
    fill first seen after a restart) while the venue kept its own tier's fee in kind."""
    srv, ex, client = tiered
    b = _broker(client)
    b.submit("t-mkt", "BTC/USD", "buy", 0.3, 100.0)  # crosses at 100.01: TAKER 0.2% = 0.0006 BTC
    assert b.submit("t-lim", "BTC/USD", "buy", 0.2, 100.0, order_type="limit", limit_price=95.0).is_live
    ex.advance()
    ex.advance()  # low 94 trades through 95: MAKER 0.1% = 0.0002 BTC
    b2 = _broker(client)  # a new process: it never saw t-lim resting
    lim = b2.get_order("t-lim")
    assert lim is not None and lim.status == "filled"
    (f_mkt,), (f_lim,) = b.fills("t-mkt"), b2.fills("t-lim")
    assert f_mkt.fee == pytest.approx(0.0006 * 100.01, abs=1e-12)  # 0.060006 USD (schedule: 0.0750075)
    assert f_lim.fee == pytest.approx(0.0002 * 95.0, abs=1e-12)  # 0.019 USD (schedule, TAKER: 0.0475)
    # what the bar loop stores (qty - fee / price per buy) is the venue's holding: 0.2994 + 0.1998 = 0.4992
    stored = sum(f.qty - f.fee / f.price for f in (f_mkt, f_lim))
    assert stored == pytest.approx(0.4992, abs=1e-12)
    assert b2.positions() == {"BTC/USD": pytest.approx(stored, rel=1e-12)}
    # the venue's fee activities, as the broker reads them
    url = f"{srv.url}/v2/account/activities/CFEE"
    hdr = {"APCA-API-KEY-ID": "PKTEST", "APCA-API-SECRET-KEY": "s3cret"}
    rows = requests.get(url, params={"order_id": lim.broker_order_id}, headers=hdr, timeout=5).json()
    assert [(r["activity_type"], r["qty"], r["symbol"]) for r in rows] == [("CFEE", "-0.0002", "BTCUSD")]
    # a sell's fee is charged in USD (FEE): 0.1 * 99.99 * 0.002 = 0.019998
    b2.submit("t-sell", "BTC/USD", "sell", 0.1, 100.0)
    (f_sell,) = b2.fills("t-sell")
    assert f_sell.fee == pytest.approx(0.019998, abs=1e-12)


def test_without_fee_activities_the_schedule_is_booked(
    tiered: tuple[LoopbackServer, Exchange, TradingClient],
) -> None:
    srv, _ex, client = tiered
    srv.faults.add("alpaca.fee_activities", Fault.http(404, "not found"), times=5)
    b = _broker(client)
    b.submit("t-mkt", "BTC/USD", "buy", 0.3, 100.0)
    (f,) = b.fills("t-mkt")
    assert f.fee == pytest.approx(0.0025 * 0.3 * 100.01, abs=1e-12)  # the entry tier's TAKER rate
