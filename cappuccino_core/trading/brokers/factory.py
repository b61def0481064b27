"""Build a broker by name: ``sim`` | ``alpaca-paper`` (alias ``alpaca``) | ``coinbase`` | ``local``.

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

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.loopback.exchange import Exchange
    from cappuccino_core.loopback.server import LoopbackServer

log = logging.getLogger(__name__)
BROKER_NAMES = ("sim", "alpaca-paper", "coinbase", "local")
_ALIASES = {"alpaca": "alpaca-paper", "alpaca_paper": "alpaca-paper"}
ALPACA_ENV = ("ALPACA_API_KEY", "ALPACA_SECRET_KEY")
COINBASE_ENV = ("COINBASE_API_KEY", "COINBASE_API_SECRET")
VENUE_QUOTE = "USD"  # what Alpaca and Coinbase quote crypto in (the sample is quoted in USDT)


class MissingCredentials(RuntimeError):
    """A broker needs credentials that are not in the environment (the message names the variables)."""


def canonical_name(name: str) -> str:
    """``alpaca`` -> ``alpaca-paper``; an unknown name raises ValueError listing the known ones."""
    n = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if n not in BROKER_NAMES:
        raise ValueError(f"unknown broker {name!r}; known: {', '.join(BROKER_NAMES)} (or 'alpaca')")
    return n


def venue_symbol(ticker: str, broker: str) -> str:
    """The symbol a broker trades for a data ticker: ``BTC/USDT`` stays for ``sim``; the venues (and
    ``local``) quote in USD: ``BTC/USD``."""
    s = parse_symbol(ticker)
    if canonical_name(broker) == "sim":
        return f"{s.base}/{s.quote}"
    return f"{s.base}/{VENUE_QUOTE}"


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


def throwaway_coinbase_key() -> tuple[str, str]:
    """A fresh P-256 key (the SDK signs every request with a real key) and a key name, for loopback use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return f"organizations/local/apiKeys/{secrets.token_hex(8)}", pem


def _alpaca(settings: Settings, url: str | None, creds: tuple[str, ...]) -> Broker:
    from cappuccino_core.trading.brokers.alpaca_paper import AlpacaPaperBroker

    cfg = settings.trading
    if url is not None:
        cfg = cfg.model_copy(update={"alpaca_url_override": url})
    return AlpacaPaperBroker.connect(cfg, creds[0], creds[1], fee_rate=settings.costs.taker_fee)


def _coinbase(settings: Settings, host: str | None, cert: str | None, creds: tuple[str, ...]) -> Broker:
    from cappuccino_core.trading.brokers.coinbase import CoinbaseBroker

    upd: dict[str, Any] = {}
    if host is not None:
        upd["coinbase_base_url"] = host.split("://", 1)[-1].rstrip("/")
    if cert is not None:
        upd["coinbase_cert_path"] = str(cert)
    cfg = settings.trading.model_copy(update=upd) if upd else settings.trading
    return CoinbaseBroker.connect(cfg, creds[0], creds[1])


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
    """A connected broker. ``venue`` (local only): ``alpaca`` | ``coinbase`` (default
    ``trading.local_venue``); ``frames`` (local only): bars per data ticker the exchange replays (default:
    the bundled sample, aligned on common times).

    The live guard: a broker whose endpoint can touch real money (see
    :mod:`~cappuccino_core.trading.brokers.live_guard`) is built only with a ``grant`` issued by
    ``check_live`` while ``trading.live_enabled`` holds; otherwise :class:`LiveRefused`, before any
    credential is read or connection made."""
    n = canonical_name(name)
    require_grant(settings, n, exchange_url, grant)
    if n == "sim":
        from cappuccino_core.trading.brokers.sim import SimBroker

        spread = settings.trading.sim_spread_bps
        return SimBroker(settings.costs, settings.env.initial_cash, spread_bps=spread)
    if n == "alpaca-paper":
        return _alpaca(settings, exchange_url, _env(ALPACA_ENV, n))
    if n == "coinbase":
        cert = None if ca_cert is None else str(ca_cert)
        return _coinbase(settings, exchange_url, cert, _env(COINBASE_ENV, n))
    return start_local(settings, venue or settings.trading.local_venue, frames)


class LocalVenue:
    """A venue broker wired to an in-process loopback exchange. Every Broker method is the inner broker's;
    ``on_bar`` keeps the exchange's book on the bar the loop trades; ``close`` stops the server."""

    def __init__(
        self, broker: Any, exchange: Exchange, server: LoopbackServer, times_ns: np.ndarray, bar_ns: int
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
    from cappuccino_core.loopback.exchange import (
        Exchange,
        FeeTier,
        ReplayBook,
        alpaca_exchange,
        coinbase_exchange,
    )

    if venue not in ("alpaca", "coinbase"):
        raise ValueError(f"local venue {venue!r}: use 'alpaca' or 'coinbase'")
    frames = aligned_sample(settings) if frames is None else frames
    book_frames = {venue_symbol(t, "local"): df for t, df in frames.items()}
    book = ReplayBook(book_frames, spread_bps=settings.trading.sim_spread_bps)
    fees = (FeeTier(0.0, settings.costs.maker_fee, settings.costs.taker_fee, "configured"),)
    ex = Exchange(book, cash=settings.env.initial_cash, tiers=fees)  # the configured costs, one tier
    server = (alpaca_exchange if venue == "alpaca" else coinbase_exchange)(ex).start()
    try:
        if venue == "alpaca":
            creds: tuple[str, ...] = (secrets.token_hex(10), secrets.token_hex(20))
            broker = _alpaca(settings, server.url, creds)
        else:
            # the book moves once per bar: a quote cannot fill while it waits, so take the fallback at once
            cfg = settings.trading.model_copy(update={"maker_wait_s": 0.0, "maker_requotes": 0})
            local = replace_trading(settings, cfg)
            broker = _coinbase(local, server.host_port, str(server.cert_path), throwaway_coinbase_key())
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


def replace_trading(settings: Settings, trading: Any) -> Settings:
    """``settings`` with another trading section (settings are not mutated)."""
    return settings.model_copy(update={"trading": trading})


__all__ = [
    "BROKER_NAMES",
    "LiveGrant",
    "LiveRefused",
    "LocalVenue",
    "MissingCredentials",
    "aligned_sample",
    "canonical_name",
    "make_broker",
    "sample_files",
    "start_local",
    "venue_symbol",
]
