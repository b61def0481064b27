"""Loopback exchange simulator: a local HTTP(S) server speaking Alpaca's and Coinbase Advanced's wire
formats so the real SDKs can be tested and demoed offline. Router and server in ``server``; fault
injection and the request log in ``faults``; market-data routes in ``marketdata``; trading endpoints in
``exchange``; the self-signed certificate in ``tls``."""

from cappuccino_core.loopback.faults import Fault, FaultPlan, RequestLog
from cappuccino_core.loopback.marketdata import (
    MarketData,
    alpaca_server,
    coinbase_server,
    register_alpaca_marketdata,
    register_coinbase_marketdata,
)
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
    "alpaca_server",
    "coinbase_server",
    "generate_self_signed",
    "register_alpaca_marketdata",
    "register_coinbase_marketdata",
]
