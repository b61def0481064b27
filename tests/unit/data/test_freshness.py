"""The data window and the freshness rule of the monthly retrain, on a real BarStore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from cappuccino_core.data.bars import to_bar_frame
from cappuccino_core.data.freshness import StaleData, data_window, require_fresh, window_span
from cappuccino_core.data.store import BarStore

NOW = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)


def _bars(first: datetime, n: int) -> pl.DataFrame:
    return to_bar_frame(
        pl.DataFrame(
            {
                "time": [first + timedelta(hours=i) for i in range(n)],
                "open": [1.0] * n,
                "high": [1.0] * n,
                "low": [1.0] * n,
                "close": [1.0] * n,
                "volume": [1.0] * n,
            }
        )
    )


@pytest.fixture()
def store(tmp_path: Path) -> BarStore:
    s = BarStore(tmp_path)
    # BTC: last bar opened 11:00, 1.5 h before NOW (fresh: limit 2 x 1h). ETH: last bar 3 days old.
    s.write("alpaca", "BTC/USD", "1h", _bars(datetime(2025, 3, 1, tzinfo=UTC), 24 * 9 + 12))
    s.write("alpaca", "ETH/USD", "1h", _bars(datetime(2025, 3, 2, tzinfo=UTC), 24 * 5 + 12))
    return s


def test_window_and_age_per_symbol(store: BarStore) -> None:
    btc, eth, sol = data_window(store, "alpaca", ["BTC/USD", "ETH/USD", "SOL/USD"], "1h", 2, now=NOW)
    assert (btc.first, btc.last, btc.bars) == (
        datetime(2025, 3, 1, tzinfo=UTC),
        datetime(2025, 3, 10, 11, tzinfo=UTC),
        228,
    )
    assert btc.age_h == pytest.approx(1.5) and not btc.stale
    assert eth.last == datetime(2025, 3, 7, 11, tzinfo=UTC) and eth.age_h == pytest.approx(73.5) and eth.stale
    assert sol.last is None and sol.stale and sol.bars == 0
    assert window_span([btc, eth]) == (datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 7, 11, tzinfo=UTC))
    with pytest.raises(StaleData, match="no stored bars for: SOL/USD"):
        window_span([btc, sol])


def test_stale_data_is_refused_naming_symbol_last_bar_and_age(store: BarStore) -> None:
    windows = data_window(store, "alpaca", ["BTC/USD", "ETH/USD"], "1h", 2, now=NOW)
    with pytest.raises(StaleData) as err:
        require_fresh(windows, 2)
    msg = str(err.value)
    assert "ETH/USD 1h: last bar 2025-03-07 11:00 UTC, 73.5 h old" in msg
    assert "2 x 1h = 2 h" in msg and "BTC/USD" not in msg
    require_fresh(windows[:1], 2)  # BTC alone is fresh: no error
    # The limit is exclusive of the boundary: 2.0 h old at a 2-bar limit is still fresh.
    (edge,) = data_window(store, "alpaca", ["BTC/USD"], "1h", 2, now=datetime(2025, 3, 10, 13, tzinfo=UTC))
    assert edge.age_h == pytest.approx(2.0) and not edge.stale
