"""Brokers behind one protocol (:class:`~cappuccino_core.trading.brokers.base.Broker`): ``sim`` (in
process, the kernel's cost model), ``alpaca-paper`` (alpaca-py) and ``coinbase`` (coinbase-advanced-py,
maker-first)."""

from cappuccino_core.trading.brokers.base import (
    Account,
    BarAware,
    Broker,
    BrokerError,
    Closable,
    Fill,
    Order,
    OrderRejected,
    OwnAccount,
    Position,
    Quote,
)

__all__ = [
    "Account",
    "BarAware",
    "Broker",
    "BrokerError",
    "Closable",
    "Fill",
    "Order",
    "OrderRejected",
    "OwnAccount",
    "Position",
    "Quote",
]
