from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cappuccino_core.trading.brokers.client_ids import client_order_id, leg_id


def test_deterministic_short_and_distinct() -> None:
    a = client_order_id("run", 1_700_000_000_000_000_000, "BTC/USD", "buy")
    assert a == client_order_id("run", 1_700_000_000_000_000_000, "BTC/USD", "buy")
    assert a != client_order_id("run", 1_700_000_000_000_000_000, "BTC/USD", "sell")
    assert a.startswith("cap-") and len(a) == 28


def test_legs_and_bad_input() -> None:
    p = client_order_id("r", 1, "BTC/USD", "buy")
    assert [leg_id(p, 0), leg_id(p, 2), leg_id(p, 0, "t")] == [f"{p}-m0", f"{p}-m2", f"{p}-t"]
    with pytest.raises(ValueError, match="run_id"):
        client_order_id("", 1, "BTC/USD", "buy")
    with pytest.raises(ValueError, match="longer"):
        client_order_id("r", 1, "BTC/USD", "buy", prefix="x" * 50, digest_chars=24)


@given(st.text(min_size=1), st.integers(0, 2**62), st.text(min_size=1))
def test_ids_fit_venue_limits(run: str, t: int, asset: str) -> None:
    cid = client_order_id(run, t, asset, "buy")
    assert len(leg_id(cid, 19)) <= 64 and cid.isascii()
