"""Returns of TOTAL equity, hand-computed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cappuccino_core.metrics import (
    annualized_return,
    equity_from_returns,
    log_returns,
    mark_to_market,
    simple_returns,
    total_return,
)

EQUITY = [100.0, 110.0, 99.0, 108.9]


def test_simple_returns_hand_example() -> None:
    # 110/100 - 1 = 0.1; 99/110 - 1 = -0.1; 108.9/99 - 1 = 0.1
    np.testing.assert_allclose(simple_returns(EQUITY), [0.1, -0.1, 0.1], rtol=1e-12)


def test_log_returns_hand_example() -> None:
    np.testing.assert_allclose(log_returns(EQUITY), [math.log(1.1), math.log(0.9), math.log(1.1)], rtol=1e-12)


def test_total_return_hand_example() -> None:
    # 108.9 / 100 - 1 = 0.089
    assert total_return(EQUITY) == pytest.approx(0.089, rel=1e-12)


def test_returns_are_relative_not_dollar_differences() -> None:
    # The predecessor's bot "returns" were dollar differences: [10, -11, 9.9]. Ours are fractions and do not
    # depend on the account size.
    np.testing.assert_allclose(simple_returns(np.array(EQUITY) * 1000), simple_returns(EQUITY), rtol=1e-12)
    assert not np.allclose(simple_returns(EQUITY), np.diff(EQUITY))


def test_mark_to_market_counts_holdings_not_cash_alone() -> None:
    # Bar 0: 100 cash. Bar 1: bought 1 coin at 50 -> cash 50, coin now worth 60 -> equity 110.
    # Cash alone fell 50% (the predecessor's dashboard showed such a "return"); equity rose 10%.
    cash = np.array([100.0, 50.0])
    qty = np.array([[0.0], [1.0]])
    prices = np.array([[50.0], [60.0]])
    equity = mark_to_market(cash, qty, prices)
    np.testing.assert_allclose(equity, [100.0, 110.0])
    assert simple_returns(equity)[0] == pytest.approx(0.10)
    assert simple_returns(cash)[0] == pytest.approx(-0.50)


def test_annualized_return_is_cagr_over_bars() -> None:
    # 4 bars a year, +5% per bar for 4 bars = one year: 1.05**4 - 1 = 0.21550625
    equity = 100 * 1.05 ** np.arange(5)
    assert annualized_return(equity, 4) == pytest.approx(0.21550625, rel=1e-12)
    # 1h: 8766 bars a year; +0.001% per bar over a full year compounds to 1.00001**8766 - 1
    hourly = 1.00001 ** np.arange(8767)
    assert annualized_return(hourly, "1h") == pytest.approx(1.00001**8766 - 1, rel=1e-9)


def test_wiped_out_account() -> None:
    # Equity hits 0: the return of that bar is -100%, later bars have nothing left to change.
    np.testing.assert_allclose(simple_returns([100.0, 0.0, 0.0]), [-1.0, 0.0])
    assert log_returns([100.0, 0.0, 0.0])[0] == -np.inf
    assert annualized_return([100.0, 0.0, 0.0], 2) == -1.0


@pytest.mark.parametrize(
    "bad, msg",
    [
        ([100.0, np.nan, 101.0], "non-finite"),
        ([100.0, -1.0], "negative"),
        ([0.0, 1.0], "start"),
        ([1.0], "at least"),
    ],
)
def test_bad_equity_raises(bad: list[float], msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        simple_returns(bad)


def test_batched_rows_match_single() -> None:
    rng = np.random.default_rng(3)
    eq = 100 * np.cumprod(1 + rng.normal(0, 0.01, (4, 50)), axis=1)
    batched = simple_returns(eq)
    assert batched.shape == (4, 49)
    for i in range(4):
        np.testing.assert_allclose(batched[i], simple_returns(eq[i]))
    np.testing.assert_allclose(total_return(eq), [total_return(row) for row in eq])


def test_equity_from_returns_inverts_simple_returns() -> None:
    np.testing.assert_allclose(equity_from_returns(simple_returns(EQUITY), start=100.0), EQUITY, rtol=1e-12)
    with pytest.raises(ValueError):
        equity_from_returns([-1.5])


def test_dataframes_are_refused_not_misread() -> None:
    import polars as pl

    with pytest.raises(TypeError, match="DataFrame"):
        simple_returns(pl.DataFrame({"equity": EQUITY}))
    np.testing.assert_allclose(simple_returns(pl.Series(EQUITY)), [0.1, -0.1, 0.1])
