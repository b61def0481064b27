"""Hypothesis properties of the metrics."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cappuccino_core.metrics import (
    bar_win_rate,
    drawdown_series,
    equity_from_returns,
    max_drawdown,
    max_drawdown_duration,
    probabilistic_sharpe_ratio,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
    trade_win_rate,
)

returns_1d = arrays(
    np.float64, st.integers(3, 200), elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False)
)
positive_equity = arrays(
    np.float64, st.integers(2, 200), elements=st.floats(1e-3, 1e6, allow_nan=False, allow_subnormal=False)
)


@given(returns_1d, st.floats(1e-3, 1e6))
def test_sharpe_is_invariant_to_scaling_equity(r: np.ndarray, c: float) -> None:
    eq = equity_from_returns(r, start=1.0)
    a = sharpe_ratio(simple_returns(eq), "1h")
    b = sharpe_ratio(simple_returns(eq * c), "1h")
    if np.isfinite(a):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)
    a2, b2 = sortino_ratio(simple_returns(eq), "1h"), sortino_ratio(simple_returns(eq * c), "1h")
    if np.isfinite(a2):
        np.testing.assert_allclose(b2, a2, rtol=1e-6, atol=1e-9)


@given(positive_equity)
def test_drawdown_in_minus_one_zero(eq: np.ndarray) -> None:
    dd = drawdown_series(eq)
    assert np.all(dd <= 0) and np.all(dd >= -1)
    assert -1 <= max_drawdown(eq) <= 0
    assert 0 <= max_drawdown_duration(eq) <= len(eq) - 1


@given(returns_1d)
def test_bar_win_rate_in_unit_interval(r: np.ndarray) -> None:
    assert 0.0 <= bar_win_rate(r) <= 1.0


@given(returns_1d)
def test_psr_in_unit_interval(r: np.ndarray) -> None:
    p = probabilistic_sharpe_ratio(r)
    assert np.isnan(p) or 0.0 <= p <= 1.0


@st.composite
def long_only_ledgers(draw: st.DrawFn) -> dict[str, list]:
    """Random valid ledgers: a sell never exceeds what is held."""
    n = draw(st.integers(1, 40))
    held = {"A": 0.0, "B": 0.0}
    rows = []
    for t in range(n):
        a = draw(st.sampled_from(["A", "B"]))
        price = draw(st.floats(0.5, 200.0))
        fee = draw(st.floats(0.0, 2.0))
        if held[a] > 1e-6 and draw(st.booleans()):
            q = held[a] * draw(st.floats(0.01, 1.0))
            side = "sell"
            held[a] -= q
        else:
            q = draw(st.floats(0.01, 10.0))
            side = "buy"
            held[a] += q
        rows.append((t, a, side, q, price, fee))
    cols = ["time", "asset", "side", "quantity", "price", "fee"]
    return {c: [r[i] for r in rows] for i, c in enumerate(cols)}


@settings(max_examples=60)
@given(long_only_ledgers())
def test_trade_win_rate_in_unit_interval(led: dict[str, list]) -> None:
    w = trade_win_rate(led)
    assert np.isnan(w) or 0.0 <= w <= 1.0


@given(returns_1d)
def test_equity_round_trip(r: np.ndarray) -> None:
    np.testing.assert_allclose(simple_returns(equity_from_returns(r)), r, atol=1e-9)


@settings(max_examples=30)
@given(arrays(np.float64, (3, 50), elements=st.floats(-0.2, 0.2, allow_nan=False, allow_subnormal=False)))
def test_batched_equals_rowwise(r: np.ndarray) -> None:
    np.testing.assert_array_equal(sharpe_ratio(r, "1h"), [sharpe_ratio(row, "1h") for row in r])


def test_returns_that_differ_only_by_rounding_have_no_dispersion() -> None:
    # hypothesis found it: returns of -2.6e-15 from a curve scaled by 3 differ by 1e-16 (rounding); the
    # Sharpe is the constant-return case (non-finite) whatever the scale, never an arbitrary -93.
    r = np.full(3, -2.58338222e-15)
    eq = equity_from_returns(r, start=1.0)
    for c in (1.0, 3.0):
        assert not np.isfinite(sharpe_ratio(simple_returns(eq * c), "1h"))
