"""Venues, one package each (``alpaca``, ``coinbase``, ``sim``), behind one name-keyed registry that the
data side (download sources) and the trading side (brokers, the live guard, the loopback exchange) share.

Adding a venue is one folder: ``cappuccino_core/venues/<name>/__init__.py`` builds a
:class:`~cappuccino_core.venues.base.Venue` and calls :func:`register_venue`; the packages in this folder are
imported on the first lookup. A venue from elsewhere (a plugin, a test) registers the same way.
"""

from __future__ import annotations

from cappuccino_core.common.registry import Registry
from cappuccino_core.venues.base import Venue

#: every name that selects a venue (its own, its broker's, the aliases) -> the venue
VENUES: Registry[Venue] = Registry("venue", packages=("cappuccino_core.venues",))


def register_venue(venue: Venue, *, replace: bool = False) -> Venue:
    """Add ``venue`` under its name, its broker's name and its aliases (ValueError when one is taken by
    another venue, unless ``replace``)."""
    keys = dict.fromkeys((venue.name, *venue.names))
    known = dict(VENUES.items())
    taken = [k for k in keys if k in known and known[k].name != venue.name]
    if taken and not replace:
        raise ValueError(f"venue {venue.name!r}: name(s) {taken} already registered")
    for k in keys:
        VENUES.add(k, venue, replace=True)
    return venue


def unregister_venue(name: str) -> None:
    """Remove a venue and all its names (tests register toy ones)."""
    for k, v in VENUES.items():
        if v.name == name:
            VENUES.remove(k)


def venues() -> tuple[Venue, ...]:
    """Every registered venue once, by name."""
    unique = {v.name: v for _, v in VENUES.items()}
    return tuple(unique[k] for k in sorted(unique))


def get_venue(name: str) -> Venue:
    """The venue ``name`` (a venue or broker name or alias, any case); ValueError listing the known names."""
    return VENUES.get(name.strip().lower())


def fee_in_kind(broker: str) -> bool:
    """Whether the broker named ``broker`` (as a trader records it: ``alpaca-paper``, ``coinbase``, ``sim``)
    keeps a buy's fee in the asset received: its venue's :attr:`Venue.fee_in_kind`. A name no venue
    registers (an in-process sim account under its own name) charges fees in the quote currency: False.
    For readers that have the broker's name only (the dashboard); a trader passes ``broker.fee_in_kind``."""
    try:
        return get_venue(broker).fee_in_kind
    except ValueError:
        return False


__all__ = ["VENUES", "Venue", "fee_in_kind", "get_venue", "register_venue", "unregister_venue", "venues"]
