"""Which broker the hourly trader uses for the production model: the paper broker, or the live venue.

Real money only when all three hold: ``trading.live_enabled``, the production model also holds the arena's
``live`` role, and that role has capital (the ramp's fraction > 0). Routing decides the venue only; the
broker factory's live guard still asks for the confirmation and the grant whatever routing says.
"""

from __future__ import annotations

from cappuccino_core.config.trading import TradingConfig


def hourly_broker(cfg: TradingConfig, production: str, live_model: str | None, live_fraction: float) -> str:
    """The broker name for one hourly tick of ``production`` (see the module docstring)."""
    if cfg.live_enabled and live_model == production and live_fraction > 0:
        return cfg.live_broker
    return cfg.broker
