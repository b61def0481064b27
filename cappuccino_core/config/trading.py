"""Trading settings (owned by the trading stage; add fields with a description each)."""

from __future__ import annotations

from cappuccino_core.config.base import Section


class TradingConfig(Section):
    pass
