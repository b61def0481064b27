"""The loopback exchange's venue-neutral core: a top of book from replayed bars (:class:`ReplayBook`) and one
simulated account (:class:`Exchange`) per server. Each venue package serves it in its own wire format
(``cappuccino_core.venues.<name>.loopback_trading``); market-data routes live beside them
(``loopback_marketdata``)."""

from __future__ import annotations

from cappuccino_core.loopback.exchange.accounts import DEFAULT_TIERS, Exchange, ExFill, ExOrder, FeeTier
from cappuccino_core.loopback.exchange.book import Bar, ReplayBook, Top

__all__ = ["DEFAULT_TIERS", "Bar", "ExFill", "ExOrder", "Exchange", "FeeTier", "ReplayBook", "Top"]
