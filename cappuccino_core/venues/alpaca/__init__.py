"""Alpaca (alpaca-py): paper trading for crypto, historical crypto bars, and its wire on the loopback server.

Files: ``broker.py`` (the trading client behind the Broker protocol), ``data.py`` (crypto bars source),
``loopback_trading.py`` and ``loopback_marketdata.py`` (the venue's endpoints on the loopback server).
Credentials only from the environment: ``ALPACA_API_KEY`` and ``ALPACA_SECRET_KEY``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cappuccino_core.venues import register_venue
from cappuccino_core.venues.base import Venue, host_of

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.data.http import RetryPolicy
    from cappuccino_core.data.sources.base import BarSource
    from cappuccino_core.loopback.exchange import Exchange
    from cappuccino_core.loopback.server import LoopbackServer
    from cappuccino_core.trading.brokers.base import Broker

CREDENTIALS = ("ALPACA_API_KEY", "ALPACA_SECRET_KEY")
PAPER_HOSTS = frozenset({"paper-api.alpaca.markets"})


def connect(settings: Settings, endpoint: str | None, ca_cert: str | None, creds: tuple[str, ...]) -> Broker:
    """The alpaca-py trading client (paper unless ``endpoint`` says otherwise) behind the Broker protocol."""
    from cappuccino_core.venues.alpaca.broker import AlpacaPaperBroker

    cfg = settings.trading
    if endpoint is not None:
        cfg = cfg.model_copy(update={"alpaca_url_override": endpoint})
    return AlpacaPaperBroker.connect(cfg, creds[0], creds[1])  # Alpaca's own fee schedule (rules.py)


def endpoint_host(settings: Settings, endpoint: str | None) -> str | None:
    """The host orders reach; None for alpaca-py's own paper default (``paper=True``)."""
    url = endpoint or settings.trading.alpaca_url_override
    return None if url is None else host_of(url)


def data_source(
    policy: RetryPolicy, url: str | None, ca_cert: str | Path | None, env: Mapping[str, str]
) -> BarSource:
    """Alpaca's crypto bars; keys are optional for crypto bars but must come as a pair."""
    from cappuccino_core.venues.alpaca.data import AlpacaSource

    key, secret = env.get("ALPACA_API_KEY") or None, env.get("ALPACA_SECRET_KEY") or None
    if (key is None) != (secret is None):
        raise ValueError("set both ALPACA_API_KEY and ALPACA_SECRET_KEY, or neither (crypto bars need none)")
    return AlpacaSource(policy, api_key=key, secret_key=secret, url_override=url.rstrip("/") if url else None)


def loopback_exchange(ex: Exchange) -> LoopbackServer:
    """Alpaca's trading wire over ``ex`` on a plain-HTTP loopback server."""
    from cappuccino_core.venues.alpaca.loopback_trading import alpaca_exchange

    return alpaca_exchange(ex)


def connect_local(settings: Settings, server: LoopbackServer) -> Broker:
    """The real alpaca-py client on a loopback server, with throwaway keys registered with its exchange."""
    from cappuccino_core.venues.alpaca.broker import AlpacaPaperBroker

    key, secret = secrets.token_hex(10), secrets.token_hex(20)
    server.exchange.register_key(key, secret)
    tier = server.exchange.tier()  # book fills at the rates this exchange charges
    cfg = settings.trading.model_copy(update={"alpaca_url_override": server.url})
    return AlpacaPaperBroker.connect(cfg, key, secret, fee_rate=tier.taker, maker_fee_rate=tier.maker)


VENUE = register_venue(
    Venue(
        name="alpaca",
        broker="alpaca-paper",
        aliases=("alpaca", "alpaca_paper"),
        connect=connect,
        credentials=CREDENTIALS,
        endpoint_host=endpoint_host,
        paper_hosts=PAPER_HOSTS,
        data_source=data_source,
        loopback_exchange=loopback_exchange,
        connect_local=connect_local,
        fee_in_kind=True,  # a crypto buy's fee is kept in the coin (AlpacaPaperBroker.fee_in_kind)
    )
)
