"""The ingest flow against the loopback Alpaca market-data server as the venue: newer bars are fetched
through the source factory; data that stays stale is refused with the symbol, its last bar and its age."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from cappuccino_core.data.bars import to_bar_frame
from cappuccino_core.data.freshness import StaleData
from cappuccino_core.data.store import BarStore
from cappuccino_core.loopback import MarketData
from cappuccino_core.venues.alpaca.loopback_marketdata import alpaca_server

pytestmark = pytest.mark.network

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
SYMBOLS = ("BTC/USD", "ETH/USD")


def _bars(last: datetime, n: int = 240) -> pl.DataFrame:
    times = [last - timedelta(hours=n - 1 - i) for i in range(n)]
    price = [100.0 + (i % 7) for i in range(n)]
    high, low = [p + 1 for p in price], [p - 1 for p in price]
    frame = {"time": times, "open": price, "high": high, "low": low, "close": price, "volume": [5.0] * n}
    return to_bar_frame(pl.DataFrame(frame))


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BarStore:
    """The store holds bars up to three days ago; settings point at it, venue alpaca."""
    s = BarStore(tmp_path / "data")
    for sym in SYMBOLS:
        s.write("alpaca", sym, "1h", _bars(END - timedelta(days=3)))
    for key, value in {
        "CAPPUCCINO_PATHS__DATA_ROOT": str(tmp_path / "data"),
        "CAPPUCCINO_PATHS__STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "CAPPUCCINO_DATA__VENUE": "alpaca",
        "CAPPUCCINO_DATA__TICKERS": '["BTC/USD","ETH/USD"]',
        "CAPPUCCINO_DATA__HTTP_RETRIES": "0",
    }.items():
        monkeypatch.setenv(key, value)
    return s


def _venue(monkeypatch: pytest.MonkeyPatch, last: datetime) -> Iterator[None]:
    market = MarketData()
    for sym in SYMBOLS:
        market.add(sym, "1h", _bars(last, 400))
    with alpaca_server(market, page_size=1000) as srv:
        monkeypatch.setenv("CAPPUCCINO_DATA__SOURCE_URL", srv.url)
        yield


def test_fetches_newer_bars_from_the_venue(store: BarStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.ingest import ingest

    for _ in _venue(monkeypatch, END):
        out = ingest.fn()
    assert out["source"] == "alpaca" and out["added"] == 2 * 72  # three days of hourly bars per symbol
    assert out["last"] == END.isoformat()
    assert all(store.last_time("alpaca", s, "1h") == END for s in SYMBOLS)


def test_stale_venue_data_is_refused(store: BarStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.ingest import ingest

    stale_end = END - timedelta(days=2)  # the venue itself is two days behind
    for _ in _venue(monkeypatch, stale_end):
        with pytest.raises(StaleData) as err:
            ingest.fn()
    msg = str(err.value)
    assert f"alpaca BTC/USD 1h: last bar {stale_end:%Y-%m-%d %H:%M} UTC" in msg and "ETH/USD" in msg
    assert "h old" in msg and "refusing to train on stale data" in msg
    # The fetched bars are kept (the store moved a day forward); nothing was trained.
    assert store.last_time("alpaca", "BTC/USD", "1h") == stale_end


def test_the_sample_only_when_asked_and_no_download_venue_is_a_clear_error(
    store: BarStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv("CAPPUCCINO_DATA__VENUE", "binance")
    with pytest.raises(ValueError, match="venue 'binance' has no download source"):
        ingest.fn()  # at once: a configuration error is not transient, update-bars does not retry it
    monkeypatch.setenv("CAPPUCCINO_DATA__TICKERS", '["BTC/USDT","ETH/USDT"]')
    out = ingest.fn(source="sample")  # the bundled sample only when asked for: no venue involved
    assert out["source"] == "sample"
