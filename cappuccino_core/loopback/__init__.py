"""Loopback exchange simulator: a local HTTP(S) server speaking Alpaca's and Coinbase Advanced's wire
formats so the real SDKs can be tested and demoed offline. Router and server in ``server``; fault
injection and the request log in ``faults``; the market data in ``marketdata``; the exchange's book and
accounts in ``exchange``; the self-signed certificate in ``tls``. Each venue's wire routes live in its
package, ``cappuccino_core.venues.<name>``."""

from cappuccino_core.loopback.faults import Fault, FaultPlan, RequestLog
from cappuccino_core.loopback.marketdata import MarketData
from cappuccino_core.loopback.server import (
    HTTPError,
    LoopbackServer,
    Request,
    Response,
    Router,
)
from cappuccino_core.loopback.tls import TlsMaterial, generate_self_signed

__all__ = [
    "Fault",
    "FaultPlan",
    "HTTPError",
    "LoopbackServer",
    "MarketData",
    "Request",
    "RequestLog",
    "Response",
    "Router",
    "TlsMaterial",
    "generate_self_signed",
]
