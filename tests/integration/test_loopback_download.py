"""The real alpaca-py and coinbase-advanced-py clients download bars from the loopback server into the store.

Covers: pagination (several pages), newest-first candles, 429 then success, a 5xx storm (SourceUnavailable,
nothing written), timeouts and dropped connections, incremental updates (request and bar counts), overlapping
pages merged, a crash mid-write (the old file survives), and the `cappuccino data` commands end to end.
Bars are real (../shared/data/real/COINBASE_BTCUSD_1h.feather) when present, else a small generated frame.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import requests
from coinbase.rest import RESTClient
from typer.testing import CliRunner

from cappuccino_core.data import ingest
from cappuccino_core.data.bars import BAR_SCHEMA, TIME
from cappuccino_core.data.http import RetryPolicy, SourceRejected, SourceUnavailable
from cappuccino_core.data.sources.files import read_bar_file
from cappuccino_core.data.store import BarStore
from cappuccino_core.loopback import (
    Fault,
    LoopbackServer,
    MarketData,
    Request,
    Response,
    Router,
)
from cappuccino_core.venues.alpaca.data import AlpacaSource
from cappuccino_core.venues.alpaca.loopback_marketdata import alpaca_server
from cappuccino_core.venues.coinbase.data import CoinbaseSource
from cappuccino_core.venues.coinbase.loopback_marketdata import coinbase_server, register_coinbase_marketdata

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
REAL = Path(os.environ.get("CAPPUCCINO_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
REAL_FILE = REAL / "COINBASE_BTCUSD_1h.feather"
START = datetime(2024, 5, 1, tzinfo=UTC)
END = datetime(2024, 6, 1, tzinfo=UTC)  # 744 hourly bars
SYM = "BTC/USD"
BARS_URL = "/v1beta3/crypto/us/bars"
CANDLES_URL = "/api/v3/brokerage/market/products/BTC-USD/candles"


def _generated() -> pl.DataFrame:
    n = 24 * 60
    t0 = datetime(2024, 4, 20, tzinfo=UTC)
    close = [60000.0 + 50.0 * math.sin(i / 7.0) + i for i in range(n)]
    return pl.DataFrame(
        {
            TIME: [t0 + timedelta(hours=i) for i in range(n)],
            "open": close,
            "high": [c + 25.5 for c in close],
            "low": [c - 25.25 for c in close],
            "close": close,
            "volume": [100.0 + (i % 13) * 0.123456789 for i in range(n)],
        },
        schema=BAR_SCHEMA,
    )


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return read_bar_file(REAL_FILE) if REAL_FILE.is_file() else _generated()


@pytest.fixture(scope="module")
def ref(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter((pl.col(TIME) >= START) & (pl.col(TIME) < END))


@pytest.fixture()
def market(frame: pl.DataFrame) -> MarketData:
    return MarketData().add(SYM, "1h", frame)


@pytest.fixture()
def store(tmp_path: Path) -> BarStore:
    return BarStore(tmp_path / "data")


class Sleeps(list):
    def __call__(self, s: float) -> None:
        self.append(s)


@pytest.fixture()
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture()
def policy(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(retries=3, backoff_s=0.01, timeout_s=5.0, sleep=sleeps)


@pytest.fixture()
def alpaca(market: MarketData) -> Iterator[LoopbackServer]:
    with alpaca_server(market, page_size=100) as srv:
        yield srv


@pytest.fixture()
def coinbase(market: MarketData) -> Iterator[LoopbackServer]:
    with coinbase_server(market) as srv:
        yield srv


def cb_source(srv: LoopbackServer, policy: RetryPolicy) -> CoinbaseSource:
    return CoinbaseSource(policy, base_url=srv.host_port, verify=srv.cert_path)


# ---------------------------------------------------------------------------------------------- Alpaca
def test_alpaca_download_walks_pages(alpaca: LoopbackServer, store: BarStore, policy, ref) -> None:
    src = AlpacaSource(policy, url_override=alpaca.url)
    assert src.sdk_retries_disabled  # our policy is the one in charge
    events: list[ingest.Progress] = []
    res = ingest.download(src, store, [SYM], "1h", START, END, progress=events.append)
    pages = math.ceil(ref.height / 100)
    assert pages >= 3
    assert alpaca.log.count(BARS_URL) == pages
    tokens = [e.query.get("page_token") for e in alpaca.log.entries]
    assert tokens[0] is None and all(t for t in tokens[1:])
    assert alpaca.log.entries[0].query["symbols"] == ["BTC/USD"]
    assert alpaca.log.entries[0].query["timeframe"] == ["1Hour"]
    assert res[0].fetched == ref.height and res[0].added == ref.height
    assert store.read("alpaca", SYM, "1h").equals(ref)
    assert events[0].stage == "start" and events[-1].stage == "done" and events[-1].bars == ref.height


def test_alpaca_chunk_boundaries_do_not_duplicate(alpaca: LoopbackServer, policy, ref) -> None:
    # Alpaca's end is inclusive: the bar at each chunk's end must not appear twice
    src = AlpacaSource(policy, url_override=alpaca.url, chunk_bars=50)
    out = src.fetch(SYM, "1h", START, END)
    assert out.equals(ref)
    assert alpaca.log.count(BARS_URL) == math.ceil(ref.height / 50)


def test_alpaca_429_then_success(alpaca: LoopbackServer, store: BarStore, policy, sleeps, ref) -> None:
    alpaca.faults.add("alpaca.bars", Fault.rate_limit(retry_after=1), times=2)
    src = AlpacaSource(policy, url_override=alpaca.url)
    ingest.download(src, store, [SYM], "1h", START, END)
    assert store.read("alpaca", SYM, "1h").equals(ref)
    assert alpaca.log.count(BARS_URL, status=429) == 2  # one request per 429: alpaca-py did not retry itself
    assert alpaca.log.count(BARS_URL) == math.ceil(ref.height / 100) + 2
    assert sleeps == [1.0, 1.0]  # Retry-After honoured


def test_alpaca_5xx_storm_is_source_unavailable_and_writes_nothing(
    alpaca: LoopbackServer, store: BarStore, policy, sleeps
) -> None:
    alpaca.faults.add("*", Fault.server_error(503), times=50)
    src = AlpacaSource(policy, url_override=alpaca.url)
    with pytest.raises(SourceUnavailable) as info:
        ingest.download(src, store, [SYM], "1h", START, END)
    msg = str(info.value)
    assert "alpaca unavailable for BTC/USD" in msg and "4 time(s)" in msg and "HTTP 503" in msg
    assert alpaca.log.count(BARS_URL) == 4 and len(sleeps) == 3
    assert not store.exists("alpaca", SYM, "1h")
    assert not (store.root / "bars").exists() or not any((store.root / "bars").rglob("*.parquet"))


def test_storm_mid_download_keeps_the_stored_dataset(alpaca: LoopbackServer, store: BarStore, policy) -> None:
    src = AlpacaSource(policy, url_override=alpaca.url)
    ingest.download(src, store, [SYM], "1h", START, START + timedelta(days=10))
    before = store.path("alpaca", SYM, "1h").read_bytes()
    alpaca.faults.add("alpaca.bars", Fault.server_error(500), times=50)
    with pytest.raises(SourceUnavailable):
        ingest.update(src, store, [SYM], "1h", end=END)
    assert store.path("alpaca", SYM, "1h").read_bytes() == before


def test_alpaca_timeout_and_dropped_connection_are_retried(
    market: MarketData, store: BarStore, sleeps: Sleeps, ref
) -> None:
    policy = RetryPolicy(retries=3, backoff_s=0.01, timeout_s=0.5, sleep=sleeps)
    with alpaca_server(market, page_size=10_000) as srv:
        srv.faults.add("alpaca.bars", Fault.delay(3.0))  # answers after the client gave up
        srv.faults.add("alpaca.bars", Fault.drop())  # closes the connection without answering
        srv.faults.add("alpaca.bars", Fault.drop(after_s=1.0))  # a timeout after accept
        src = AlpacaSource(policy, url_override=srv.url)
        ingest.download(src, store, [SYM], "1h", START, END)
        assert srv.log.count(BARS_URL) == 4
    assert len(sleeps) == 3
    assert store.read("alpaca", SYM, "1h").equals(ref)


# -------------------------------------------------------------------------------------------- Coinbase
def test_coinbase_download_pages_newest_first(coinbase: LoopbackServer, store: BarStore, policy, ref) -> None:
    res = ingest.download(cb_source(coinbase, policy), store, [SYM], "1h", START, END)
    assert coinbase.log.count(CANDLES_URL) == math.ceil(ref.height / 300) >= 3
    assert coinbase.log.count(CANDLES_URL, status=200) == coinbase.log.count()
    assert all(e.query["granularity"] == ["ONE_HOUR"] for e in coinbase.log.entries)
    assert res[0].added == ref.height
    assert store.read("coinbase", SYM, "1h").equals(ref)

    # the wire really is newest first, strings, unix-second starts
    client = cb_source(coinbase, policy).client
    page = client.get_public_candles(
        "BTC-USD",
        start=str(int(START.timestamp())),
        end=str(int(START.timestamp()) + 9 * 3600),
        granularity="ONE_HOUR",
    )
    starts = [int(c.start) for c in page.candles]
    assert len(starts) == 10 and starts == sorted(starts, reverse=True)
    assert isinstance(page.candles[0].close, str)


def test_coinbase_rejects_more_than_300_candles(coinbase: LoopbackServer, policy) -> None:
    src = cb_source(coinbase, policy)
    s = int(START.timestamp())
    with pytest.raises(requests.HTTPError, match="less than or equal to 300"):
        src.client.get_public_candles(
            "BTC-USD", start=str(s), end=str(s + 300 * 3600), granularity="ONE_HOUR"
        )
    with pytest.raises(SourceRejected, match=r"coinbase rejected .* BTC/USD: HTTP 400"):
        policy.call(
            lambda: src.client.get_public_candles(
                "BTC-USD", start=str(s), end=str(s + 400 * 3600), granularity="ONE_HOUR"
            ),
            source="coinbase",
            symbol="BTC/USD",
        )
    assert coinbase.log.count(CANDLES_URL, status=400) == 2
    with pytest.raises(ValueError, match=r"1\.\.300"):
        CoinbaseSource(policy, base_url=coinbase.host_port, page_candles=301)


def test_coinbase_429_then_success_and_5xx_storm(
    coinbase: LoopbackServer, store: BarStore, policy, ref
) -> None:
    coinbase.faults.add("coinbase.public_candles", Fault.rate_limit(retry_after=0), times=2)
    ingest.download(cb_source(coinbase, policy), store, [SYM], "1h", START, END)
    assert store.read("coinbase", SYM, "1h").equals(ref)
    assert coinbase.log.count(CANDLES_URL, status=429) == 2
    assert coinbase.log.count(CANDLES_URL) == math.ceil(ref.height / 300) + 2

    coinbase.faults.add("coinbase.public_candles", Fault.server_error(500), times=100)
    with pytest.raises(SourceUnavailable, match=r"coinbase unavailable for BTC/USD"):
        ingest.download(cb_source(coinbase, policy), store, ["BTC/USD"], "1h", END, END + timedelta(days=5))
    assert store.read("coinbase", SYM, "1h").equals(ref)  # nothing written


def test_coinbase_unknown_product_is_rejected_not_retried(
    coinbase: LoopbackServer, store: BarStore, policy
) -> None:
    with pytest.raises(SourceRejected, match="HTTP 404"):
        ingest.download(cb_source(coinbase, policy), store, ["DOGE/USD"], "1h", START, END)
    assert coinbase.log.count() == 1
    assert not store.exists("coinbase", "DOGE/USD", "1h")


def test_overlapping_pages_are_merged(market: MarketData, store: BarStore, policy, ref) -> None:
    """A server whose pages overlap the previous one by 5 candles (values as served): one row per time."""
    inner = Router()
    register_coinbase_marketdata(inner, market, max_candles=1000)

    def overlapping(req: Request) -> Response:
        route, params = inner.resolve("GET", req.path)
        q = dict(req.query)
        q["start"] = [str(int(q["start"][0]) - 5 * 3600)]  # 5 older candles: the previous page's newest
        result = route.handler(Request(req.method, req.path, q, req.headers, req.body, params, route.name))
        return Response(200, result)

    router = Router()
    router.add("GET", r"/api/v3/brokerage/market/products/(?P<product_id>[A-Z]+-[A-Z]+)/candles", overlapping)
    with LoopbackServer(router, tls=True) as srv:
        src = CoinbaseSource(policy, base_url=srv.host_port, verify=srv.cert_path)
        res = ingest.download(src, store, [SYM], "1h", START, END)
        assert srv.log.count() == math.ceil(ref.height / 300)
    assert res[0].fetched == ref.height  # duplicates collapsed before the store
    out = store.read("coinbase", SYM, "1h")
    assert out[TIME].n_unique() == out.height and out.equals(ref)


def test_newer_fetch_wins_in_the_store(market: MarketData, frame, store: BarStore, policy) -> None:
    with coinbase_server(market) as srv:
        ingest.download(cb_source(srv, policy), store, [SYM], "1h", START, START + timedelta(days=3))
        corrected = frame.with_columns(
            pl.when(pl.col(TIME) >= START + timedelta(days=2))
            .then(pl.col("close") * 2)
            .otherwise(pl.col("close"))
        )
        market.add(SYM, "1h", corrected)
        r = ingest.download(
            cb_source(srv, policy), store, [SYM], "1h", START + timedelta(days=2), START + timedelta(days=4)
        )
    assert r[0].merge is not None and r[0].merge.replaced == 24 and r[0].merge.added == 24
    out = store.read("coinbase", SYM, "1h")
    want = corrected.filter((pl.col(TIME) >= START) & (pl.col(TIME) < START + timedelta(days=4)))
    assert out.equals(want)


# ----------------------------------------------------------------------------------------- incremental
@pytest.mark.parametrize("venue", ["alpaca", "coinbase"])
def test_incremental_update_fetches_only_new_bars(venue: str, frame, store: BarStore, policy, ref) -> None:
    now = [START + timedelta(days=20, minutes=30)]
    market = MarketData(clock=lambda: now[0]).add(SYM, "1h", frame)
    server = alpaca_server(market, page_size=100) if venue == "alpaca" else coinbase_server(market)
    with server as srv:
        src = AlpacaSource(policy, url_override=srv.url) if venue == "alpaca" else cb_source(srv, policy)
        first = ingest.download(src, store, [SYM], "1h", START, now=now[0])
        assert (
            first[0].added == 20 * 24
        )  # closed bars only: the bar opened at 00:00 on day 21 is still forming
        srv.log.clear()

        now[0] = END + timedelta(minutes=5)  # time passes: 11 more days of bars
        res = ingest.update(src, store, [SYM], "1h", now=now[0])
        new = ref.height - 20 * 24
        assert res[0].fetched == new and res[0].added == new
        expected_requests = math.ceil(new / 100) if venue == "alpaca" else math.ceil(new / 300)
        assert srv.log.count() == expected_requests
        first_query = srv.log.entries[0].query
        if venue == "alpaca":
            assert first_query["start"] == [(START + timedelta(days=20)).isoformat()]
        else:
            assert first_query["start"] == [str(int((START + timedelta(days=20)).timestamp()))]

        srv.log.clear()
        again = ingest.update(src, store, [SYM], "1h", now=now[0])
        assert again[0].fetched == 0 and srv.log.count() == 0  # up to date: no request
    assert store.read(venue, SYM, "1h").equals(ref)


# --------------------------------------------------------------------------------------- atomic writes
def test_crash_mid_write_keeps_the_old_file(
    alpaca: LoopbackServer, store: BarStore, policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = AlpacaSource(policy, url_override=alpaca.url)
    ingest.download(src, store, [SYM], "1h", START, START + timedelta(days=5))
    p = store.path("alpaca", SYM, "1h")
    before = p.read_bytes()

    def crash(self, file, *a, **k):
        file.write(b"PAR1" + b"\0" * 1000)
        raise MemoryError("simulated crash mid-write")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", crash)
    with pytest.raises(MemoryError):
        ingest.update(src, store, [SYM], "1h", end=END)
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert store.read("alpaca", SYM, "1h").height == 5 * 24


def test_killed_process_mid_write_keeps_the_old_file(store: BarStore, ref) -> None:
    """A process killed half-way through a write (os._exit, no cleanup) leaves the dataset readable and
    unchanged; the orphaned temp file is ignored by the store."""
    store.write("binance", "BTC/USDT", "1h", ref.head(100))
    p = store.path("binance", "BTC/USDT", "1h")
    before = p.read_bytes()
    code = textwrap.dedent(
        f"""
        import os, polars as pl
        from cappuccino_core.data.store import BarStore
        def die(self, file, *a, **k):
            file.write(b"PAR1 partial"); file.flush(); os._exit(9)
        pl.DataFrame.write_parquet = die
        s = BarStore({str(store.root)!r})
        s.merge("binance", "BTC/USDT", "1h", pl.read_parquet({str(p)!r}).with_columns(pl.col("close") * 3))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 9, proc.stderr.decode()
    assert p.read_bytes() == before
    leftovers = [f for f in p.parent.iterdir() if f.name.endswith(".tmp")]
    assert leftovers, "the killed writer should have left its temp file behind"
    assert [(i.venue, i.rows) for i in store.datasets()] == [("binance", 100)]
    store.merge("binance", "BTC/USDT", "1h", ref.slice(100, 10))  # the store keeps working
    assert store.read("binance", "BTC/USDT", "1h").height == 110


