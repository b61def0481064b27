"""Zero-cost equity and cost share, hand-computed."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.metrics import cost_share, zero_cost_equity


def test_zero_cost_equity_refunds_the_costs_paid_so_far() -> None:
    equity = np.array([100.0, 99.0, 101.0, 100.5])
    fees = np.array([0.0, 0.5, 0.2, 0.0])
    slip = np.array([0.0, 0.1, 0.0, 0.3])
    assert zero_cost_equity(equity, fees, slip) == pytest.approx([100.0, 99.6, 101.8, 101.6])
    assert cost_share(fees, slip, 100.0) == pytest.approx(0.011)


def test_bad_inputs_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="must match equity"):
        zero_cost_equity(np.ones(3), np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="finite and >= 0"):
        zero_cost_equity(np.ones(2), np.array([0.0, np.nan]), np.zeros(2))
    with pytest.raises(ValueError, match="starting equity"):
        cost_share(np.zeros(2), np.zeros(2), 0.0)
