"""Broker factory: names, venue symbols, credentials only from the environment, the local venue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from cappuccino_core.trading.brokers.factory import (
    LocalVenue,
    MissingCredentials,
    canonical_name,
    make_broker,
    sample_files,
    venue_symbol,
)
from cappuccino_core.venues.sim.broker import SimBroker


def frames(closes: list[float]) -> dict[str, pl.DataFrame]:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    df = pl.DataFrame(
        {
            "time": [t0 + timedelta(hours=i) for i in range(len(closes))],
            "open": closes,
            "high": [c + 1 for c in closes],
            "low": [c - 1 for c in closes],
            "close": closes,
            "volume": [1.0] * len(closes),
        }
    )
    return {"BTC/USDT": df}


def test_names_and_venue_symbols() -> None:
    assert canonical_name("alpaca") == "alpaca-paper" and canonical_name(" Local ") == "local"
    with pytest.raises(ValueError, match="unknown broker 'kraken'"):
        canonical_name("kraken")
    assert venue_symbol("BTC/USDT", "sim") == "BTC/USDT"
    assert venue_symbol("BTC/USDT", "local") == "BTC/USD" == venue_symbol("BTC/USDT", "coinbase")


def test_credentials_come_from_the_environment_and_are_never_echoed(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ALPACA_SECRET_KEY", raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", "SUPERSECRETKEY123")
    with pytest.raises(MissingCredentials) as err:
        make_broker(settings, "alpaca")
    assert "ALPACA_SECRET_KEY" in str(err.value) and "SUPERSECRETKEY123" not in str(err.value)
    monkeypatch.delenv("COINBASE_API_KEY", raising=False)
    monkeypatch.delenv("COINBASE_API_SECRET", raising=False)
    with pytest.raises(MissingCredentials, match="COINBASE_API_KEY and COINBASE_API_SECRET"):
        make_broker(settings, "coinbase", exchange_url="127.0.0.1:1")  # paper: past the live guard


def test_sim_and_sample_files(settings) -> None:  # type: ignore[no-untyped-def]
    b = make_broker(settings, "sim")
    assert isinstance(b, SimBroker) and b.cash() == settings.env.initial_cash
    files = sample_files(settings)
    assert list(files) == settings.data.tickers
    assert files["BTC/USDT"].name == "BINANCE_BTCUSDT_1h.parquet"
    bad = settings.model_copy(update={"paths": settings.paths.model_copy(update={"sample_dir": "/nope"})})
    with pytest.raises(FileNotFoundError, match="BINANCE_BTCUSDT_1h"):
        sample_files(bad)


@pytest.mark.parametrize("venue", ["alpaca", "coinbase"])
def test_local_venue_trades_through_the_real_sdk_on_the_replayed_bar(settings, venue) -> None:  # type: ignore[no-untyped-def]
    bars = frames([100.0, 200.0, 300.0])
    with make_broker(settings, "local", venue=venue, frames=bars) as b:
        assert isinstance(b, LocalVenue) and b.cash() == pytest.approx(settings.env.initial_cash)
        # the bar opened at 01:00 closes at 02:00: the book moves to it (close 200)
        b.on_bar(datetime(2024, 1, 1, 2, tzinfo=UTC), {"BTC/USD": 200.0})
        assert b.exchange.book.index == 1
        o = b.submit("cid-1", "BTC/USD", "buy", 0.5, 200.0)
        ask = 200.0 * (1 + settings.trading.sim_spread_bps / 2e4)
        assert o.status == "filled" and o.filled_qty == pytest.approx(0.5)
        assert o.avg_price == pytest.approx(ask)
        taker = settings.costs.taker_fee  # the configured costs are the venue's fee tier
        if venue == "alpaca":  # Alpaca takes a buy's fee in the asset received
            assert b.positions() == {"BTC/USD": pytest.approx(0.5 * (1 - taker))}
            assert b.cash() == pytest.approx(settings.env.initial_cash - 0.5 * ask)
        else:  # Coinbase charges the quote currency
            assert b.positions() == {"BTC/USD": pytest.approx(0.5)}
            assert b.cash() == pytest.approx(settings.env.initial_cash - 0.5 * ask * (1 + taker))
        with pytest.raises(ValueError, match="no replayed bar closes"):
            b.on_bar(datetime(2030, 1, 1, tzinfo=UTC), {})
    assert b.exchange.closing.is_set()
