"""A live tick reads only the newest bars (data.market.load_bars(last_bars=...)): the same bars as the tail of
a full read, at a size that does not grow with the stored history."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.data.market import load_aligned


@pytest.mark.parametrize("tf", ["1h", "4h"])
def test_tail_read_equals_the_tail_of_a_full_read(settings, tf: str) -> None:
    full = load_aligned(settings, tf, source="sample")
    tail = load_aligned(settings, tf, source="sample", last_bars=100)
    n = tail.n_bars
    assert 100 <= n <= 2 * 100 + 3 < full.n_bars  # bounded: ~2x the bars asked for, never the history
    assert np.array_equal(tail.times_ns(), full.times_ns()[-n:])
    for col in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(tail.array(col)[-100:], full.array(col)[-100:]), col
