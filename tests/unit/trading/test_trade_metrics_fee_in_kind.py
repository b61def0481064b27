"""Live trade metrics when the venue keeps a buy's fee in the asset received (Alpaca): round trips match
sells against the quantity held, so no phantom lot of ``fee / price`` is left to a later sell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cappuccino_core.state.schema import FillRow, OrderRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.loop.metrics import trade_metrics

T0 = datetime(2024, 1, 1, tzinfo=UTC)
# (side, qty, price, fee in quote): each buy's 0.1% fee kept as 0.01 units, the sells sell what is held
FILLS = [
    ("buy", 10.0, 100.0, 1.0),
    ("sell", 9.99, 100.5, 0.0),
    ("buy", 10.0, 50.0, 0.5),
    ("sell", 9.99, 50.1, 0.0),
]


@pytest.fixture()
def store(settings) -> StateStore:
    st = StateStore(settings.paths.state_url)
    with st.session() as s:
        for i, (side, qty, price, fee) in enumerate(FILLS):
            ts = T0 + timedelta(minutes=5 * i)
            order = dict(model_run_id="run", bar_time=ts, order_type="market", status="filled")
            s.add(OrderRow(client_order_id=f"c{i}", broker="alpaca", asset="BTC/USD", side=side, qty=qty,
                           **order))  # fmt: skip
            s.add(FillRow(broker="alpaca", trade_id=f"t{i}", client_order_id=f"c{i}", asset="BTC/USD",
                          side=side, qty=qty, price=price, fee=fee, liquidity="TAKER", ts=ts))  # fmt: skip
    return st


def test_round_trips_net_of_fees_kept_in_kind(store: StateStore) -> None:
    # held 9.99 each time: trip 1 = 9.99 x 0.5 - 1.0 = +3.995, trip 2 = 9.99 x 0.1 - 0.5 = +0.499
    net = trade_metrics(store, "alpaca", "run", "5m", fee_in_kind=True)
    assert net["round_trips"] == 2 and net["win_rate"] == 1.0
    # on the gross quantity trip 2 also eats the 0.01 left of the first buy at 100:
    # 9.99 x 50.1 - (0.01 x 100 + 9.98 x 50) - (0.001 + 0.499) = -0.001, a loss
    gross = trade_metrics(store, "alpaca", "run", "5m")
    assert gross["round_trips"] == 2 and gross["win_rate"] == 0.5
    assert net["volume"] == gross["volume"] == pytest.approx(10 * 100 + 9.99 * 100.5 + 10 * 50 + 9.99 * 50.1)
