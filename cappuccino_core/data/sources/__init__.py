"""Bar sources: one protocol (``BarSource.fetch(symbol, timeframe, start, end)``); local files here, each
venue's download source in its package (``cappuccino_core.venues.<name>.data``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cappuccino_core.data.sources.base import BarSource
from cappuccino_core.data.sources.files import FileSource, parse_file_name, read_bar_file

if TYPE_CHECKING:
    from cappuccino_core.config.data import DataConfig

__all__ = [
    "BarSource",
    "FileSource",
    "download_venues",
    "make_source",
    "parse_file_name",
    "read_bar_file",
]


def download_venues() -> tuple[str, ...]:
    """The registered venues that serve historical bars (:mod:`cappuccino_core.venues`)."""
    from cappuccino_core.venues import venues

    return tuple(v.name for v in venues() if v.data_source is not None)


def make_source(
    venue: str,
    data_cfg: DataConfig,
    *,
    url: str | None = None,
    ca_cert: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> BarSource:
    """The download source of the registered ``venue`` (alpaca | coinbase | ...) with the retry policy from
    ``data_cfg``.

    ``url`` points the SDK elsewhere (a loopback simulator): Alpaca ``scheme://host:port``, Coinbase
    ``host:port`` (an ``https://`` prefix is accepted and stripped); ``ca_cert`` is the certificate to trust
    for Coinbase's HTTPS. Alpaca keys come only from the environment (ALPACA_API_KEY / ALPACA_SECRET_KEY)
    and are optional for crypto bars."""
    from cappuccino_core.data.http import RetryPolicy
    from cappuccino_core.venues import get_venue

    env = os.environ if env is None else env
    have = download_venues()
    try:
        spec = get_venue(venue)
    except ValueError:
        spec = None
    if spec is None or spec.data_source is None:
        raise ValueError(
            f"venue {venue!r} has no download source (have: {', '.join(have)}); "
            "import local files with `cappuccino data import` instead"
        )
    return spec.data_source(RetryPolicy.from_config(data_cfg), url, ca_cert, env)
