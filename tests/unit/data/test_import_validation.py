"""`data import` validates every file before merging anything; a refused import leaves the store as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cappuccino_core.data import ingest
from cappuccino_core.data.bars import BAR_SCHEMA, TIME
from cappuccino_core.data.store import BarStore
from cappuccino_core.data.validate import validate_bars

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def bars(n: int, start: datetime = T0) -> pl.DataFrame:
    close = [100.0 + i for i in range(n)]
    return pl.DataFrame(
        {
            TIME: [start + i * H for i in range(n)],
            "open": close,
            "high": [c + 1 for c in close],
            "low": [c - 1 for c in close],
            "close": close,
            "volume": [10.0] * n,
        },
        schema=BAR_SCHEMA,
    )


def store_digest(store: BarStore) -> dict[str, str]:
    """sha256 of every file under the store (lock files included): byte-for-byte comparison."""
    return {
        str(p.relative_to(store.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(store.root.rglob("*"))
        if p.is_file()
    }


def _set(row: int, **values: float) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def edit(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(
            pl.when(pl.int_range(pl.len()) == row).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
            for c, v in values.items()
        )

    return edit


BAD = {
    "nan": _set(3, close=float("nan")),
    "inf": _set(4, high=float("inf")),
    "non_positive": _set(5, low=-1.0),
    "high_low": _set(6, high=90.0),
    "misaligned": lambda df: df.with_columns(pl.col(TIME) + timedelta(minutes=30)),
    "jump": _set(7, high=50 * 108.0, close=50 * 107.0),  # a x50 print
}


@pytest.fixture()
def store(tmp_path: Path) -> BarStore:
    s = BarStore(tmp_path / "data")
    s.merge("binance", "BTC/USDT", "1h", bars(24))
    s.merge("binance", "ETH/USDT", "1h", bars(24))
    return s


def test_validate_flags_inf_as_an_error() -> None:
    r = validate_bars(_set(2, volume=float("inf"))(bars(6)), "BTC/USDT", "1h", now=T0)
    assert r.inf == [T0 + 2 * H] and r.nan == [] and not r.ok
    assert [p.kind for p in r.errors()] == ["inf"]
    r = validate_bars(_set(2, low=float("-inf"))(bars(6)), "BTC/USDT", "1h", now=T0)
    assert r.inf == [T0 + 2 * H] and r.non_positive == [] and r.high_low == []


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_file_refused_whole_and_store_unchanged(store: BarStore, tmp_path: Path, kind: str) -> None:
    src = tmp_path / "files"
    src.mkdir()
    bars(48, T0 + 24 * H).write_parquet(src / "BINANCE_ETHUSDT_1h.parquet")  # good, sorts first
    BAD[kind](bars(48, T0 + 24 * H)).write_parquet(src / "BINANCE_SOLUSDT_1h.parquet")
    before = store_digest(store)
    with pytest.raises(ingest.ImportRefused) as err:
        ingest.import_files([src], store)
    assert store_digest(store) == before  # not even the good file was merged
    assert list(err.value.failures) == [src / "BINANCE_SOLUSDT_1h.parquet"]
    assert err.value.failures[src / "BINANCE_SOLUSDT_1h.parquet"][0].startswith(f"{kind}:")
    assert "nothing written" in str(err.value)
    assert not store.exists("binance", "SOL/USDT", "1h")


def test_every_failed_check_listed(store: BarStore, tmp_path: Path) -> None:
    f = tmp_path / "BINANCE_BTCUSDT_1h.parquet"
    df = _set(1, close=float("nan"))(_set(2, open=float("inf"))(_set(3, low=0.0)(bars(10))))
    df.write_parquet(f)
    with pytest.raises(ingest.ImportRefused) as err:
        ingest.import_files([f], store)
    checks = err.value.failures[f]
    assert [c.split(":")[0] for c in checks] == ["nan", "inf", "non_positive"]
    assert "2024-01-01 01:00" in checks[0] and "2024-01-01 02:00" in checks[1]


def test_text_volume_is_a_one_line_error(store: BarStore, tmp_path: Path) -> None:
    f = tmp_path / "BINANCE_BTCUSDT_1h.csv"
    bars(5).with_columns(
        pl.Series("volume", ["1.0", "2.0", "lots", "4.0", "5.0"]), pl.col(TIME).dt.strftime("%Y-%m-%dT%H:%MZ")
    ).write_csv(f)
    before = store_digest(store)
    with pytest.raises(ingest.ImportRefused, match="column 'volume' holds text") as err:
        ingest.import_files([f], store)
    assert "'lots'" in str(err.value) and len(err.value.failures[f]) == 1
    assert store_digest(store) == before


def test_jump_check_follows_the_config(store: BarStore, tmp_path: Path) -> None:
    from cappuccino_core.config.data import DataConfig

    f = tmp_path / "BINANCE_SOLUSDT_1h.parquet"
    # a close of x2.9, then back down to a third: allowed at the default x10; a wick is never judged
    _set(3, high=400.0, close=300.0)(_set(5, low=0.0001)(bars(10))).write_parquet(f)
    ingest.import_files([f], store)
    with pytest.raises(
        ingest.ImportRefused, match=r"jump: 2 close\(s\) moving more than x2 .* 03:00, 2024-01-01 04:00"
    ):
        ingest.import_files([f], store, config=DataConfig(import_max_jump=2.0))


def test_bool_price_column_refused(store: BarStore, tmp_path: Path) -> None:
    f = tmp_path / "BINANCE_BTCUSDT_1h.parquet"
    bars(5).with_columns(pl.lit(True).alias("close")).write_parquet(f)
    with pytest.raises(ingest.ImportRefused, match="column 'close' has type Boolean"):
        ingest.import_files([f], store)


def test_only_lossless_repairs_on_import(store: BarStore, tmp_path: Path) -> None:
    """Out-of-order rows are sorted and exact duplicates collapsed (validation warnings); the rest is kept."""
    f = tmp_path / "BINANCE_LTCUSDT_1h.parquet"
    good = bars(10)
    pl.concat([good[5:], good[:5], good[2:3]]).write_parquet(f)
    res = ingest.import_files([f], store)
    assert res[0].rows == 10
    assert store.read("binance", "LTC/USDT", "1h").equals(good)


def test_cli_refused_import_exit_2_store_unchanged(
    store: BarStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cappuccino_cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAPPUCCINO_CONFIG", raising=False)
    monkeypatch.setenv("CAPPUCCINO_PATHS__DATA_ROOT", str(store.root))
    monkeypatch.setenv("COLUMNS", "300")
    f = tmp_path / "BINANCE_BTCUSDT_1h.csv"
    bars(5).with_columns(
        pl.Series("volume", ["1", "x", "3", "4", "5"]), pl.col(TIME).dt.strftime("%Y-%m-%dT%H:%MZ")
    ).write_csv(f)
    before = store_digest(store)
    r = CliRunner().invoke(app, ["data", "import", str(f)])
    assert r.exit_code == 2, r.output
    assert "import refused, nothing written" in r.output and "holds text" in r.output
    assert "Traceback" not in r.output
    assert store_digest(store) == before
    ok = tmp_path / "BINANCE_BTCUSDT_1h.parquet"
    bars(30).write_parquet(ok)
    r = CliRunner().invoke(app, ["data", "import", str(ok)])
    assert r.exit_code == 0, r.output
    assert store.read("binance", "BTC/USDT", "1h").height == 30
