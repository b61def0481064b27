"""The trading page's win rate of a session whose venue kept each buy's fee in the coin (Alpaca): it matches
sells against the quantity held, as the paper session's replay report does (``trade_metrics`` with
``fee_in_kind``), not against the gross bought quantity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cappuccino_core.dashboard.sources import Sources
from cappuccino_core.dashboard.trading import trading_view
from cappuccino_core.state.schema import EquitySnapshot, FillRow, OrderRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.loop.metrics import trade_metrics
from cappuccino_core.venues import fee_in_kind, get_venue
from tests.unit.dashboard.conftest import temp_settings

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SESSION = "paper-1-ab"
# (side, qty, price, fee in quote): each buy's 0.1% fee kept as 0.01 units, the sells sell what is held
FILLS = [
    ("buy", 10.0, 100.0, 1.0),
    ("sell", 9.99, 100.5, 0.0),
    ("buy", 10.0, 50.0, 0.5),
    ("sell", 9.99, 50.1, 0.0),
]


def _session(store: StateStore, broker: str) -> None:
    with store.session() as s:
        for i, (side, qty, price, fee) in enumerate(FILLS):
            ts = T0 + timedelta(minutes=5 * i)
            order = dict(model_run_id=SESSION, bar_time=ts, order_type="market", status="filled")
            s.add(OrderRow(client_order_id=f"c{i}", broker=broker, asset="BTC/USD", side=side, qty=qty,
                           **order))  # fmt: skip
            s.add(FillRow(broker=broker, trade_id=f"t{i}", client_order_id=f"c{i}", asset="BTC/USD",
                          side=side, qty=qty, price=price, fee=fee, liquidity="TAKER", ts=ts))  # fmt: skip
            s.add(EquitySnapshot(broker=broker, model_run_id=SESSION, ts=ts, equity=1000.0 + i, cash=1000.0))


def test_the_page_counts_an_alpaca_session_net_of_the_fee_kept_in_kind(tmp_path: Path) -> None:
    src = Sources(temp_settings(tmp_path))
    _session(src.store, "alpaca-paper")
    view = trading_view(src)
    replay = trade_metrics(src.store, "alpaca-paper", SESSION, "5m", fee_in_kind=True)  # as the report does
    # held 9.99 each time: trip 1 = 9.99 x 0.5 - 1.0 = +3.995, trip 2 = 9.99 x 0.1 - 0.5 = +0.499: both win
    assert view.metrics["round_trips"] == replay["round_trips"] == 2
    assert view.metrics["win_rate"] == replay["win_rate"] == 1.0
    # on the gross quantity trip 2 would eat the 0.01 left of the first buy at 100 and lose (0.5)
    assert trade_metrics(src.store, "alpaca-paper", SESSION, "5m")["win_rate"] == 0.5


def test_a_venue_charging_in_the_quote_currency_is_counted_gross(tmp_path: Path) -> None:
    src = Sources(temp_settings(tmp_path))
    _session(src.store, "coinbase")  # the same fills where the fee was paid in USD: 10 units were held
    assert trading_view(src).metrics["win_rate"] == 0.5


@pytest.mark.parametrize(
    ("broker", "expected"), [("alpaca-paper", True), ("alpaca", True), ("coinbase", False), ("sim", False),
                             ("arena-sim-account", False)]
)  # fmt: skip
def test_fee_in_kind_by_broker_name(broker: str, expected: bool) -> None:
    assert fee_in_kind(broker) is expected


def test_each_venue_says_what_its_broker_does() -> None:
    from cappuccino_core.venues.alpaca.broker import AlpacaPaperBroker
    from cappuccino_core.venues.coinbase.broker import CoinbaseBroker
    from cappuccino_core.venues.sim.broker import SimBroker

    for cls in (AlpacaPaperBroker, CoinbaseBroker):
        assert get_venue(cls.name).fee_in_kind is cls.fee_in_kind
    assert get_venue("sim").fee_in_kind is SimBroker.fee_in_kind
