"""Coinbase Advanced Trade (coinbase-advanced-py): live trading with maker-first orders, historical candles,
and its wire on the loopback server (HTTPS).

Files: ``broker.py`` (the REST client behind the Broker protocol), ``maker_first.py`` (post-only quotes with a
market fallback), ``data.py`` (candles source), ``loopback_trading.py`` and ``loopback_marketdata.py``.
Credentials only from the environment: ``COINBASE_API_KEY`` and ``COINBASE_API_SECRET``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cappuccino_core.venues import register_venue
from cappuccino_core.venues.base import Venue, host_of

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.data.http import RetryPolicy
    from cappuccino_core.data.sources.base import BarSource
    from cappuccino_core.loopback.exchange import Exchange
    from cappuccino_core.loopback.server import LoopbackServer
    from cappuccino_core.trading.brokers.base import Broker

CREDENTIALS = ("COINBASE_API_KEY", "COINBASE_API_SECRET")
PAPER_HOSTS = frozenset({"api-sandbox.coinbase.com"})


def connect(settings: Settings, endpoint: str | None, ca_cert: str | None, creds: tuple[str, ...]) -> Broker:
    """The coinbase-advanced-py client behind the Broker protocol; ``endpoint`` is ``host:port`` (an
    ``https://`` prefix is stripped), ``ca_cert`` the certificate to trust for it."""
    from cappuccino_core.venues.coinbase.broker import CoinbaseBroker

    upd: dict[str, Any] = {}
    if endpoint is not None:
        upd["coinbase_base_url"] = endpoint.split("://", 1)[-1].rstrip("/")
    if ca_cert is not None:
        upd["coinbase_cert_path"] = str(ca_cert)
    cfg = settings.trading.model_copy(update=upd) if upd else settings.trading
    return CoinbaseBroker.connect(cfg, creds[0], creds[1])


def endpoint_host(settings: Settings, endpoint: str | None) -> str | None:
    """The host orders reach (the configured base URL unless ``endpoint`` overrides it)."""
    return host_of(endpoint or settings.trading.coinbase_base_url)


def data_source(
    policy: RetryPolicy, url: str | None, ca_cert: str | Path | None, env: Mapping[str, str]
) -> BarSource:
    """Coinbase's public candles (HTTPS only)."""
    from cappuccino_core.venues.coinbase.data import CoinbaseSource

    if url and url.startswith("http://"):
        raise ValueError("coinbase-advanced-py only speaks HTTPS; give host:port or https://host:port")
    host = url.split("://", 1)[-1].rstrip("/") if url else None
    return CoinbaseSource(policy, base_url=host, verify=ca_cert)


def throwaway_key() -> tuple[str, str]:
    """A fresh P-256 key (the SDK signs every request with a real key) and a key name, for loopback use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return f"organizations/local/apiKeys/{secrets.token_hex(8)}", pem


def loopback_exchange(ex: Exchange) -> LoopbackServer:
    """Coinbase Advanced's trading wire over ``ex`` on an HTTPS loopback server."""
    from cappuccino_core.venues.coinbase.loopback_trading import coinbase_exchange

    return coinbase_exchange(ex)


def connect_local(settings: Settings, server: LoopbackServer) -> Broker:
    """The real SDK client on a loopback server. The book moves once per bar, so a quote cannot fill while
    it waits: the maker-first order takes its fallback at once."""
    cfg = settings.trading.model_copy(update={"maker_wait_s": 0.0, "maker_requotes": 0})
    local = settings.model_copy(update={"trading": cfg})
    name, pem = throwaway_key()
    from cappuccino_core.venues.coinbase.auth import public_key

    server.exchange.register_key(name, public_key(pem))  # the loopback verifies every JWT against it
    return connect(local, server.host_port, str(server.cert_path), (name, pem))


VENUE = register_venue(
    Venue(
        name="coinbase",
        broker="coinbase",
        connect=connect,
        credentials=CREDENTIALS,
        endpoint_host=endpoint_host,
        paper_hosts=PAPER_HOSTS,
        data_source=data_source,
        loopback_exchange=loopback_exchange,
        connect_local=connect_local,
    )
)
