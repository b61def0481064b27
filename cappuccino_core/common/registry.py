"""Name-keyed registries: the extension points (risk rules, gates, rewards, indicators, policies).

A :class:`Registry` maps names to entries (a class, a function or a small record). Entries register
themselves where they are defined (``@RISK_RULES.register("stop_loss")`` above a class, or
``REWARDS.add("log_return", entry)``), and a registry may name the packages its entries live in: the
first lookup imports every module of those packages, so a new entry is one new file in such a package
and nothing else changes (freqtrade's protections work the same way). An unknown name raises a
:class:`KeyError` that lists the known names.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
E = TypeVar("E")


class UnknownName(KeyError, ValueError):
    """A name no entry of the registry has; the message lists the known ones (a KeyError for lookups, a
    ValueError for settings that name it)."""

    def __str__(self) -> str:  # KeyError quotes its argument; this message is a sentence
        return str(self.args[0])


class Registry(Generic[T]):
    """Entries of one kind by name, in registration order.

    ``kind`` names the registry in errors ("risk rule", "gate"); ``packages`` are dotted package names
    whose modules are imported once, on the first lookup, so that the entries they define are registered.
    """

    def __init__(self, kind: str, packages: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.packages = packages
        self._entries: dict[str, T] = {}
        self._discovered = False

    def add(self, name: str, entry: T, *, replace: bool = False) -> T:
        """Register ``entry`` under ``name``; the same name twice is an error unless ``replace``."""
        if not name or not isinstance(name, str):
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries and not replace and self._entries[name] is not entry:
            raise ValueError(f"{self.kind} {name!r} is registered twice ({self._entries[name]!r}, {entry!r})")
        self._entries[name] = entry
        return entry

    def register(self, name: str, *, replace: bool = False) -> Callable[[E], E]:
        """Decorator: register the decorated class or function under ``name``."""

        def deco(entry: E) -> E:
            self.add(name, entry, replace=replace)  # type: ignore[arg-type]
            return entry

        return deco

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests that register a toy entry clean up with this)."""
        self._entries.pop(name, None)

    def discover(self) -> None:
        """Import every module of ``packages`` (once), registering the entries they define."""
        if self._discovered:
            return
        self._discovered = True
        for package in self.packages:
            pkg = importlib.import_module(package)
            for info in pkgutil.iter_modules(pkg.__path__, package + "."):
                importlib.import_module(info.name)

    def get(self, name: str) -> T:
        """The entry registered under ``name``; :class:`UnknownName` lists the known names."""
        if name not in self._entries:
            self.discover()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self.discover()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs in registration order."""
        self.discover()
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
