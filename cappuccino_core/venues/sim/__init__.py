"""The in-process simulated venue: fills at the bar's price with the kernel's own cost model (``broker.py``).
It never leaves the process, so it is always paper; it keeps the data's quote currency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cappuccino_core.venues import register_venue
from cappuccino_core.venues.base import Venue

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.trading.brokers.base import Broker


def connect(settings: Settings, endpoint: str | None, ca_cert: str | None, creds: tuple[str, ...]) -> Broker:
    """A fresh simulated account holding ``env.initial_cash``."""
    from cappuccino_core.venues.sim.broker import SimBroker

    return SimBroker(settings.costs, settings.env.initial_cash, spread_bps=settings.trading.sim_spread_bps)


VENUE = register_venue(Venue(name="sim", broker="sim", connect=connect, quote=None))
