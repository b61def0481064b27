"""Bar sources: one protocol (``BarSource.fetch(symbol, timeframe, start, end)``), three implementations."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cappuccino_core.data.sources.base import BarSource
from cappuccino_core.data.sources.files import FileSource, parse_file_name, read_bar_file

if TYPE_CHECKING:
    from cappuccino_core.config.data import DataConfig

DOWNLOAD_VENUES = ("alpaca", "coinbase")
__all__ = [
    "DOWNLOAD_VENUES",
    "AlpacaSource",
    "BarSource",
    "CoinbaseSource",
    "FileSource",
    "make_source",
    "parse_file_name",
    "read_bar_file",
]


def __getattr__(name: str) -> Any:  # the SDK-backed sources import their SDK only when asked for
    if name == "AlpacaSource":
        from cappuccino_core.data.sources.alpaca import AlpacaSource

        return AlpacaSource
    if name == "CoinbaseSource":
        from cappuccino_core.data.sources.coinbase import CoinbaseSource

        return CoinbaseSource
    raise AttributeError(name)


def make_source(
    venue: str,
    data_cfg: DataConfig,
    *,
    url: str | None = None,
    ca_cert: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> BarSource:
    """The download source for ``venue`` (alpaca | coinbase) with the retry policy from ``data_cfg``.

    ``url`` points the SDK elsewhere (a loopback simulator): Alpaca ``scheme://host:port``, Coinbase
    ``host:port`` (an ``https://`` prefix is accepted and stripped); ``ca_cert`` is the certificate to trust
    for Coinbase's HTTPS. Alpaca keys come only from the environment (ALPACA_API_KEY / ALPACA_SECRET_KEY)
    and are optional for crypto bars."""
    from cappuccino_core.data.http import RetryPolicy

    env = os.environ if env is None else env
    policy = RetryPolicy.from_config(data_cfg)
    v = venue.strip().lower()
    if v == "alpaca":
        from cappuccino_core.data.sources.alpaca import AlpacaSource

        key, secret = env.get("ALPACA_API_KEY") or None, env.get("ALPACA_SECRET_KEY") or None
        if (key is None) != (secret is None):
            raise ValueError(
                "set both ALPACA_API_KEY and ALPACA_SECRET_KEY, or neither (crypto bars need none)"
            )
        return AlpacaSource(
            policy, api_key=key, secret_key=secret, url_override=url.rstrip("/") if url else None
        )
    if v == "coinbase":
        from cappuccino_core.data.sources.coinbase import CoinbaseSource

        host = url.split("://", 1)[-1].rstrip("/") if url else None
        if url and url.startswith("http://"):
            raise ValueError("coinbase-advanced-py only speaks HTTPS; give host:port or https://host:port")
        return CoinbaseSource(policy, base_url=host, verify=ca_cert)
    raise ValueError(
        f"venue {venue!r} has no download source (have: {', '.join(DOWNLOAD_VENUES)}); "
        "import local files with `cappuccino data import` instead"
    )
