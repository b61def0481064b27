"""Decimal rounding to a venue increment: never up, never exponent form (property tests)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cappuccino_core.trading.brokers.decimals import ceil_to, dec, floor_to, on_step, plain

STEPS = st.sampled_from(
    [Decimal("0.00000001"), Decimal("0.000001"), Decimal("0.0001"), Decimal("0.01"), Decimal("1")]
)
QTY = st.floats(min_value=1e-12, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(QTY, STEPS)
def test_floor_is_on_step_never_above_and_within_one_step(x: float, step: Decimal) -> None:
    d = floor_to(x, step)
    assert on_step(d, step) and d <= dec(x) < d + step
    s = plain(d)
    assert "e" not in s.lower() and Decimal(s) == d and float(s) <= x


@given(QTY, STEPS)
def test_ceil_is_on_step_never_below(x: float, step: Decimal) -> None:
    d = ceil_to(x, step)
    assert on_step(d, step) and d - step < dec(x) <= d
