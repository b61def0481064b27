"""Build a broker by name: any registered venue's broker (:mod:`cappuccino_core.venues`: ``sim``,
``alpaca-paper`` alias ``alpaca``, ``coinbase``) or ``local``.

* ``alpaca-paper`` / ``coinbase``: the real SDK clients with credentials ONLY from the environment
  (``ALPACA_API_KEY``/``ALPACA_SECRET_KEY``, ``COINBASE_API_KEY``/``COINBASE_API_SECRET``); ``exchange_url``
  (and for Coinbase ``ca_cert``) point them at another endpoint, e.g. a loopback exchange.
* ``local``: starts the loopback exchange in this process (replaying the bundled sample's bars, venue
  symbols ``BTC/USD``) and connects the real alpaca-py client (``venue="alpaca"``) or coinbase-advanced-py
  client (``venue="coinbase"``) to it with throwaway credentials. The returned :class:`LocalVenue` has
  ``on_bar`` (moves the exchange's book to the bar the loop trades) and ``close``.

Secrets are never logged, printed or put in exception messages (only the variable names are).
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.trading.brokers.base import Broker
from cappuccino_core.trading.brokers.live_guard import LiveGrant, LiveRefused, require_grant
from cappuccino_core.venues import get_venue, venues

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.loopback.exchange import Exchange
    from cappuccino_core.loopback.server import LoopbackServer

log = logging.getLogger(__name__)
LOCAL = "local"  # the loopback exchange in this process, speaking a venue's wire


class MissingCredentials(RuntimeError):
    """A broker needs credentials that are not in the environment (the message names the variables)."""


def broker_names() -> tuple[str, ...]:
    """The canonical broker names: every registered venue's, then ``local``."""
    return (*(v.broker for v in venues()), LOCAL)


def canonical_name(name: str) -> str:
    """``alpaca`` -> ``alpaca-paper``; an unknown name raises ValueError listing the known ones."""
    n = name.strip().lower()
    if n == LOCAL:
        return n
    try:
        return get_venue(n).broker
    except ValueError:
        raise ValueError(
            f"unknown broker {name!r}; known: {', '.join(broker_names())} (or 'alpaca')"
        ) from None


def venue_symbol(ticker: str, broker: str) -> str:
    """The symbol a broker trades for a data ticker: ``BTC/USDT`` stays for ``sim``; the venues (and
    ``local``) quote in their own currency (USD): ``BTC/USD``."""
    s = parse_symbol(ticker)
    n = canonical_name(broker)
    quote = "USD" if n == LOCAL else get_venue(n).quote
    return f"{s.base}/{quote or s.quote}"


def sample_files(settings: Settings, timeframe: str | None = None) -> dict[str, Path]:
    """The bundled sample's bar file per configured ticker (named by ``data.market.sample_path``); raises
    FileNotFoundError naming every missing file."""
    from cappuccino_core.data.market import sample_path

    tf = timeframe or settings.data.timeframe
    files = {t: sample_path(settings, t, tf) for t in settings.data.tickers}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"sample bar files missing: {missing}")
    return files


def _env(names: tuple[str, ...], broker: str) -> tuple[str, ...]:
    values = tuple(os.environ.get(n, "") for n in names)
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise MissingCredentials(f"broker {broker}: set {' and '.join(missing)} in the environment")
    return values


def make_broker(
    settings: Settings,
    name: str,
    *,
    exchange_url: str | None = None,
    ca_cert: str | Path | None = None,
    venue: str | None = None,
    frames: dict[str, pl.DataFrame] | None = None,
    grant: LiveGrant | None = None,
) -> Broker:
    """A connected broker of the venue registered as ``name`` (see :mod:`cappuccino_core.venues`), or
    ``local``. ``venue`` (local only): ``alpaca`` | ``coinbase`` (default ``trading.local_venue``);
    ``frames`` (local only): bars per data ticker the exchange replays (default: the bundled sample, aligned
    on common times).

    The live guard: a broker whose endpoint can touch real money (see
    :mod:`~cappuccino_core.trading.brokers.live_guard`) is built only with a ``grant`` issued by
    ``check_live`` while ``trading.live_enabled`` holds; otherwise :class:`LiveRefused`, before any
    credential is read or connection made."""
    n = canonical_name(name)
    require_grant(settings, n, exchange_url, grant)
    if n == LOCAL:
        return start_local(settings, venue or settings.trading.local_venue, frames)
    v = get_venue(n)
    cert = None if ca_cert is None else str(ca_cert)
    return v.connect(settings, exchange_url, cert, _env(v.credentials, n))


