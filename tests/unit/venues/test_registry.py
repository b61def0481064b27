"""The venue registry: the built-in venues are found by name from their folders, and a new venue registered
from one place (here, this test file) is usable by the broker factory, the live guard and the data side
without touching another file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cappuccino_core.data.sources import download_venues, make_source
from cappuccino_core.trading.brokers.factory import (
    MissingCredentials,
    broker_names,
    canonical_name,
    make_broker,
    venue_symbol,
)
from cappuccino_core.trading.brokers.live_guard import LiveRefused, live_endpoint
from cappuccino_core.venues import Venue, get_venue, register_venue, unregister_venue, venues
from cappuccino_core.venues.base import host_of


def test_builtin_venues_are_discovered_from_their_folders() -> None:
    names = {v.name for v in venues()}
    assert {"alpaca", "coinbase", "sim"} <= names
    pkg = Path(__file__).resolve().parents[3] / "cappuccino_core" / "venues"
    folders = {p.name for p in pkg.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= names  # every folder is a registered venue
    assert get_venue("ALPACA").broker == "alpaca-paper" and get_venue("alpaca-paper").name == "alpaca"
    assert set(download_venues()) == {"alpaca", "coinbase"}  # sim serves no history
    assert broker_names()[-1] == "local" and "coinbase" in broker_names()
    with pytest.raises(ValueError, match=r"unknown venue 'kraken'; known: .*coinbase"):
        get_venue("kraken")


def test_host_of() -> None:
    assert host_of("https://API.Coinbase.com:443/x") == "api.coinbase.com"
    assert host_of("127.0.0.1:8443") == "127.0.0.1"


class ToyBroker:
    name = "toy"

    def __init__(self, endpoint: str | None, creds: tuple[str, ...]) -> None:
        self.endpoint, self.creds = endpoint, creds


class ToySource:
    venue = "toyex"

    def __init__(self, url: str | None, env: Mapping[str, str]) -> None:
        self.url, self.env = url, env

    def fetch(self, symbol: Any, timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        raise NotImplementedError


@pytest.fixture()
def toy_venue() -> Iterator[Venue]:
    venue = Venue(
        name="toyex",
        broker="toyex-paper",
        aliases=("toy",),
        credentials=("TOYEX_KEY",),
        quote="EUR",
        connect=lambda settings, endpoint, cert, creds: ToyBroker(endpoint, creds),  # type: ignore[arg-type,return-value]
        endpoint_host=lambda settings, endpoint: host_of(endpoint or "api.toyex.example"),
        paper_hosts=frozenset({"paper.toyex.example"}),
        data_source=lambda policy, url, cert, env: ToySource(url, env),  # type: ignore[arg-type,return-value]
    )
    register_venue(venue)
    try:
        yield venue
    finally:
        unregister_venue("toyex")


def test_a_registered_venue_is_usable_everywhere(
    toy_venue: Venue, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert canonical_name("toy") == "toyex-paper" and "toyex-paper" in broker_names()
    assert venue_symbol("BTC/USDT", "toy") == "BTC/EUR"  # the venue's own quote currency
    # the live guard: its paper host is paper, its default host is live money
    assert live_endpoint(settings, "toyex-paper", "https://paper.toyex.example") is None
    assert live_endpoint(settings, "toyex-paper") == "api.toyex.example"
    with pytest.raises(LiveRefused, match=r"toyex-paper at api\.toyex\.example trades real money"):
        make_broker(settings, "toy")
    # credentials only from the environment, named when missing
    with pytest.raises(MissingCredentials, match="set TOYEX_KEY"):
        make_broker(settings, "toy", exchange_url="https://paper.toyex.example")
    monkeypatch.setenv("TOYEX_KEY", "k")
    broker: Any = make_broker(settings, "toy", exchange_url="https://paper.toyex.example")
    assert isinstance(broker, ToyBroker) and broker.creds == ("k",)
    # the data side
    assert "toyex" in download_venues()
    src: Any = make_source("toyex", settings.data, url="http://127.0.0.1:1", env={"A": "b"})
    assert isinstance(src, ToySource) and src.url == "http://127.0.0.1:1"


def test_a_name_cannot_be_taken_twice(toy_venue: Venue) -> None:
    clash = Venue(name="other", broker="coinbase", connect=toy_venue.connect)
    with pytest.raises(ValueError, match="already registered"):
        register_venue(clash)
    assert get_venue("coinbase").name == "coinbase"


def test_a_venue_without_history_is_refused_by_the_data_side(settings: Any) -> None:
    with pytest.raises(ValueError, match="venue 'sim' has no download source"):
        make_source("sim", settings.data)
    with pytest.raises(ValueError, match="venue 'kraken' has no download source"):
        make_source("kraken", settings.data)
