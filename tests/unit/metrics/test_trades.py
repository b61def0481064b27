"""FIFO round trips (fees included), win rates, turnover, fees."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cappuccino_core.metrics import (
    Ledger,
    annualized_turnover,
    bar_win_rate,
    fees_paid,
    round_trips,
    stats_by_asset,
    trade_win_rate,
    turnover,
)


def _ledger(rows: list[tuple]) -> dict[str, list]:
    cols = ["time", "asset", "side", "quantity", "price", "fee", "liquidity"]
    return {c: [r[i] for r in rows] for i, c in enumerate(cols)}


FIFO = _ledger(
    [
        (0, "BTC/USD", "buy", 1.0, 100.0, 1.0, "taker"),
        (1, "BTC/USD", "buy", 1.0, 110.0, 1.1, "taker"),
        (2, "BTC/USD", "sell", 1.5, 120.0, 1.8, "maker"),
        (3, "BTC/USD", "sell", 0.5, 105.0, 0.525, "taker"),
    ]
)


def test_fifo_hand_example() -> None:
    # Sell 1.5 @120 matches the whole first lot (1 @100) and half the second (0.5 @110):
    #   cost = 100 + 55 = 155, buy fees = 1.0 + 1.1 * 0.5 = 1.55, sell fee 1.8
    #   pnl = 180 - 155 - 1.8 - 1.55 = 21.65; entry price = 155 / 1.5
    # Sell 0.5 @105 matches the rest of the second lot:
    #   pnl = 52.5 - 55 - 0.525 - 0.55 = -3.575
    rt = round_trips(FIFO)
    assert len(rt) == 2
    np.testing.assert_allclose(rt.pnl, [21.65, -3.575], rtol=1e-12)
    np.testing.assert_allclose(rt.entry_price, [155 / 1.5, 110.0])
    np.testing.assert_allclose(rt.fees, [3.35, 1.075])
    np.testing.assert_allclose(rt.ret, [21.65 / 155, -3.575 / 55])
    assert rt.open_quantity == {"BTC/USD": 0.0}
    assert trade_win_rate(FIFO) == 0.5


def test_fees_turn_a_price_winner_into_a_loser() -> None:
    # Bought at 100, sold at 101 (+1 on price) but paid 1.2% taker both ways: 1.2 + 1.212 -> net -1.412.
    led = _ledger(
        [(0, "ETH/USD", "BUY", 1.0, 100.0, 1.2, "TAKER"), (1, "ETH/USD", "SELL", 1.0, 101.0, 1.212, "TAKER")]
    )
    rt = round_trips(led)
    assert rt.pnl[0] == pytest.approx(-1.412)
    assert trade_win_rate(led) == 0.0


def test_assets_are_matched_separately_and_in_time_order() -> None:
    # Given out of time order; the ETH sell must match the ETH buy, not the earlier BTC buy.
    led = _ledger(
        [
            (3, "ETH/USD", "sell", 2.0, 12.0, 0.0, "maker"),
            (0, "BTC/USD", "buy", 1.0, 100.0, 0.0, "maker"),
            (1, "ETH/USD", "buy", 2.0, 10.0, 0.0, "maker"),
        ]
    )
    rt = round_trips(led)
    assert list(rt.asset) == ["ETH/USD"]
    assert rt.pnl[0] == pytest.approx(4.0)
    assert rt.open_quantity == {"BTC/USD": 1.0, "ETH/USD": 0.0}
    assert rt.open_time is not None and rt.open_time[0] == np.datetime64(1, "ns")


def test_oversell_raises() -> None:
    led = _ledger(
        [(0, "BTC/USD", "buy", 1.0, 100.0, 0.0, "taker"), (1, "BTC/USD", "sell", 1.5, 100.0, 0.0, "taker")]
    )
    with pytest.raises(ValueError, match="exceeds the open position"):
        round_trips(led)


def test_rounding_residue_is_tolerated() -> None:
    led = _ledger(
        [
            (0, "BTC/USD", "buy", 0.1 + 0.2, 100.0, 0.0, "taker"),
            (1, "BTC/USD", "sell", 0.3, 100.0, 0.0, "taker"),
        ]
    )
    rt = round_trips(led)
    assert len(rt) == 1 and rt.open_quantity["BTC/USD"] == pytest.approx(0.0, abs=1e-12)


def test_no_closed_trip_gives_nan_win_rate() -> None:
    assert math.isnan(trade_win_rate(_ledger([(0, "BTC/USD", "buy", 1.0, 100.0, 0.0, "taker")])))


def test_polars_pandas_and_dict_agree() -> None:
    times = pd.date_range("2025-01-01", periods=4, freq="h", tz="UTC")
    d = dict(FIFO, time=list(times))
    pdf = pd.DataFrame(d)
    naive = times.tz_localize(None).to_numpy()
    pldf = pl.DataFrame({**FIFO, "time": pl.Series(naive).dt.replace_time_zone("UTC")})
    for obj in (d, pdf, pldf):
        rt = round_trips(obj)
        np.testing.assert_allclose(rt.pnl, [21.65, -3.575], rtol=1e-12)
        assert rt.close_time is not None and rt.close_time[0] == np.datetime64("2025-01-01T02:00", "ns")


@pytest.mark.parametrize(
    "col, value, msg",
    [
        ("side", "hold", "buy/sell"),
        ("quantity", -1.0, "quantity"),
        ("price", 0.0, "price"),
        ("fee", np.nan, "fee"),
    ],
)
def test_bad_ledger_rows_raise(col: str, value: object, msg: str) -> None:
    d = {k: list(v) for k, v in FIFO.items()}
    d[col][1] = value
    with pytest.raises(ValueError, match=msg):
        Ledger.from_any(d)


def test_missing_column_raises() -> None:
    with pytest.raises(ValueError, match="fee"):
        Ledger.from_any({k: v for k, v in FIFO.items() if k != "fee"})


def test_bar_win_rate_counts_flat_bars_as_not_won() -> None:
    assert bar_win_rate([0.1, -0.1, 0.1, 0.0]) == 0.5
    np.testing.assert_allclose(bar_win_rate(np.array([[0.1, 0.2], [0.0, -0.1]])), [1.0, 0.0])


def test_turnover_and_fees() -> None:
    # Mean equity 1000; bought 500 and sold 500 of notional: turnover (both legs) = 1000 / 1000 = 1.0.
    led = _ledger(
        [(0, "BTC/USD", "buy", 5.0, 100.0, 6.0, "taker"), (1, "BTC/USD", "sell", 5.0, 100.0, 3.0, "maker")]
    )
    equity = [1000.0, 1000.0, 1000.0]
    assert turnover(led, equity) == pytest.approx(1.0)
    # Over 2 bars of 1d: per year x 365.25 / 2
    assert annualized_turnover(led, equity, "1d") == pytest.approx(365.25 / 2)
    assert fees_paid(led) == pytest.approx(9.0)
    st = stats_by_asset(led)["BTC/USD"]
    assert st["maker_fees"] == pytest.approx(3.0) and st["taker_fees"] == pytest.approx(6.0)
    assert st["round_trips"] == 1 and st["buys"] == 1 and st["sells"] == 1
