"""Alpaca crypto bars through alpaca-py's ``CryptoHistoricalDataClient.get_crypto_bars`` (v1beta3).

The SDK walks ``next_page_token`` pages itself, so one ``get_crypto_bars`` call returns the whole window;
our :class:`~cappuccino_core.data.http.RetryPolicy` wraps that call. To keep a retry cheap the window is cut
into chunks of ``chunk_bars`` bars, each one SDK call (several pages on the wire).

Retries, and how alpaca-py's own combine with ours: alpaca-py retries 429 and 504 by itself (3 attempts,
3 s apart) and ``CryptoHistoricalDataClient`` does not take the ``retry_attempts`` argument. We set the
client's retry count to 0 after construction (``_retry``, checked against alpaca-py 0.44), so every error
reaches our policy at once and ours is the only one in charge: backoff and Retry-After from configuration.
Should a future SDK drop that attribute, both would apply and a call would be tried up to
``(sdk_retries + 1) * (retries + 1)`` times; ``sdk_retries_disabled`` says which case holds.
alpaca-py also sends requests without a timeout; we mount an adapter that applies ``timeout_s``.

Credentials are optional for crypto bars (keys only raise the rate limit). They are passed to the SDK and
never logged or put in error messages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from cappuccino_core.data.bars import TIME
from cappuccino_core.data.http import RetryPolicy, apply_timeout
from cappuccino_core.data.sources.base import check_window, finalise
from cappuccino_core.data.symbols import Symbol, parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds

SOURCE = "alpaca"


def alpaca_timeframe(timeframe: str) -> TimeFrame:
    """Our timeframe string to alpaca-py's TimeFrame: 5m -> 5Min, 1h -> 1Hour, 1d -> 1Day, 1w -> 1Week."""
    tf = normalise_timeframe(timeframe)
    n, unit = int(tf[:-1]), tf[-1]
    if unit == "m" and 1 <= n <= 59:
        return TimeFrame(n, TimeFrameUnit.Minute)
    if unit == "h" and 1 <= n <= 23:
        return TimeFrame(n, TimeFrameUnit.Hour)
    if unit == "d" and n == 1:
        return TimeFrame(1, TimeFrameUnit.Day)
    if unit == "w" and n == 1:
        return TimeFrame(1, TimeFrameUnit.Week)
    raise ValueError(f"timeframe {timeframe!r} has no Alpaca equivalent (Alpaca: 1-59m, 1-23h, 1d, 1w)")


def _frame_from_raw(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame()
    df = pl.DataFrame(
        {
            TIME: [r["t"] for r in rows],
            "open": [r["o"] for r in rows],
            "high": [r["h"] for r in rows],
            "low": [r["l"] for r in rows],
            "close": [r["c"] for r in rows],
            "volume": [r["v"] for r in rows],
        },
        strict=False,
    )
    return df.with_columns(pl.col(TIME).str.to_datetime(time_zone="UTC", time_unit="us"))


class AlpacaSource:
    """Alpaca crypto bars; ``url_override`` (scheme://host:port, no version) points it at a loopback."""

    venue = "alpaca"

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        api_key: str | None = None,
        secret_key: str | None = None,
        url_override: str | None = None,
        chunk_bars: int = 10_000,
        client: CryptoHistoricalDataClient | None = None,
    ) -> None:
        if chunk_bars < 1:
            raise ValueError(f"chunk_bars must be >= 1, got {chunk_bars}")
        self.policy = policy or RetryPolicy()
        self.chunk_bars = chunk_bars
        if client is None:
            client = CryptoHistoricalDataClient(
                api_key=api_key, secret_key=secret_key, raw_data=True, url_override=url_override
            )
        self.client = client
        self.sdk_retries_disabled = hasattr(client, "_retry")
        if self.sdk_retries_disabled:
            client._retry = 0
        session = getattr(client, "_session", None)
        if session is not None:
            apply_timeout(session, self.policy.timeout_s)

    def __repr__(self) -> str:  # never show credentials
        return f"AlpacaSource(base_url={getattr(self.client, '_base_url', '?')!s})"

    def fetch(self, symbol: str | Symbol, timeframe: str, start: datetime, end: datetime) -> pl.DataFrame:
        """OHLCV bars of ``symbol`` in ``[start, end)`` at ``timeframe``, fetched in chunks, as a bar
        frame."""
        sym = parse_symbol(symbol)
        tf = alpaca_timeframe(timeframe)
        start, end = check_window(start, end)
        step = timedelta(seconds=timeframe_seconds(timeframe) * self.chunk_bars)
        frames: list[pl.DataFrame] = []
        s = start
        while s < end:
            e = min(s + step, end)
            frames.append(self._chunk(sym, tf, s, e))
            s = e
        return finalise(frames, start, end, name=f"{SOURCE} {sym} {timeframe}")

    def _chunk(self, sym: Symbol, tf: TimeFrame, start: datetime, end: datetime) -> pl.DataFrame:
        request = CryptoBarsRequest(symbol_or_symbols=sym.alpaca, timeframe=tf, start=start, end=end)

        def call() -> Any:
            return self.client.get_crypto_bars(request)

        raw = self.policy.call(call, source=SOURCE, symbol=str(sym), what="crypto bars request")
        if not isinstance(raw, dict):  # a client built without raw_data=True returns a BarSet
            raw = {k: [_bar_to_raw(b) for b in v] for k, v in raw.data.items()}
        rows = raw.get(sym.alpaca) or []
        # Alpaca's end is inclusive: the bar at `end` belongs to the next chunk and is cut by finalise.
        return finalise([_frame_from_raw(rows)], start, end, name=f"{SOURCE} {sym}")


def _bar_to_raw(bar: Any) -> dict[str, Any]:
    return {
        "t": bar.timestamp.isoformat(),
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
    }