class LocalVenue:
    """A venue broker wired to an in-process loopback exchange. Every Broker method is the inner broker's;
    ``on_bar`` keeps the exchange's book on the bar the loop trades; ``close`` stops the server."""

    def __init__(
        self, broker: Broker, exchange: Exchange, server: LoopbackServer, times_ns: np.ndarray, bar_ns: int
    ) -> None:
        self.inner, self.exchange, self.server = broker, exchange, server
        self.name, self.fee_rate = broker.name, broker.fee_rate
        self.account_id = f"local:{secrets.token_hex(6)}"  # its own in-process account, not the venue's
        self._close_index = {int(t) + bar_ns: i for i, t in enumerate(times_ns)}

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def on_bar(self, time: datetime, close: dict[str, float], *_: Any, **__: Any) -> None:
        """The bar that closed at ``time`` is now the exchange's current bar (resting limits it trades
        through fill as MAKER)."""
        i = self._close_index.get(int(time.timestamp() * 10**9))
        if i is None:
            raise ValueError(f"local exchange: no replayed bar closes at {time.isoformat()}")
        steps = i - self.exchange.book.index
        if steps > 0:
            self.exchange.advance(steps)

    def close(self) -> None:
        self.exchange.closing.set()
        self.server.stop()

    def __enter__(self) -> LocalVenue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def aligned_sample(settings: Settings) -> dict[str, pl.DataFrame]:
    """The sample's bars per configured ticker on their common open times (the loop's rows)."""
    from cappuccino_core.trading.loop.replay import load_bars

    return load_bars(settings, source="sample").frames


def start_local(settings: Settings, venue: str, frames: dict[str, pl.DataFrame] | None = None) -> LocalVenue:
    """Start the loopback exchange (``venue`` wire) on ``frames`` and connect the real SDK client to it."""
    from cappuccino_core.loopback.exchange import Exchange, FeeTier, ReplayBook

    wired = [v.name for v in venues() if v.loopback_exchange is not None and v.connect_local is not None]
    spec = get_venue(venue) if venue in wired else None
    if spec is None or spec.loopback_exchange is None or spec.connect_local is None:
        raise ValueError(f"local venue {venue!r}: use one of {', '.join(wired)}")
    frames = aligned_sample(settings) if frames is None else frames
    book_frames = {venue_symbol(t, LOCAL): df for t, df in frames.items()}
    book = ReplayBook(book_frames, spread_bps=settings.trading.sim_spread_bps)
    fees = (FeeTier(0.0, settings.costs.maker_fee, settings.costs.taker_fee, "configured"),)
    ex = Exchange(book, cash=settings.env.initial_cash, tiers=fees)  # the configured costs, one tier
    server = spec.loopback_exchange(ex).start()
    try:
        broker = spec.connect_local(settings, server)
    except BaseException:
        ex.closing.set()
        server.stop()
        raise
    first = next(iter(frames.values()))
    times = first["time"].dt.epoch("ns").to_numpy()
    log.info("local %s exchange on %s (%d bars x %d symbols)", venue, server.url, len(times), len(frames))
    # The replayed bars' own interval (a 4h model replays 4h bars), not the configured default timeframe.
    default_ns = timeframe_seconds(settings.data.timeframe) * 10**9
    bar_ns = int(np.median(np.diff(times))) if len(times) > 1 else default_ns
    return LocalVenue(broker, ex, server, times, bar_ns)


__all__ = [
    "LOCAL",
    "LiveGrant",
    "LiveRefused",
    "LocalVenue",
    "MissingCredentials",
    "aligned_sample",
    "broker_names",
    "canonical_name",
    "make_broker",
    "sample_files",
    "start_local",
    "venue_symbol",
]
