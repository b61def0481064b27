"""The hourly trader's venue: real money only with live enabled AND the production model holding the live
role with capital; the paper broker otherwise."""

from __future__ import annotations

import pytest

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.trading.routing import hourly_broker


@pytest.mark.parametrize(
    ("enabled", "live_model", "fraction", "expected"),
    [
        (True, "prod", 0.25, "coinbase"),
        (False, "prod", 0.25, "alpaca-paper"),  # not enabled
        (True, "other", 0.25, "alpaca-paper"),  # another model holds live
        (True, None, 0.0, "alpaca-paper"),  # nobody holds live
        (True, "prod", 0.0, "alpaca-paper"),  # no capital yet
    ],
)
def test_hourly_broker(enabled: bool, live_model: str | None, fraction: float, expected: str) -> None:
    cfg = TradingConfig(live_enabled=enabled)
    assert hourly_broker(cfg, "prod", live_model, fraction) == expected
    assert hourly_broker(TradingConfig(broker="sim"), "prod", "prod", 1.0) == "sim"
