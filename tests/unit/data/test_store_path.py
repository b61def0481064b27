"""The data layer's one path grammar: store layout and bar-file names, as `data check` reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cappuccino_cli.data_check import parse_dataset_name
from cappuccino_core.data.store import BarStore, StoreKey, parse_store_path
from cappuccino_core.data.symbols import parse_symbol


def test_store_path_round_trips(tmp_path: Path) -> None:
    p = BarStore(tmp_path).path("binance", "BTC/USDT", "60m")
    assert parse_store_path(p) == StoreKey("binance", parse_symbol("BTC/USDT"), "1h")


@pytest.mark.parametrize(
    "rel",
    [
        "bars/binance/BTC-USDT/.1h.parquet.x1y2.tmp",  # an orphaned temporary file
        "bars/binance/BTC-USDT/.1h.parquet",
        "bars/binance/BTC-USDT/1h.csv",
        "bars/binance/notes/1h.parquet",  # not a symbol
        "bars/binance/BTC-USDT/hourly.parquet",  # not a timeframe
        "bars/Bin ance/BTC-USDT/1h.parquet",  # not a venue name
    ],
)
def test_other_paths_are_not_store_files(tmp_path: Path, rel: str) -> None:
    assert parse_store_path(tmp_path / rel) is None


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("data/bars/coinbase/ETH-USD/5m.parquet", ("coinbase", "ETH/USD", "5m")),
        ("BINANCE_BTCUSDT_1h.feather", ("binance", "BTC/USDT", "1h")),
        ("COINBASE_BTC-USD_1h.csv", ("coinbase", "BTC/USD", "1h")),
        ("BTC_USDT-1h.parquet", (None, "BTC/USDT", "1h")),  # freqtrade: no venue in the name
        ("prices.parquet", (None, None, None)),
    ],
)
def test_data_check_reads_names_by_the_one_grammar(rel: str, expected: tuple) -> None:
    assert parse_dataset_name(Path(rel)) == expected
