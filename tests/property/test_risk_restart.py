"""Kill and restart: for any price path, action stream and kill points, a trader restarted from the state
store places the orders of an uninterrupted run, so no risk rule is breached more often (finding 2)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.trading.test_risk_persisted import run

N = 20


@settings(max_examples=8, deadline=None)
@given(
    rets=st.lists(st.floats(-0.08, 0.08), min_size=2 * N, max_size=2 * N),
    acts=st.lists(st.floats(-1, 1), min_size=2 * N, max_size=2 * N),
    kills=st.sets(st.integers(1, N - 1), max_size=N - 1),
)
def test_restarts_change_no_order(rets: list[float], acts: list[float], kills: set[int]) -> None:
    close = 100.0 * np.exp(np.cumsum(np.array(rets).reshape(N, 2), axis=0))
    actions = np.array(acts).reshape(N, 2)
    with tempfile.TemporaryDirectory() as d:
        straight = run(Path(d) / "a", close, actions, set())
        restarted = run(Path(d) / "b", close, actions, kills)
    assert restarted == straight
