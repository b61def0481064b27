"""Alpaca's crypto market-data routes on the loopback server (see shared/design/BROKER_WIRE.md).

Alpaca (plain HTTP; ``CryptoHistoricalDataClient(url_override=server.url)``):

- ``GET /v1beta3/crypto/{feed}/bars?symbols=BTC/USD,ETH/USD&timeframe=1Hour&start=&end=&limit=&sort=``
  ``&page_token=`` -> ``{"bars": {"BTC/USD": [{"t","o","h","l","c","v","n","vw"}]}, "next_page_token": ...}``
  (a token or null); start and end inclusive, items ordered by symbol then time, at most
  ``min(limit, page_size)`` items per page.
  ``n`` (trade count) is 0 and ``vw`` the typical price (h+l+c)/3: the stored bars do not carry them.
- ``GET /v1beta3/crypto/{feed}/latest/bars?symbols=`` -> ``{"bars": {"BTC/USD": {...}}}``.
- Errors: ``{"code": <status>10000, "message": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from cappuccino_core.data.bars import TIME
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.loopback.marketdata import MarketData, as_utc, market_now
from cappuccino_core.loopback.server import HTTPError, LoopbackServer, Request, Router

ALPACA_MAX_LIMIT = 10_000
ALPACA_DEFAULT_LIMIT = 1_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALPACA_TF = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W)$")
_ALPACA_UNIT = {"Min": "m", "T": "m", "Hour": "h", "H": "h", "Day": "d", "D": "d", "Week": "w", "W": "w"}


def alpaca_error_body(status: int, message: str) -> dict[str, Any]:
    """An error body as Alpaca writes it (``code`` is the status followed by ``10000``)."""
    return {"code": int(f"{status}10000"), "message": message}


def _parse_rfc3339(value: str, name: str) -> datetime:
    text = value.strip().replace(" ", "+")  # a literal '+' in a query string decodes to a space
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPError(400, f"invalid {name}: {value!r} is not RFC-3339") from None
    return as_utc(dt)


def _alpaca_timeframe(value: str | None) -> str:
    if not value:
        raise HTTPError(400, "missing timeframe")
    m = _ALPACA_TF.match(value.strip())
    if not m or int(m.group(1)) < 1:
        raise HTTPError(400, f"invalid timeframe: {value!r}")
    return normalise_timeframe(f"{int(m.group(1))}{_ALPACA_UNIT[m.group(2)]}")


def _alpaca_symbols(req: Request) -> list[str]:
    syms = req.args("symbols")
    if not syms:
        raise HTTPError(400, "missing symbols")
    for s in syms:
        if "/" not in s:
            raise HTTPError(400, f"invalid symbol: {s!r} (crypto symbols are BASE/QUOTE, e.g. BTC/USD)")
    return sorted(dict.fromkeys(syms))


def _encode_token(symbol: str, t: datetime) -> str:
    us = (as_utc(t) - _EPOCH) // timedelta(microseconds=1)
    raw = f"{symbol}|{us}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[str, datetime]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        symbol, us = raw.rsplit("|", 1)
        return symbol, _EPOCH + timedelta(microseconds=int(us))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise HTTPError(400, f"invalid page_token: {token!r}") from None


def _alpaca_bar(row: dict[str, Any]) -> dict[str, Any]:
    h, lo, c = row["high"], row["low"], row["close"]
    return {
        "t": row[TIME].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": row["open"],
        "h": h,
        "l": lo,
        "c": c,
        "v": row["volume"],
        "n": 0,
        "vw": (h + lo + c) / 3.0,
    }


class AlpacaMarketDataRoutes:
    """Alpaca crypto bars route handlers on one :class:`MarketData`, one method per route."""

    def __init__(
        self, market: MarketData, *, page_size: int = ALPACA_MAX_LIMIT, prefix: str = "/v1beta3/crypto"
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.market = market
        self.page_size = page_size
        self.prefix = prefix

    def frame_for(
        self, sym: str, tf: str, start: datetime | None, end: datetime | None
    ) -> pl.DataFrame | None:
        """The stored ``tf`` bars of ``sym`` in [start, end]; None for an unknown symbol."""
        market = self.market
        try:
            symbol = parse_symbol(sym)
        except ValueError:
            raise HTTPError(400, f"invalid symbol: {sym!r}") from None
        if not market.has(symbol):
            return None  # like Alpaca: unknown symbols are simply absent from the answer
        if tf not in market.timeframes(symbol):
            raise HTTPError(
                422, f"loopback has no {tf} bars for {sym} (has {', '.join(market.timeframes(symbol))})"
            )
        return market.window(symbol, tf, start, end)

    def bars(self, req: Request) -> dict[str, Any]:
        """``GET /{feed}/bars``: one page of bars, by symbol then time, with the next page's token."""
        syms = _alpaca_symbols(req)
        tf = _alpaca_timeframe(req.arg("timeframe"))
        start_raw, end_raw = req.arg("start"), req.arg("end")
        start = _parse_rfc3339(start_raw, "start") if start_raw else None
        end = _parse_rfc3339(end_raw, "end") if end_raw else market_now(self.market)
        if start is not None and end < start:
            raise HTTPError(400, "end should not be before start")
        limit_raw = req.arg("limit")
        try:
            limit = int(limit_raw) if limit_raw not in (None, "") else ALPACA_DEFAULT_LIMIT
        except ValueError:
            raise HTTPError(400, f"invalid limit: {limit_raw!r}") from None
        if not 1 <= limit <= ALPACA_MAX_LIMIT:
            raise HTTPError(400, f"invalid limit: must be between 1 and {ALPACA_MAX_LIMIT}, got {limit}")
        sort = (req.arg("sort") or "asc").lower()
        if sort not in ("asc", "desc"):
            raise HTTPError(400, f"invalid sort: {sort!r}")
        token = req.arg("page_token")
        after = _decode_token(token) if token else None
        n = min(limit, self.page_size)
        out: dict[str, list[dict[str, Any]]] = {}
        taken = 0
        more = False
        last_key: tuple[str, datetime] | None = None
        for sym in syms:
            if after is not None and sym < after[0]:
                continue
            df = self.frame_for(sym, tf, start, end)
            if df is None or df.height == 0:
                continue
            if sort == "desc":
                df = df.reverse()
            if after is not None and sym == after[0]:
                df = df.filter(pl.col(TIME) > after[1] if sort == "asc" else pl.col(TIME) < after[1])
            if df.height == 0:
                continue
            if taken == n:  # the page is full and this symbol still has bars
                more = True
                break
            page = df.head(n - taken)
            out[sym] = [_alpaca_bar(r) for r in page.iter_rows(named=True)]
            taken += page.height
            last_key = (sym, page[TIME][-1])
            if df.height > page.height:
                more = True
                break
        next_token = _encode_token(*last_key) if more and last_key is not None else None
        return {"bars": out, "next_page_token": next_token}

    def latest_bars(self, req: Request) -> dict[str, Any]:
        """``GET /{feed}/latest/bars``: the latest stored bar of each symbol (its finest timeframe)."""
        syms = _alpaca_symbols(req)
        out: dict[str, Any] = {}
        for sym in syms:
            try:
                symbol = parse_symbol(sym)
            except ValueError:
                raise HTTPError(400, f"invalid symbol: {sym!r}") from None
            tfs = self.market.timeframes(symbol)
            if not tfs:
                continue
            tf = min(tfs, key=timeframe_seconds)  # the finest stored timeframe is the most recent bar
            df = self.market.frame(symbol, tf)
            if df is not None and df.height:
                out[sym] = _alpaca_bar(df.row(df.height - 1, named=True))
        return {"bars": out}

    def register(self, router: Router) -> None:
        """Add the bars routes to ``router`` under ``prefix``, with Alpaca's error bodies."""
        feed = r"(?P<feed>[a-z0-9_-]+)"
        router.add(
            "GET", rf"{self.prefix}/{feed}/bars", self.bars, name="alpaca.bars", error_body=alpaca_error_body
        )
        router.add(
            "GET",
            rf"{self.prefix}/{feed}/latest/bars",
            self.latest_bars,
            name="alpaca.latest_bars",
            error_body=alpaca_error_body,
        )


def register_alpaca_marketdata(
    router: Router, market: MarketData, *, page_size: int = ALPACA_MAX_LIMIT, prefix: str = "/v1beta3/crypto"
) -> None:
    """Add Alpaca's crypto bars routes (``alpaca.bars``, ``alpaca.latest_bars``). ``page_size`` caps items per
    page below the client's ``limit`` (use a small one to exercise pagination)."""
    AlpacaMarketDataRoutes(market, page_size=page_size, prefix=prefix).register(router)


def alpaca_server(
    market: MarketData, *, page_size: int = ALPACA_MAX_LIMIT, router: Router | None = None
) -> LoopbackServer:
    """A plain-HTTP loopback serving Alpaca's crypto bars (pass ``server.url`` as ``url_override``).
    Give a ``router`` to add more routes (e.g. trading) to the same server."""
    router = router or Router()
    register_alpaca_marketdata(router, market, page_size=page_size)
    return LoopbackServer(router, name="alpaca-loopback")
