"""Coinbase Advanced Trade public candles through coinbase-advanced-py's ``RESTClient.get_public_candles``.

The endpoint answers at most ``page_candles`` (300) candles per request, newest first, every value a string
and ``start`` in unix seconds. We walk the window forward page by page: each request asks for the buckets
``[s, s + page_candles * interval)`` (``end`` one second short of the next page, so an inclusive or exclusive
reading of ``end`` gives the same candles and never more than ``page_candles``); each page is one call under
the :class:`~cappuccino_core.data.http.RetryPolicy`, so a retry repeats one page, not the download. Pages are
sorted and merged (a later page wins on a duplicate time) by :func:`finalise`.

``base_url`` (host:port, no scheme: the SDK always speaks HTTPS) and ``verify`` (a CA/cert file) point it at
a loopback server; with ``verify`` set ``session.trust_env`` is turned off, otherwise ``REQUESTS_CA_BUNDLE``
in the environment would silently override it. Public candles need no keys; none are sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from coinbase.rest import RESTClient

from cappuccino_core.data.bars import TIME
from cappuccino_core.data.http import RetryPolicy
from cappuccino_core.data.sources.base import check_window, finalise
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds

SOURCE = "coinbase"
MAX_CANDLES = 300
GRANULARITY = {
    "1m": "ONE_MINUTE",
    "5m": "FIVE_MINUTE",
    "15m": "FIFTEEN_MINUTE",
    "30m": "THIRTY_MINUTE",
    "1h": "ONE_HOUR",
    "2h": "TWO_HOUR",
    "6h": "SIX_HOUR",
    "1d": "ONE_DAY",
}


def coinbase_granularity(timeframe: str) -> str:
    """Our timeframe to Coinbase's granularity enum: 1h -> ONE_HOUR; ValueError for one Coinbase lacks."""
    tf = normalise_timeframe(timeframe)
    try:
        return GRANULARITY[tf]
    except KeyError:
        raise ValueError(
            f"timeframe {timeframe!r} has no Coinbase granularity (have {', '.join(GRANULARITY)})"
        ) from None


def _frame_from_candles(candles: list[Any]) -> pl.DataFrame:
    if not candles:
        return pl.DataFrame()
    get = (lambda c, k: c[k]) if isinstance(candles[0], dict) else (lambda c, k: getattr(c, k))
    df = pl.DataFrame(
        {k: [get(c, k) for c in candles] for k in ("start", "open", "high", "low", "close", "volume")},
        strict=False,
    )
    return df.select(
        pl.from_epoch(pl.col("start").cast(pl.Int64), time_unit="s").dt.replace_time_zone("UTC").alias(TIME),
        *[pl.col(c).cast(pl.Float64) for c in ("open", "high", "low", "close", "volume")],
    )


class CoinbaseSource:
    """Coinbase Advanced public candles, paged through the time window."""

    venue = "coinbase"

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        base_url: str | None = None,
        verify: str | Path | None = None,
        page_candles: int = MAX_CANDLES,
        client: RESTClient | None = None,
    ) -> None:
        if not 1 <= page_candles <= MAX_CANDLES:
            raise ValueError(f"page_candles must be in 1..{MAX_CANDLES}, got {page_candles}")
        self.policy = policy or RetryPolicy()
        self.page_candles = page_candles
        if client is None:
            kwargs: dict[str, Any] = {"api_key": None, "api_secret": None, "timeout": self.policy.timeout_s}
            if base_url is not None:
                if "://" in base_url:
                    raise ValueError(f"coinbase base_url is host[:port] without a scheme, got {base_url!r}")
                kwargs["base_url"] = base_url.rstrip("/")
            client = RESTClient(**kwargs)
            if verify is not None:
                client.session.verify = str(verify)
                client.session.trust_env = False
        self.client = client

    def __repr__(self) -> str:
        return f"CoinbaseSource(base_url={getattr(self.client, 'base_url', '?')})"

    def fetch(self, symbol: str | Symbol, timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        """OHLCV candles of ``symbol`` in ``[start, end)`` at ``timeframe``, fetched in chunks, as a bar
        frame."""
        sym = parse_symbol(symbol)
        granularity = coinbase_granularity(timeframe)
        start, end = check_window(start, end)
        step = timeframe_seconds(timeframe)
        # first bucket at or after start (buckets are aligned on multiples of the interval since the epoch)
        s = -(-int(start.timestamp()) // step) * step
        stop = int(end.timestamp())
        frames: list[pl.DataFrame] = []
        while s < stop:
            e = min(s + self.page_candles * step, stop)
            frames.append(self._page(sym, granularity, s, e - 1))
            s = e
        return finalise(frames, start, end, name=f"{SOURCE} {sym} {timeframe}")

    def _page(self, sym: Symbol, granularity: str, start_s: int, end_s: int) -> pl.DataFrame:
        def call() -> Any:
            return self.client.get_public_candles(
                product_id=sym.coinbase, start=str(start_s), end=str(end_s), granularity=granularity
            )

        what = (
            f"candles request {datetime.fromtimestamp(start_s, UTC):%Y-%m-%d %H:%M}.."
            f"{datetime.fromtimestamp(end_s, UTC):%Y-%m-%d %H:%M}"
        )
        resp = self.policy.call(call, source=SOURCE, symbol=str(sym), what=what)
        candles = resp["candles"] if isinstance(resp, dict) else getattr(resp, "candles", None)
        return _frame_from_candles(list(candles or []))
