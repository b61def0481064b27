"""A trader crashes while its maker quote rests at the venue; the restart cancels that quote (and any
order the store does not know) before trading, records its fills, and never places a second order for the
same bar (finding 2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from coinbase.rest import RESTClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.loopback.exchange import Exchange, FeeTier, ReplayBook
from cappuccino_core.state.schema import OrderRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.loop.trader import BarLoop
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.venues.coinbase.auth import public_key
from cappuccino_core.venues.coinbase.broker import CoinbaseBroker
from cappuccino_core.venues.coinbase.loopback_trading import coinbase_exchange


class Crash(BaseException):
    """The process dies (nothing in the trader catches it)."""


def _bars() -> pl.DataFrame:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    n = 6
    return pl.DataFrame(
        {
            "time": [t0 + timedelta(hours=i) for i in range(n)],
            "open": [100.0] * n,
            "high": [101.0] * n,
            "low": [99.995] * n,  # never trades through the 99.99 bid: the quote keeps resting
            "close": [100.0] * n,
        }
    )


def _broker(srv, ex: Exchange, sleep) -> CoinbaseBroker:  # type: ignore[no-untyped-def]
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    ex.register_key("organizations/x/apiKeys/r", public_key(pem))
    client = RESTClient(
        api_key="organizations/x/apiKeys/r", api_secret=pem, base_url=srv.host_port, timeout=2
    )
    client.session.verify = str(srv.cert_path)
    client.session.trust_env = False
    cfg = TradingConfig(request_timeout_s=2.0, retry_wait_s=0.0, maker_wait_s=60.0, maker_poll_s=1.0)
    return CoinbaseBroker(client, cfg, sleep=sleep)


def test_crash_with_a_resting_maker_quote_then_restart(settings) -> None:  # type: ignore[no-untyped-def]
    ex = Exchange(
        ReplayBook({"BTC/USD": _bars()}, spread_bps=2.0), cash=100_000.0, tiers=(FeeTier(0, 0.004, 0.006),)
    )
    t_ns = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1e9)
    store = StateStore(settings.paths.state_url)

    def loop(broker: CoinbaseBroker, ttl: float = 120.0) -> BarLoop:
        return BarLoop(broker, store, RiskManager.from_config(settings.risk), settings.env, ("BTC/USDT",),
                       lambda t: np.ones((1, 1)), run_id="rq", bar_ns=3_600 * 10**9, max_age_s=1e12,
                       assets=("BTC/USD",), lease_ttl_s=ttl)  # fmt: skip

    def die(_s: float) -> None:
        raise Crash

    with coinbase_exchange(ex) as srv:
        first = loop(_broker(srv, ex, die), ttl=0.2)
        with pytest.raises(Crash):  # the maker quote is placed; the process dies while it rests
            first.on_bar(0, t_ns, np.array([100.0]), t_ns + 3_600 * 10**9)
        (quote,) = ex.orders.values()
        assert quote.status == "open" and quote.client_order_id.endswith("-m0")
        # an order the store never heard of (placed by hand, or by a process whose store was lost)
        stray = ex.place("manual-1", "BTC/USD", "buy", 0.01, order_type="limit", limit_price=90.0)
        time.sleep(0.3)  # the dead trader's lease expires

        again = loop(_broker(srv, ex, lambda s: ex.advance()))
        again.reconcile()
        assert quote.status == "canceled" and stray.status == "canceled"  # nothing left working
        res = again.on_bar(0, t_ns, np.array([100.0]), t_ns + 3_600 * 10**9)  # the same bar again
        assert res.orders == []  # the bar's order is known: no second order
        assert len(ex.orders) == 2 and not ex.open_orders()
        with store.session() as s:
            (rec,) = s.scalars(select(OrderRow)).all()
        assert rec.status == "canceled" and rec.filled_qty == 0.0
        (audit,) = [a for a in store.audit_log() if a.action == "cancel_open_on_start"]
        assert audit.evidence["unknown"] == ["manual-1"] and len(audit.evidence["orders"]) == 2
        again.close()
        ex.closing.set()


def test_a_cancel_that_never_completes_is_an_error_the_bar_reports(settings) -> None:  # type: ignore[no-untyped-def]
    ex = Exchange(
        ReplayBook({"BTC/USD": _bars()}, spread_bps=2.0),
        cash=100_000.0,
        tiers=(FeeTier(0, 0.004, 0.006),),
        cancel_delay_bars=1_000,  # the venue never confirms the cancel
    )
    t_ns = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1e9)
    store = StateStore(settings.paths.state_url)
    with coinbase_exchange(ex) as srv:
        b = _broker(srv, ex, lambda s: ex.advance())
        b.cfg = b.cfg.model_copy(update={"maker_wait_s": 2.0, "maker_cancel_wait_s": 3.0})
        loop = BarLoop(b, store, RiskManager.from_config(settings.risk), settings.env, ("BTC/USDT",),
                       lambda t: np.ones((1, 1)), run_id="stuck", bar_ns=3_600 * 10**9, max_age_s=1e12,
                       assets=("BTC/USD",))  # fmt: skip
        res = loop.on_bar(0, t_ns, np.array([100.0]), t_ns + 3_600 * 10**9)
        assert res.error is not None and "still pending_cancel" in res.error  # alerted, not swallowed
        assert len(ex.orders) == 1  # no re-quote, no market fallback beside the stuck quote
        loop.close()
        ex.closing.set()
