"""align_bars on the shared real candles with the default tickers: BTC's 2018 outages (before SOL lists in
August 2020) no longer stop the run; what the default policy still refuses is inside the window."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cappuccino_core.config import Settings
from cappuccino_core.data.align import align_bars
from cappuccino_core.data.validate import DataValidationError

pytestmark = pytest.mark.realdata

DEFAULT = ("BTC", "ETH", "SOL", "LINK", "LTC", "ADA")  # cappuccino.toml's [data] tickers


def _frames(real: Path) -> dict[str, pl.DataFrame]:
    return {
        f"{c}/USDT": pl.read_ipc(real / f"BINANCE_{c}USDT_1h.feather").rename({"date": "time"})
        for c in DEFAULT
    }


def test_default_tickers_align_from_sol_listing(real_data_dir: Path) -> None:
    settings = Settings()
    assert tuple(t.split("/")[0] for t in settings.data.tickers) == DEFAULT
    frames = _frames(real_data_dir)
    # The default policy refuses long gaps: the one it names is BTC's 4-bar outage of 2020-12-21, inside
    # the window, not the 33-bar outage of 2018-02-08 that stopped the run before the window was cut.
    with pytest.raises(DataValidationError, match=r"BTC/USDT 1h: gaps: 2 gap\(s\).*2020-12-21 14:00") as err:
        align_bars(frames, "1h", settings.data)
    assert "2018" not in str(err.value)
    # Keeping long gaps as segment breaks, the six align over SOL's listed life.
    a = align_bars(frames, "1h", settings.data.model_copy(update={"long_gap_policy": "segment"}))
    assert a.window == (datetime(2020, 8, 11, 6, tzinfo=UTC), datetime(2025, 6, 30, 23, tzinfo=UTC))
    assert a.n_bars == 42826 and len(a.segments) == 3
    assert a.trimmed["SOL/USDT"] == 0 and a.trimmed["BTC/USDT"] == 65590 - 42814  # rows as given
    assert all(len(r.kept_gaps) == 2 and r.filled_bars == 12 for r in a.repairs.values())
