"""Coinbase Advanced's candle routes on the loopback server (see shared/design/BROKER_WIRE.md).

Coinbase Advanced (HTTPS; ``RESTClient(base_url=server.host_port)`` + ``session.verify=server.cert_path`` and
``session.trust_env=False``):

- ``GET /api/v3/brokerage/market/products/{product_id}/candles?start=<unix s>&end=<unix s>``
  ``&granularity=ONE_HOUR`` (public) and ``GET /api/v3/brokerage/products/{product_id}/candles`` (needs an
  ``Authorization: Bearer`` header; the JWT is not verified)
  -> ``{"candles": [{"start","low","high","open","close","volume"}]}``, newest first, every value a
  string, buckets with ``start <= bucket start <= end``. More than ``max_candles`` (300) buckets in the
  window, or a ``limit`` above it -> 400 ``INVALID_ARGUMENT``.
- ``GET /api/v3/brokerage/time`` (public).
- Errors: ``{"error": "INVALID_ARGUMENT", "error_details": ..., "message": ...}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cappuccino_core.data.bars import TIME
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.loopback.marketdata import MarketData, market_now
from cappuccino_core.loopback.server import HTTPError, LoopbackServer, Request, Router

COINBASE_MAX_CANDLES = 300
COINBASE_GRANULARITY = {
    "ONE_MINUTE": "1m",
    "FIVE_MINUTE": "5m",
    "FIFTEEN_MINUTE": "15m",
    "THIRTY_MINUTE": "30m",
    "ONE_HOUR": "1h",
    "TWO_HOUR": "2h",
    "SIX_HOUR": "6h",
    "ONE_DAY": "1d",
}

_CB_ERRORS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def coinbase_error_body(status: int, message: str) -> dict[str, Any]:
    """An error body as Coinbase writes it (``error`` code name, ``error_details``, ``message``)."""
    return {"error": _CB_ERRORS.get(status, "UNKNOWN"), "error_details": message, "message": message}


def _unix_arg(req: Request, name: str) -> int:
    value = req.arg(name)
    if value in (None, ""):
        raise HTTPError(400, f"{name} is required (unix seconds)")
    try:
        return int(float(value))
    except ValueError:
        raise HTTPError(400, f"invalid {name}: {value!r} (unix seconds)") from None


def _candle(row: dict[str, Any]) -> dict[str, str]:
    return {
        "start": str(int(row[TIME].timestamp())),
        "low": repr(float(row["low"])),
        "high": repr(float(row["high"])),
        "open": repr(float(row["open"])),
        "close": repr(float(row["close"])),
        "volume": repr(float(row["volume"])),
    }


def register_coinbase_marketdata(
    router: Router,
    market: MarketData,
    *,
    max_candles: int = COINBASE_MAX_CANDLES,
    prefix: str = "/api/v3/brokerage",
) -> None:
    """Add Coinbase Advanced's candle routes (``coinbase.public_candles``, ``coinbase.candles``) and
    ``coinbase.time``."""

    def candles(req: Request) -> dict[str, Any]:
        product = req.params["product_id"]
        try:
            symbol = parse_symbol(product)
        except ValueError:
            raise HTTPError(400, f"ProductID {product!r} is invalid") from None
        if not market.has(symbol):
            raise HTTPError(404, f"product {product} not found")
        gran = req.arg("granularity")
        if not gran:
            raise HTTPError(400, "granularity is required")
        tf = COINBASE_GRANULARITY.get(gran.upper())
        if tf is None:
            raise HTTPError(400, f"invalid granularity {gran!r} (one of {', '.join(COINBASE_GRANULARITY)})")
        start, end = _unix_arg(req, "start"), _unix_arg(req, "end")
        if end < start:
            raise HTTPError(400, "end must not be before start")
        step = timeframe_seconds(tf)
        limit_raw = req.arg("limit")
        if limit_raw not in (None, ""):
            try:
                requested = int(limit_raw)
            except ValueError:
                raise HTTPError(400, f"invalid limit {limit_raw!r}") from None
        else:
            requested = (end - start) // step + 1
        if requested > max_candles:
            raise HTTPError(
                400,
                f"number of candles requested should be less than or equal to {max_candles} "
                f"(got {requested})",
            )
        if tf not in market.timeframes(symbol):
            raise HTTPError(400, f"loopback has no {gran} candles for {product}")
        df = market.window(
            symbol, tf, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        ).reverse()
        if limit_raw not in (None, ""):
            df = df.head(requested)
        return {"candles": [_candle(r) for r in df.iter_rows(named=True)]}

    def private_candles(req: Request) -> dict[str, Any]:
        auth = req.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            raise HTTPError(401, "missing or invalid Authorization bearer token")
        return candles(req)

    def server_time(req: Request) -> dict[str, Any]:
        now = market_now(market)
        return {
            "iso": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "epochSeconds": str(int(now.timestamp())),
            "epochMillis": str(int(now.timestamp() * 1000)),
        }

    pid = r"(?P<product_id>[A-Za-z0-9]+-[A-Za-z0-9]+)"
    eb = coinbase_error_body
    router.add(
        "GET",
        rf"{prefix}/market/products/{pid}/candles",
        candles,
        name="coinbase.public_candles",
        error_body=eb,
    )
    router.add(
        "GET", rf"{prefix}/products/{pid}/candles", private_candles, name="coinbase.candles", error_body=eb
    )
    router.add("GET", rf"{prefix}/time", server_time, name="coinbase.time", error_body=eb)


def coinbase_server(
    market: MarketData, *, max_candles: int = COINBASE_MAX_CANDLES, router: Router | None = None
) -> LoopbackServer:
    """An HTTPS loopback (fresh self-signed cert) serving Coinbase Advanced candles."""
    router = router or Router()
    register_coinbase_marketdata(router, market, max_candles=max_candles)
    return LoopbackServer(router, tls=True, name="coinbase-loopback")