# ---------------------------------------------------------------------------------------------- server
def test_server_router_faults_and_log(coinbase: LoopbackServer, market: MarketData) -> None:
    s = requests.Session()
    s.verify = str(coinbase.cert_path)
    s.trust_env = False
    r = s.get(f"{coinbase.url}/nope")
    assert r.status_code == 404 and "no route" in r.json()["message"]
    r = s.post(f"{coinbase.url}{CANDLES_URL}", json={})
    assert r.status_code == 405
    r = s.get(f"{coinbase.url}/api/v3/brokerage/products/BTC-USD/candles", params={"granularity": "ONE_HOUR"})
    assert r.status_code == 401 and r.json()["error"] == "UNAUTHENTICATED"
    r = s.get(f"{coinbase.url}{CANDLES_URL}", params={"granularity": "ONE_WEEK", "start": "0", "end": "1"})
    assert r.status_code == 400 and r.json()["error"] == "INVALID_ARGUMENT"
    assert coinbase.log.counts()[CANDLES_URL] == 2


def test_private_candles_with_a_signed_client(coinbase: LoopbackServer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    client = RESTClient(
        api_key="organizations/x/apiKeys/y", api_secret=pem.decode(), base_url=coinbase.host_port
    )
    client.session.verify = str(coinbase.cert_path)
    client.session.trust_env = False
    s = int(START.timestamp())
    resp = client.get_candles("BTC-USD", start=str(s), end=str(s + 3 * 3600), granularity="ONE_HOUR")
    assert [int(c.start) for c in resp.candles] == [s + 3 * 3600, s + 2 * 3600, s + 3600, s]


def test_alpaca_latest_bars_and_clock(frame: pl.DataFrame) -> None:
    from alpaca.data.historical.crypto import CryptoHistoricalDataClient
    from alpaca.data.requests import CryptoLatestBarRequest

    now = START + timedelta(hours=5, minutes=10)
    market = MarketData(clock=lambda: now).add(SYM, "1h", frame)
    with alpaca_server(market) as srv:
        client = CryptoHistoricalDataClient(url_override=srv.url)
        latest = client.get_crypto_latest_bar(CryptoLatestBarRequest(symbol_or_symbols=[SYM, "ETH/USD"]))
    assert list(latest) == [SYM]
    assert latest[SYM].timestamp == START + timedelta(hours=5)


# ------------------------------------------------------------------------------------------------- CLI
@pytest.fixture()
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAPPUCCINO_CONFIG", raising=False)
    monkeypatch.setenv("CAPPUCCINO_PATHS__DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("CAPPUCCINO_DATA__HTTP_BACKOFF_S", "0")
    monkeypatch.setenv("CAPPUCCINO_DATA__HTTP_RETRIES", "2")
    monkeypatch.setenv("ALPACA_API_KEY", "AKFAKEKEY0123456789")
    monkeypatch.setenv("ALPACA_SECRET_KEY", "fake-secret-do-not-print-0123456789")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "data"


def test_cli_download_update_import(
    cli_env: Path, alpaca: LoopbackServer, coinbase: LoopbackServer, ref
) -> None:
    from cappuccino_cli.main import app

    runner = CliRunner()
    store = BarStore(cli_env)
    base = ["--venue", "alpaca", "--symbols", "BTC/USD", "--timeframe", "1h", "--url", alpaca.url]
    r = runner.invoke(app, ["data", "download", *base, "--start", "2024-05-01", "--end", "2024-05-15"])
    assert r.exit_code == 0, r.output
    assert store.last_time("alpaca", SYM, "1h") == datetime(2024, 5, 14, 23, tzinfo=UTC)
    r = runner.invoke(app, ["data", "update", *base, "--end", "2024-06-01T00:00:00Z"])
    assert r.exit_code == 0, r.output
    assert store.read("alpaca", SYM, "1h").equals(ref)
    assert "fake-secret" not in r.output and "AKFAKEKEY" not in r.output

    cb = [
        "--venue",
        "coinbase",
        "--symbols",
        "BTC-USD",
        "--url",
        coinbase.host_port,
        "--ca-cert",
        str(coinbase.cert_path),
    ]
    r = runner.invoke(app, ["data", "download", *cb, "--start", "2024-05-01", "--end", "2024-06-01"])
    assert r.exit_code == 0, r.output
    assert store.read("coinbase", SYM, "1h").equals(ref)

    coinbase.faults.add("*", Fault.server_error(503), times=10)
    r = runner.invoke(app, ["data", "update", *cb, "--end", "2024-06-05"])
    assert r.exit_code == 2
    assert "coinbase unavailable for BTC/USD" in r.output and "nothing written" in r.output

    r = runner.invoke(app, ["data", "download", "--venue", "binance", "--start", "2024-01-01"])
    assert r.exit_code == 2 and "no download source" in r.output
    r = runner.invoke(app, ["data", "download", "--venue", "alpaca", "--symbols", "BTC/USD"])
    assert r.exit_code == 2 and "--start is required" in r.output
    r = runner.invoke(app, ["data", "download", *base, "--start", "yesterday"])
    assert r.exit_code == 2 and "not an ISO date" in r.output

    files = cli_env.parent / "files"
    files.mkdir()
    ref.write_parquet(files / "BINANCE_BTCUSDT_1h.parquet")
    r = runner.invoke(app, ["data", "import", str(files)])
    assert r.exit_code == 0, r.output
    assert store.read("binance", "BTC/USDT", "1h").equals(ref)


@pytest.mark.realdata
def test_whole_real_file_through_both_sdks(real_data_dir: Path, store: BarStore, policy) -> None:
    full = read_bar_file(real_data_dir / "COINBASE_BTCUSD_1h.feather")
    market = MarketData().add(SYM, "1h", full)
    start, end = full[TIME][0], full[TIME][-1] + timedelta(hours=1)
    with alpaca_server(market) as a, coinbase_server(market) as c:
        ingest.download(AlpacaSource(policy, url_override=a.url), store, [SYM], "1h", start, end)
        ingest.download(cb_source(c, policy), store, [SYM], "1h", start, end)
        # ingest cuts the window into chunks of 6000 bars (a multiple of Coinbase's 300): one SDK call each
        assert a.log.count(BARS_URL) == math.ceil(full.height / 6000)
        assert c.log.count(CANDLES_URL) == math.ceil(full.height / 300)
    assert store.read("alpaca", SYM, "1h").equals(full)
    assert store.read("coinbase", SYM, "1h").equals(full)
