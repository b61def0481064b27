"""Deterministic client order ids for the loop: the brokers' own function (one definition, re-exported)."""

from cappuccino_core.trading.brokers.client_ids import client_order_id

__all__ = ["client_order_id"]
