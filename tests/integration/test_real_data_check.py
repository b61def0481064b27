"""The data layer on the real candles (../shared/data/real): known gaps and placeholders, 5m -> 1h equality,
multi-asset alignment, and `cappuccino data check` end to end (also on hand-built files and a store)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from cappuccino_cli import common
from cappuccino_cli.main import app
from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.align import align_bars
from cappuccino_core.data.bars import BAR_SCHEMA, to_bar_frame
from cappuccino_core.data.resample import resample_bars
from cappuccino_core.data.validate import ValidationReport, validate_bars

COINS_1H = ["ADA", "AVAX", "BCH", "BTC", "DOGE", "DOT", "ETH", "LINK", "LTC", "NEAR", "SOL", "XRP"]
EARLY = {"BTC", "ETH", "LTC", "ADA", "XRP", "LINK"}  # listed before 2019-06-07
H = timedelta(hours=1)
NOW = datetime(2025, 7, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def load(real: Path, name: str) -> pl.DataFrame:
    return to_bar_frame(pl.read_ipc(real / name), time_col="date", name=name)


def report(real: Path, coin: str) -> ValidationReport:
    return validate_bars(load(real, f"BINANCE_{coin}USDT_1h.feather"), f"{coin}/USDT", "1h", now=NOW)


def missing_set(r: ValidationReport) -> set[datetime]:
    return {g.start + k * H for g in r.gaps for k in range(g.missing)}


@pytest.fixture(scope="module")
def reports(real_data_dir: Path) -> dict[str, ValidationReport]:
    return {c: report(real_data_dir, c) for c in COINS_1H}


@pytest.mark.realdata
def test_binance_btc_gaps(reports: dict[str, ValidationReport]) -> None:
    r = reports["BTC"]
    assert r.rows == 65590 and r.first == utc(2018, 1, 1) and r.last == utc(2025, 6, 30, 23)
    assert len(r.gaps) == 27 and r.missing_bars == 122
    lg = r.largest_gap
    assert lg is not None
    assert (lg.start, lg.end, lg.missing) == (utc(2018, 2, 8, 1), utc(2018, 2, 9, 9), 33)
    # every outage is before 2023-03-24 (the last: the 13:00 bar after the 12:00 placeholder)
    assert max(g.end for g in r.gaps) == utc(2023, 3, 24, 13)
    assert r.duplicates == r.nan == r.non_positive == r.high_low == r.out_of_order == r.misaligned == []
    assert not r.stale  # evaluated at 2025-07-01 00:00: the last bar is one interval old


@pytest.mark.realdata
def test_binance_gaps_shared_by_all_coins(reports: dict[str, ValidationReport]) -> None:
    btc = missing_set(reports["BTC"])
    for coin, r in reports.items():
        assert r.first is not None
        expected = {t for t in btc if t > r.first}
        assert missing_set(r) == expected, coin
        assert r.conflicting_duplicates == r.nan == r.high_low == [], coin


@pytest.mark.realdata
def test_binance_placeholders(reports: dict[str, ValidationReport]) -> None:
    common_ph = {utc(2021, 2, 11, 3), utc(2023, 3, 24, 12)}
    for coin, r in reports.items():
        expected = set(common_ph)
        if coin in EARLY:
            expected.add(utc(2019, 6, 7, 21))
        if coin == "LINK":  # a fourth one, not listed in SOURCES.md
            expected.add(utc(2019, 5, 2, 5))
        assert set(r.placeholders) == expected, coin


@pytest.mark.realdata
def test_coinbase_and_5m_have_no_gaps(real_data_dir: Path) -> None:
    for name, tf in (
        ("COINBASE_BTCUSD_1h", "1h"),
        ("COINBASE_ETHUSD_1h", "1h"),
        ("BINANCE_BTCUSDT_5m", "5m"),
    ):
        r = validate_bars(load(real_data_dir, f"{name}.feather"), name, tf, now=NOW)
        assert r.ok and r.gaps == [] and r.placeholders == [], r.summary()


@pytest.mark.realdata
def test_5m_resampled_reproduces_1h(real_data_dir: Path) -> None:
    fine = load(real_data_dir, "BINANCE_BTCUSDT_5m.feather")
    hourly = load(real_data_dir, "BINANCE_BTCUSDT_1h.feather")
    res = resample_bars(fine, "5m", "1h", incomplete="flag", symbol="BTC/USDT")
    assert not res["incomplete"].any()
    j = res.join(hourly, on="time", how="inner", suffix="_1h")
    assert j.height == res.height == 4368  # 2024-12-31 00:00 .. 2025-06-30 23:00, all of it in the 1h file
    assert j["time"].min() == utc(2024, 12, 31) and j["time"].max() == utc(2025, 6, 30, 23)
    tol = {"open": 1e-9, "high": 1e-9, "low": 1e-9, "close": 1e-9, "volume": 1e-6}
    bad = []
    for c, rel in tol.items():
        a, b = j[c].to_numpy(), j[f"{c}_1h"].to_numpy()
        off = ~np.isclose(a, b, rtol=rel, atol=0.0)
        bad += [
            f"{t} {c}: 5m->1h {x!r} vs 1h {y!r}"
            for t, x, y in zip(j["time"].filter(off), a[off], b[off], strict=True)
        ]
    assert not bad, "bars that differ:\n" + "\n".join(bad[:50])


@pytest.mark.realdata
def test_align_six_coins_full_history(real_data_dir: Path) -> None:
    coins = ["BTC", "ETH", "SOL", "LINK", "LTC", "ADA"]
    frames = {f"{c}/USDT": load(real_data_dir, f"BINANCE_{c}USDT_1h.feather") for c in coins}
    a = align_bars(frames, "1h", DataConfig(long_gap_policy="segment"))
    assert a.tickers == tuple(frames)
    assert a.window == (utc(2020, 8, 11, 6), utc(2025, 6, 30, 23))  # SOL lists last
    assert a.dropped == dict.fromkeys(frames, 0)  # outages are shared: the join drops nothing
    # gaps longer than 3 bars after SOL's listing: 2020-12-21 14:00 (4) and 2021-08-13 02:00 (4)
    assert len(a.segments) == 3
    starts = [a.time[s] for s, _ in a.segments]
    assert starts == [utc(2020, 8, 11, 6), utc(2020, 12, 21, 18), utc(2021, 8, 13, 6)]
    assert int(a.array("placeholder").sum()) == 2 * 6


# ------------------------------------------------------------------------------------------------ CLI
@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no ./cappuccino.toml: defaults unless --config
    monkeypatch.delenv("CAPPUCCINO_CONFIG", raising=False)
    monkeypatch.setattr(common.console, "_width", 250)
    return CliRunner()


def _json(out: str) -> dict:  # type: ignore[type-arg]
    return json.loads(out[out.index("{") :])


@pytest.mark.realdata
def test_cli_reports_real_quirks(cli: CliRunner, real_data_dir: Path, tmp_path: Path) -> None:
    res = cli.invoke(app, ["data", "check", str(real_data_dir), "--now", "2025-07-01T00:00", "--json"])
    assert res.exit_code == 1, res.output  # default policy: gaps longer than 3 bars are errors
    doc = _json(res.stdout)
    by_name = {Path(d["path"]).name: d for d in doc["datasets"]}
    assert len(by_name) == 15
    btc = by_name["BINANCE_BTCUSDT_1h.feather"]
    assert btc["symbol"] == "BTC/USDT" and btc["venue"] == "binance" and btc["timeframe"] == "1h"
    assert btc["counts"]["gaps"] == 27 and btc["counts"]["missing_bars"] == 122
    assert btc["largest_gap"] == {
        "start": "2018-02-08T01:00:00+00:00",
        "end": "2018-02-09T09:00:00+00:00",
        "missing": 33,
    }
    assert btc["placeholders"] == [
        "2019-06-07T21:00:00+00:00",
        "2021-02-11T03:00:00+00:00",
        "2023-03-24T12:00:00+00:00",
    ]
    assert btc["stale"] is False and btc["status"] == "ERROR"
    assert by_name["BINANCE_SOLUSDT_1h.feather"]["placeholders"] == [
        "2021-02-11T03:00:00+00:00",
        "2023-03-24T12:00:00+00:00",
    ]
    for name in ("BINANCE_BTCUSDT_5m.feather", "COINBASE_BTCUSD_1h.feather"):
        assert by_name[name]["status"] == "OK", name

    cfg = tmp_path / "segment.toml"
    cfg.write_text('[data]\nlong_gap_policy = "segment"\n')
    ok = cli.invoke(app, ["data", "check", str(real_data_dir), "--config", str(cfg), "--now", "2025-07-01"])
    assert ok.exit_code == 0, ok.output
    assert "33 @ 2018-02-08 01:00" in ok.stdout and "WARN" in ok.stdout
    # staleness at the current time: reported, not an error unless asked
    stale = cli.invoke(app, ["data", "check", str(real_data_dir / "COINBASE_BTCUSD_1h.feather"), "--json"])
    assert stale.exit_code == 0 and _json(stale.stdout)["datasets"][0]["stale"] is True
    strict = cli.invoke(
        app, ["data", "check", str(real_data_dir / "COINBASE_BTCUSD_1h.feather"), "--fail-on-stale"]
    )
    assert strict.exit_code == 1 and "stale" in strict.stdout


def _frame(n: int = 48) -> pl.DataFrame:
    t0 = utc(2025, 1, 1)
    close = 100.0 + np.arange(n, dtype=float)
    return pl.DataFrame(
        {
            "time": [t0 + i * H for i in range(n)],
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.ones(n),
        },
        schema=BAR_SCHEMA,
    )


def test_cli_hand_built_files(cli: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "BINANCE_ETHUSDT_1h.csv"
    _frame().rename({"time": "date"}).write_csv(good)
    res = cli.invoke(app, ["data", "check", str(good), "--now", "2025-01-03T00:00"])
    assert res.exit_code == 0, res.output
    assert "OK" in res.stdout

    bad = tmp_path / "BTC_USDT-1h.parquet"  # freqtrade-style name
    df = _frame().with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(float("nan")).otherwise(pl.col("close")).alias("close")
    )
    pl.concat([df, df.slice(3, 1).with_columns(pl.col("close") + 1)]).write_parquet(bad)
    res = cli.invoke(app, ["data", "check", str(bad), "--now", "2025-01-03T00:00", "--json"])
    assert res.exit_code == 1
    d = _json(res.stdout)["datasets"][0]
    assert d["symbol"] == "BTC/USDT" and d["nan"] == ["2025-01-01T07:00:00+00:00"]
    assert d["conflicting_duplicates"] == ["2025-01-01T03:00:00+00:00"]
    details = cli.invoke(app, ["data", "check", str(bad), "--details"])
    assert details.exit_code == 1 and "NaN/null value" in details.stdout

    odd = tmp_path / "prices.parquet"
    _frame().write_parquet(odd)
    assert cli.invoke(app, ["data", "check", str(odd)]).exit_code == 2
    res = cli.invoke(app, ["data", "check", str(odd), "--symbol", "SOL/USDT", "--timeframe", "1h", "--json"])
    assert _json(res.stdout)["datasets"][0]["symbol"] == "SOL/USDT"
    assert cli.invoke(app, ["data", "check", str(tmp_path / "nope.parquet")]).exit_code == 2
    assert cli.invoke(app, ["data", "check", "--now", "yesterday", str(good)]).exit_code == 2


def test_cli_checks_the_store(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "store"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[paths]\ndata_root = "{root.as_posix()}"\n')
    assert cli.invoke(app, ["data", "check", "--config", str(cfg)]).exit_code == 2  # nothing to check
    d = root / "bars" / "binance" / "BTC-USDT"
    d.mkdir(parents=True)
    _frame().filter(~pl.int_range(pl.len()).is_between(10, 19)).write_parquet(d / "1h.parquet")
    (root / "bars" / "binance" / "ETH-USDT").mkdir()
    _frame().write_parquet(root / "bars" / "binance" / "ETH-USDT" / "1h.parquet")
    res = cli.invoke(app, ["data", "check", "--config", str(cfg), "--now", "2025-01-03T00:00", "--json"])
    assert res.exit_code == 1  # a 10-bar gap in BTC
    doc = _json(res.stdout)
    got = {(x["venue"], x["symbol"], x["timeframe"], x["status"]) for x in doc["datasets"]}
    assert got == {("binance", "BTC/USDT", "1h", "ERROR"), ("binance", "ETH/USDT", "1h", "OK")}
    btc = next(x for x in doc["datasets"] if x["symbol"] == "BTC/USDT")
    assert btc["largest_gap"] == {
        "start": "2025-01-01T10:00:00+00:00",
        "end": "2025-01-01T19:00:00+00:00",
        "missing": 10,
    }
