"""Venues, one package each (``alpaca``, ``coinbase``, ``sim``), behind one name-keyed registry that the
data side (download sources) and the trading side (brokers, the live guard, the loopback exchange) share.

Adding a venue is one folder: ``cappuccino_core/venues/<name>/__init__.py`` builds a
:class:`~cappuccino_core.venues.base.Venue` and calls :func:`register_venue`; packages in this folder are
discovered on first lookup. A venue from elsewhere (a plugin, a test) registers the same way.
"""

from __future__ import annotations

import importlib
import pkgutil

from cappuccino_core.venues.base import Venue

_VENUES: dict[str, Venue] = {}
_discovered = False


def register_venue(venue: Venue, *, replace: bool = False) -> Venue:
    """Add ``venue`` to the registry (ValueError when one of its names is taken, unless ``replace``)."""
    taken = [n for n in (venue.name, *venue.names) if n in _by_any_name() and _by_any_name()[n] != venue.name]
    if taken and not replace:
        raise ValueError(f"venue {venue.name!r}: name(s) {taken} already registered")
    _VENUES[venue.name] = venue
    return venue


def unregister_venue(name: str) -> None:
    """Remove a venue (tests register toy ones)."""
    _VENUES.pop(name, None)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for mod in pkgutil.iter_modules(__path__):
        if mod.ispkg:
            importlib.import_module(f"{__name__}.{mod.name}")


def _by_any_name() -> dict[str, str]:
    out: dict[str, str] = {}
    for v in _VENUES.values():
        for n in (v.name, *v.names):
            out[n] = v.name
    return out


def venues() -> tuple[Venue, ...]:
    """Every registered venue, by name."""
    _discover()
    return tuple(_VENUES[k] for k in sorted(_VENUES))


def get_venue(name: str) -> Venue:
    """The venue ``name`` (a venue or broker name or alias, any case); ValueError listing the known names."""
    _discover()
    key = _by_any_name().get(name.strip().lower())
    if key is None:
        known = sorted(_by_any_name())
        raise ValueError(f"unknown venue {name!r}; known: {', '.join(known)}")
    return _VENUES[key]


__all__ = ["Venue", "get_venue", "register_venue", "unregister_venue", "venues"]
