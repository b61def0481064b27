"""The loopback exchange: trading endpoints of Alpaca (plain HTTP) and Coinbase Advanced (TLS) on top of
the loopback server, with a top of book from replayed bars (:class:`ReplayBook`) and one simulated account
(:class:`Exchange`) per server. Market-data routes come from :mod:`cappuccino_core.loopback.marketdata`."""

from __future__ import annotations

from cappuccino_core.loopback.exchange.accounts import DEFAULT_TIERS, Exchange, ExFill, ExOrder, FeeTier
from cappuccino_core.loopback.exchange.alpaca_routes import register_alpaca_trading
from cappuccino_core.loopback.exchange.book import Bar, ReplayBook, Top
from cappuccino_core.loopback.exchange.coinbase_routes import register_coinbase_trading
from cappuccino_core.loopback.server import LoopbackServer, Router


def alpaca_exchange(ex: Exchange, router: Router | None = None) -> LoopbackServer:
    """A plain-HTTP loopback speaking Alpaca trading (pass ``server.url`` as ``url_override``)."""
    router = router or Router()
    register_alpaca_trading(router, ex)
    return LoopbackServer(router, name="alpaca-exchange")


def coinbase_exchange(ex: Exchange, router: Router | None = None) -> LoopbackServer:
    """An HTTPS loopback (fresh self-signed cert) speaking Coinbase Advanced trading."""
    router = router or Router()
    register_coinbase_trading(router, ex)
    return LoopbackServer(router, tls=True, name="coinbase-exchange")


__all__ = [
    "DEFAULT_TIERS",
    "Bar",
    "ExFill",
    "ExOrder",
    "Exchange",
    "FeeTier",
    "ReplayBook",
    "Top",
    "alpaca_exchange",
    "coinbase_exchange",
    "register_alpaca_trading",
    "register_coinbase_trading",
]
