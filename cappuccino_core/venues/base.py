"""What a venue is to the rest of the system: one :class:`Venue` record per package under
``cappuccino_core/venues/<name>/``, registered by name.

The data side asks a venue for a download source (:attr:`Venue.data_source`), the trading side for a
connected broker (:attr:`Venue.connect`), the live guard for the host an order would reach
(:attr:`Venue.endpoint_host`), and the ``local`` broker for the venue's loopback wire
(:attr:`Venue.loopback_exchange` and :attr:`Venue.connect_local`). Every callable imports its SDK lazily,
so registering a venue costs nothing until it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.data.http import RetryPolicy
    from cappuccino_core.data.sources.base import BarSource
    from cappuccino_core.loopback.exchange import Exchange
    from cappuccino_core.loopback.server import LoopbackServer
    from cappuccino_core.trading.brokers.base import Broker

#: (settings, endpoint or None, CA certificate path or None, credentials) -> a connected broker
ConnectBroker = Callable[["Settings", "str | None", "str | None", "tuple[str, ...]"], "Broker"]
#: (retry policy, endpoint or None, CA certificate or None, environment) -> a bar source
MakeSource = Callable[["RetryPolicy", "str | None", "str | Path | None", "Mapping[str, str]"], "BarSource"]
#: (settings, endpoint or None) -> the host orders would reach, None for in-process or the SDK's paper default
EndpointHost = Callable[["Settings", "str | None"], "str | None"]


@dataclass(frozen=True)
class Venue:
    """One trading venue: its names, credentials, wire and the factories that build its parts."""

    #: registry key and the data store's venue name (``alpaca``, ``coinbase``, ``sim``)
    name: str
    #: the canonical broker name users type (``alpaca-paper``, ``coinbase``, ``sim``)
    broker: str
    #: a broker built from the settings, an endpoint override, a CA cert and the credentials
    connect: ConnectBroker
    #: other names accepted for the broker (``alpaca`` -> ``alpaca-paper``)
    aliases: tuple[str, ...] = ()
    #: environment variables holding the credentials, in the order ``connect`` takes them
    credentials: tuple[str, ...] = ()
    #: the quote currency the venue trades crypto in; None keeps the data's quote (in-process venues)
    quote: str | None = "USD"
    #: the host an order would reach; None means in-process (never real money)
    endpoint_host: EndpointHost | None = None
    #: hosts of the venue's paper/sandbox environment (orders there never touch real money)
    paper_hosts: frozenset[str] = field(default_factory=frozenset)
    #: the download source for historical bars; None when the venue serves none
    data_source: MakeSource | None = None
    #: the venue's trading wire on the loopback server (for the ``local`` broker); None when it has none
    loopback_exchange: Callable[[Exchange], LoopbackServer] | None = None
    #: the real SDK client connected to a loopback server speaking this venue's wire
    connect_local: Callable[[Settings, LoopbackServer], Broker] | None = None
    #: a buy's fee is kept in the asset received (Alpaca), not charged in the quote currency; the venue's
    #: broker says the same (``Broker.fee_in_kind``), and the trade metrics net it out of the bought quantity
    fee_in_kind: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every name that selects this venue's broker (canonical first)."""
        return (self.broker, *self.aliases)


def host_of(endpoint: str) -> str:
    """``https://host:port/x`` or ``host:port`` -> ``host`` (lower case)."""
    e = endpoint.strip()
    parts = urlsplit(e if "://" in e else f"//{e}")
    return (parts.hostname or e).lower()
