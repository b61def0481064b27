"""Market-data routes of the loopback server: Alpaca v1beta3 crypto bars and Coinbase Advanced candles.

The bars come from a :class:`MarketData` (canonical frames per symbol and timeframe, filled from the BarStore,
from files or from any frame). Wire formats follow shared/design/BROKER_WIRE.md:

Alpaca (plain HTTP; ``CryptoHistoricalDataClient(url_override=server.url)``):

- ``GET /v1beta3/crypto/{feed}/bars?symbols=BTC/USD,ETH/USD&timeframe=1Hour&start=&end=&limit=&sort=``
  ``&page_token=`` -> ``{"bars": {"BTC/USD": [{"t","o","h","l","c","v","n","vw"}]}, "next_page_token": ...}``
  (a token or null); start and end inclusive, items ordered by symbol then time, at most
  ``min(limit, page_size)`` items per page.
  ``n`` (trade count) is 0 and ``vw`` the typical price (h+l+c)/3: the stored bars do not carry them.
- ``GET /v1beta3/crypto/{feed}/latest/bars?symbols=`` -> ``{"bars": {"BTC/USD": {...}}}``.
- Errors: ``{"code": <status>10000, "message": ...}``.

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

An optional ``clock`` hides bars that open after "now", so a test or a demo can let time pass.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from cappuccino_core.data.bars import TIME, to_bar_frame
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.loopback.server import HTTPError, LoopbackServer, Request, Router

ALPACA_MAX_LIMIT = 10_000
ALPACA_DEFAULT_LIMIT = 1_000
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALPACA_TF = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W)$")
_ALPACA_UNIT = {"Min": "m", "T": "m", "Hour": "h", "H": "h", "Day": "d", "D": "d", "Week": "w", "W": "w"}


class MarketData:
    """Bars the loopback serves, per canonical symbol and timeframe. Thread-safe; frames may be replaced
    while the server runs (e.g. to let new bars appear between two incremental updates)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.Lock()
        self._frames: dict[tuple[Symbol, str], pl.DataFrame] = {}
        self.clock = clock

    def add(self, symbol: str | Symbol, timeframe: str, frame: pl.DataFrame) -> MarketData:
        df = to_bar_frame(frame, name=f"loopback {symbol} {timeframe}")
        df = df.select(TIME, "open", "high", "low", "close", "volume")
        df = df.unique(subset=TIME, keep="last", maintain_order=True).sort(TIME)
        with self._lock:
            self._frames[(parse_symbol(symbol), normalise_timeframe(timeframe))] = df
        return self

    def has(self, symbol: str | Symbol) -> bool:
        sym = parse_symbol(symbol)
        with self._lock:
            return any(k[0] == sym for k in self._frames)

    def timeframes(self, symbol: str | Symbol) -> list[str]:
        sym = parse_symbol(symbol)
        with self._lock:
            return sorted(tf for s, tf in self._frames if s == sym)

    def frame(self, symbol: str | Symbol, timeframe: str) -> pl.DataFrame | None:
        """The bars visible now (the clock hides bars opening after it), or None for an unknown pair."""
        with self._lock:
            df = self._frames.get((parse_symbol(symbol), normalise_timeframe(timeframe)))
        if df is None:
            return None
        if self.clock is not None:
            df = df.filter(pl.col(TIME) <= _utc(self.clock()))
        return df

    def window(
        self, symbol: Symbol, timeframe: str, start: datetime | None, end: datetime | None
    ) -> pl.DataFrame:
        df = self.frame(symbol, timeframe)
        if df is None:
            raise KeyError((symbol, timeframe))
        if start is not None:
            df = df.filter(pl.col(TIME) >= start)
        if end is not None:
            df = df.filter(pl.col(TIME) <= end)
        return df

    @classmethod
    def from_store(
        cls,
        store: Any,
        venue: str,
        *,
        symbols: Iterable[str | Symbol] | None = None,
        timeframes: Iterable[str] | None = None,
        as_quote: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> MarketData:
        """Serve a venue's stored datasets (optionally only some symbols/timeframes). ``as_quote`` re-labels
        the quote (e.g. serve BINANCE BTC/USDT bars as BTC/USD on a USD-quoted venue simulator)."""
        md = cls(clock)
        want_syms = {parse_symbol(s) for s in symbols} if symbols is not None else None
        want_tfs = {normalise_timeframe(t) for t in timeframes} if timeframes is not None else None
        for info in store.datasets(venue):
            if want_syms is not None and info.symbol not in want_syms:
                continue
            if want_tfs is not None and info.timeframe not in want_tfs:
                continue
            sym = Symbol(info.symbol.base, as_quote) if as_quote else info.symbol
            md.add(sym, info.timeframe, store.read(venue, info.symbol, info.timeframe))
        return md

    @classmethod
    def from_files(
        cls,
        paths: Iterable[str | Path],
        *,
        as_quote: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> MarketData:
        """Serve bar files named like ``BINANCE_BTCUSDT_1h.feather`` (see sources.files)."""
        from cappuccino_core.data.sources.files import parse_file_name, read_bar_file

        md = cls(clock)
        for p in paths:
            name = parse_file_name(p)
            sym = Symbol(name.symbol.base, as_quote) if as_quote else name.symbol
            md.add(sym, name.timeframe, read_bar_file(p))
        return md


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _now(market: MarketData) -> datetime:
    return _utc(market.clock()) if market.clock is not None else datetime.now(UTC)


# --------------------------------------------------------------------------------------------- Alpaca
def alpaca_error_body(status: int, message: str) -> dict[str, Any]:
    return {"code": int(f"{status}10000"), "message": message}


def _parse_rfc3339(value: str, name: str) -> datetime:
    text = value.strip().replace(" ", "+")  # a literal '+' in a query string decodes to a space
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPError(400, f"invalid {name}: {value!r} is not RFC-3339") from None
    return _utc(dt)


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
    us = (_utc(t) - _EPOCH) // timedelta(microseconds=1)
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


def register_alpaca_marketdata(
    router: Router, market: MarketData, *, page_size: int = ALPACA_MAX_LIMIT, prefix: str = "/v1beta3/crypto"
) -> None:
    """Add Alpaca's crypto bars routes (``alpaca.bars``, ``alpaca.latest_bars``). ``page_size`` caps items per
    page below the client's ``limit`` (use a small one to exercise pagination)."""
    if page_size < 1:
        raise ValueError("page_size must be >= 1")

    def frame_for(sym: str, tf: str, start: datetime | None, end: datetime | None) -> pl.DataFrame | None:
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

    def bars(req: Request) -> dict[str, Any]:
        syms = _alpaca_symbols(req)
        tf = _alpaca_timeframe(req.arg("timeframe"))
        start_raw, end_raw = req.arg("start"), req.arg("end")
        start = _parse_rfc3339(start_raw, "start") if start_raw else None
        end = _parse_rfc3339(end_raw, "end") if end_raw else _now(market)
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
        n = min(limit, page_size)
        out: dict[str, list[dict[str, Any]]] = {}
        taken = 0
        more = False
        last_key: tuple[str, datetime] | None = None
        for sym in syms:
            if after is not None and sym < after[0]:
                continue
            df = frame_for(sym, tf, start, end)
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

    def latest_bars(req: Request) -> dict[str, Any]:
        syms = _alpaca_symbols(req)
        out: dict[str, Any] = {}
        for sym in syms:
            try:
                symbol = parse_symbol(sym)
            except ValueError:
                raise HTTPError(400, f"invalid symbol: {sym!r}") from None
            tfs = market.timeframes(symbol)
            if not tfs:
                continue
            tf = min(tfs, key=timeframe_seconds)  # the finest stored timeframe is the most recent bar
            df = market.frame(symbol, tf)
            if df is not None and df.height:
                out[sym] = _alpaca_bar(df.row(df.height - 1, named=True))
        return {"bars": out}

    feed = r"(?P<feed>[a-z0-9_-]+)"
    router.add("GET", rf"{prefix}/{feed}/bars", bars, name="alpaca.bars", error_body=alpaca_error_body)
    router.add(
        "GET",
        rf"{prefix}/{feed}/latest/bars",
        latest_bars,
        name="alpaca.latest_bars",
        error_body=alpaca_error_body,
    )


# --------------------------------------------------------------------------------------------- Coinbase
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
        now = _now(market)
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


# --------------------------------------------------------------------------------------------- servers
def alpaca_server(
    market: MarketData, *, page_size: int = ALPACA_MAX_LIMIT, router: Router | None = None
) -> LoopbackServer:
    """A plain-HTTP loopback serving Alpaca's crypto bars (pass ``server.url`` as ``url_override``).
    Give a ``router`` to add more routes (e.g. trading) to the same server."""
    router = router or Router()
    register_alpaca_marketdata(router, market, page_size=page_size)
    return LoopbackServer(router, name="alpaca-loopback")


def coinbase_server(
    market: MarketData, *, max_candles: int = COINBASE_MAX_CANDLES, router: Router | None = None
) -> LoopbackServer:
    """An HTTPS loopback (fresh self-signed cert) serving Coinbase Advanced candles."""
    router = router or Router()
    register_coinbase_marketdata(router, market, max_candles=max_candles)
    return LoopbackServer(router, tls=True, name="coinbase-loopback")
