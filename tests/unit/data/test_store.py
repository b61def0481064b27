"""The Parquet bar store: layout, merge semantics, atomic writes, staleness, and file import into it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from cappuccino_core.data import ingest
from cappuccino_core.data.bars import BAR_SCHEMA, TIME
from cappuccino_core.data.sources.files import FileSource, parse_file_name, read_bar_file
from cappuccino_core.data.store import BarStore, MissingDataset
from cappuccino_core.data.symbols import Symbol

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def bars(n: int, start: datetime = T0, step_h: int = 1, price: float = 100.0) -> pl.DataFrame:
    times = [start + timedelta(hours=step_h * i) for i in range(n)]
    close = [price + i for i in range(n)]
    return pl.DataFrame(
        {
            TIME: times,
            "open": close,
            "high": [c + 1 for c in close],
            "low": [c - 1 for c in close],
            "close": close,
            "volume": [10.0] * n,
        },
        schema=BAR_SCHEMA,
    )


@pytest.fixture()
def store(tmp_path: Path) -> BarStore:
    return BarStore(tmp_path / "data")


def test_layout_and_round_trip(store: BarStore) -> None:
    df = bars(5)
    p = store.write("Binance", "btcusdt", "60m", df)
    assert p == store.root / "bars" / "binance" / "BTC-USDT" / "1h.parquet"
    out = store.read("binance", "BTC/USDT", "1h")
    assert out.schema == pl.Schema(BAR_SCHEMA)
    assert out.equals(df)
    assert store.exists("binance", Symbol("BTC", "USDT"), "1h")
    assert store.last_time("binance", "BTC/USDT", "1h") == T0 + timedelta(hours=4)
    window = store.read(
        "binance", "BTC/USDT", "1h", start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=3)
    )
    assert window[TIME].to_list() == [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]


def test_write_sorts_and_dedupes(store: BarStore) -> None:
    df = pl.concat([bars(3, T0 + timedelta(hours=3)), bars(4), bars(1, price=500.0)])
    store.write("binance", "BTC/USDT", "1h", df)
    out = store.read("binance", "BTC/USDT", "1h")
    assert out[TIME].is_sorted() and out[TIME].n_unique() == out.height == 6
    assert out["close"][0] == 500.0  # the later row for T0 won


def test_missing_dataset_is_a_clear_error(store: BarStore) -> None:
    with pytest.raises(MissingDataset, match=r"no stored bars for coinbase ETH/USD 1h"):
        store.read("coinbase", "ETH-USD", "1h")
    assert store.last_time("coinbase", "ETH-USD", "1h") is None
    with pytest.raises(MissingDataset):
        store.staleness("coinbase", "ETH-USD", "1h")
    assert store.read_or_empty("coinbase", "ETH-USD", "1h").height == 0
    with pytest.raises(ValueError, match="venue"):
        store.path("bad venue!", "BTC/USD", "1h")


def test_merge_newer_wins_sorted_and_counted(store: BarStore) -> None:
    first = store.merge("alpaca", "BTC/USD", "1h", bars(10))
    assert (first.rows_before, first.rows_after, first.added, first.replaced) == (0, 10, 10, 0)
    # overlapping fetch: hours 8..13, with corrected values for 8 and 9, plus a duplicate inside the page
    newer = bars(6, T0 + timedelta(hours=8), price=1000.0)
    newer = pl.concat([newer, newer.head(1).with_columns(pl.lit(2000.0).alias("close"))])
    r = store.merge("alpaca", "BTC/USD", "1h", newer)
    assert r.rows_before == 10 and r.rows_after == 14
    assert r.added == 4 and r.replaced == 2 and r.duplicates_in_input == 1
    assert r.last == T0 + timedelta(hours=13)
    out = store.read("alpaca", "BTC/USD", "1h")
    assert out[TIME].is_sorted() and out[TIME].n_unique() == 14
    assert (
        out.filter(pl.col(TIME) == T0 + timedelta(hours=8))["close"].item() == 2000.0
    )  # last row of the fetch
    assert out.filter(pl.col(TIME) == T0 + timedelta(hours=9))["close"].item() == 1001.0
    assert out.filter(pl.col(TIME) == T0 + timedelta(hours=7))["close"].item() == 107.0  # untouched


def test_merge_of_identical_bars_does_not_rewrite(store: BarStore) -> None:
    store.merge("alpaca", "BTC/USD", "1h", bars(10))
    p = store.path("alpaca", "BTC/USD", "1h")
    mtime = p.stat().st_mtime_ns
    r = store.merge("alpaca", "BTC/USD", "1h", bars(10).slice(2, 5))
    assert (r.added, r.replaced, r.rows_after) == (0, 0, 10)
    assert p.stat().st_mtime_ns == mtime


def test_merge_of_nothing_writes_nothing(store: BarStore) -> None:
    r = store.merge("alpaca", "BTC/USD", "1h", pl.DataFrame())
    assert r.rows_after == 0 and not store.exists("alpaca", "BTC/USD", "1h")
    assert store.datasets() == []


def test_crash_mid_write_leaves_old_file_intact(store: BarStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write("binance", "ETH/USDT", "1h", bars(20))
    p = store.path("binance", "ETH/USDT", "1h")
    before = p.read_bytes()

    def crash(self: pl.DataFrame, file, *args, **kwargs) -> None:
        file.write(b"PAR1 half a file")  # something reaches the disk, then the process "dies"
        raise OSError("simulated crash mid-write")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.merge("binance", "ETH/USDT", "1h", bars(5, T0 + timedelta(hours=20)))
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert store.read("binance", "ETH/USDT", "1h").height == 20
    assert [f.name for f in p.parent.iterdir() if f.name.endswith(".tmp")] == []


def test_leftover_temp_files_are_ignored(store: BarStore) -> None:
    store.write("binance", "BTC/USDT", "1h", bars(3))
    d = store.path("binance", "BTC/USDT", "1h").parent
    (d / ".1h.parquet.abc123.tmp").write_bytes(b"garbage from a killed process")
    (d / "notes.txt").write_text("x")
    infos = store.datasets()
    assert [(i.venue, str(i.symbol), i.timeframe, i.rows) for i in infos] == [
        ("binance", "BTC/USDT", "1h", 3)
    ]


def test_datasets_and_staleness(store: BarStore) -> None:
    store.write("binance", "BTC/USDT", "1h", bars(24))
    store.write("binance", "ETH/USDT", "1d", bars(3, step_h=24))
    store.write("coinbase", "BTC/USD", "1h", bars(2))
    infos = store.datasets()
    assert [(i.venue, str(i.symbol), i.timeframe) for i in infos] == [
        ("binance", "BTC/USDT", "1h"),
        ("binance", "ETH/USDT", "1d"),
        ("coinbase", "BTC/USD", "1h"),
    ]
    assert infos[0].rows == 24 and infos[0].first == T0 and infos[0].last == T0 + timedelta(hours=23)
    assert [str(i.symbol) for i in store.datasets("coinbase")] == ["BTC/USD"]
    last = T0 + timedelta(hours=23)
    assert store.staleness("binance", "BTC/USDT", "1h", now=last + timedelta(minutes=90)) == pytest.approx(
        1.5
    )
    assert store.staleness("binance", "ETH/USDT", "1d", now=T0 + timedelta(days=12)) == pytest.approx(10.0)


# ------------------------------------------------------------------------------------------- file import
def test_file_names() -> None:
    n = parse_file_name("BINANCE_BTCUSDT_1h.feather")
    assert (n.venue, str(n.symbol), n.timeframe) == ("binance", "BTC/USDT", "1h")
    n = parse_file_name(Path("x/COINBASE_ETHUSD_60m.parquet"))
    assert (n.venue, str(n.symbol), n.timeframe) == ("coinbase", "ETH/USD", "1h")
    n = parse_file_name("BTC_USDT-5m.feather")  # freqtrade
    assert (n.venue, str(n.symbol), n.timeframe) == (None, "BTC/USDT", "5m")
    n = parse_file_name("KRAKEN_SOL-EUR_1d.csv")
    assert (n.venue, str(n.symbol)) == ("kraken", "SOL/EUR")
    with pytest.raises(ValueError, match=r"whatever\.csv: cannot read venue/symbol/timeframe"):
        parse_file_name("whatever.csv")


def test_import_sample_style_parquet_and_feather_with_date(store: BarStore, tmp_path: Path) -> None:
    src = tmp_path / "files"
    src.mkdir()
    bars(48).write_parquet(src / "BINANCE_BTCUSDT_1h.parquet")  # the bundled sample: `time`
    bars(24).rename({TIME: "date"}).with_columns(pl.col("date").dt.cast_time_unit("ms")).write_ipc(
        src / "BINANCE_ETHUSDT_1h.feather", compression="zstd"
    )  # ../shared/data/real: `date`, ms
    (src / "README.md").write_text("not a bar file")
    events: list[ingest.Progress] = []
    results = ingest.import_files([src], store, progress=events.append)
    assert [(r.venue, str(r.symbol), r.timeframe, r.rows) for r in results] == [
        ("binance", "BTC/USDT", "1h", 48),
        ("binance", "ETH/USDT", "1h", 24),
    ]
    assert store.read("binance", "ETH/USDT", "1h").equals(bars(24))
    assert events[0].stage == "start" and events[-1].stage == "done" and events[-1].completed == 2
    again = ingest.import_files([src / "BINANCE_BTCUSDT_1h.parquet"], store)
    assert again[0].added == 0  # idempotent


def test_import_csv_epoch_and_explicit_names(store: BarStore, tmp_path: Path) -> None:
    df = bars(10)
    csv = tmp_path / "mydata.csv"
    df.with_columns((pl.col(TIME).dt.epoch("ms")).alias("Timestamp")).drop(TIME).rename(
        {"open": "Open", "close": "Close"}
    ).write_csv(csv)
    with pytest.raises(ValueError, match=r"mydata\.csv"):
        ingest.import_files([csv], store, "kraken")
    with pytest.raises(ValueError, match="no venue"):
        ingest.import_files([csv], store, symbol="BTC/EUR", timeframe="1h")
    r = ingest.import_files([csv], store, "kraken", symbol="BTC/EUR", timeframe="1h")
    assert str(r[0].symbol) == "BTC/EUR"
    assert store.read("kraken", "BTC/EUR", "1h").equals(df)
    iso = tmp_path / "COINBASE_BTCUSD_1h.csv"
    df.with_columns(pl.col(TIME).dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(iso)
    assert read_bar_file(iso).equals(df)


def test_import_errors(store: BarStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ingest.import_files([tmp_path / "nope.parquet"], store)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no Feather/Parquet/CSV"):
        ingest.import_files([empty], store)
    bad = tmp_path / "BINANCE_BTCUSDT_1h.parquet"
    pl.DataFrame({"when": [1], "close": [1.0]}).write_parquet(bad)
    with pytest.raises(ValueError, match="no time column"):
        ingest.import_files([bad], store)
    txt = tmp_path / "BINANCE_BTCUSDT_1h.txt"
    txt.write_text("x")
    with pytest.raises(ValueError, match="unsupported file type"):
        read_bar_file(txt)


def test_file_source_update_fetches_only_new_bars(store: BarStore, tmp_path: Path) -> None:
    d = tmp_path / "files"
    d.mkdir()
    bars(30).write_parquet(d / "BINANCE_BTCUSDT_1h.parquet")
    src = FileSource(d, venue="binance")
    now = T0 + timedelta(days=10)
    ingest.download(src, store, ["BTC/USDT"], "1h", T0, T0 + timedelta(hours=20), now=now)
    assert store.last_time("binance", "BTC/USDT", "1h") == T0 + timedelta(hours=19)

    calls: list[tuple[datetime, datetime]] = []
    fetch = src.fetch

    def spy(symbol, timeframe, start, end):
        calls.append((start, end))
        return fetch(symbol, timeframe, start, end)

    src.fetch = spy  # type: ignore[method-assign]
    res = ingest.update(src, store, ["BTC/USDT"], "1h", now=now)
    assert calls[0][0] == T0 + timedelta(hours=20)  # last stored + 1 interval
    assert res[0].fetched == 10 and res[0].added == 10
    calls.clear()
    res = ingest.update(src, store, ["BTC/USDT"], "1h", end=T0 + timedelta(hours=30), now=now)
    assert calls == [] and res[0].fetched == 0  # up to date: no request at all
    with pytest.raises(ValueError, match="no stored binance ETH/USDT 1h bars"):
        ingest.update(src, store, ["ETH/USDT"], "1h", now=now)


def test_only_closed_bars_are_downloaded(store: BarStore, tmp_path: Path) -> None:
    d = tmp_path / "files"
    d.mkdir()
    bars(30).write_parquet(d / "BINANCE_BTCUSDT_1h.parquet")
    now = T0 + timedelta(hours=10, minutes=30)  # the 10:00 bar is still forming
    ingest.download(FileSource(d), store, ["BTC/USDT"], "1h", T0, now=now)
    assert store.last_time("binance", "BTC/USDT", "1h") == T0 + timedelta(hours=9)
    with pytest.raises(ValueError, match="window is empty"):
        ingest.download(FileSource(d), store, ["BTC/USDT"], "1h", now, now=now)


@pytest.mark.realdata
def test_import_real_feather(store: BarStore, real_data_dir: Path) -> None:
    f = real_data_dir / "COINBASE_BTCUSD_1h.feather"
    res = ingest.import_files([f], store)
    assert (res[0].venue, str(res[0].symbol), res[0].rows) == ("coinbase", "BTC/USD", 10519)
    out = store.read("coinbase", "BTC/USD", "1h")
    assert out[TIME].is_sorted() and out.schema == pl.Schema(BAR_SCHEMA)
    assert out[TIME][0] == datetime(2024, 4, 18, 17, tzinfo=UTC)
    assert os.path.getsize(store.path("coinbase", "BTC/USD", "1h")) > 0
