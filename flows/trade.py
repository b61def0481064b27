"""Trade: one bar of the production model (paper by default); the emergency stop wins."""

from __future__ import annotations

from prefect import flow

from tasks.common import emergency_stopped, settings_for
from tasks.stages import trade_tick


@flow(name="trade")
def trade(config: str | None = None, dry_run: bool = False, confirm_live: bool = False) -> str:
    """One bar of the production model; the emergency stop wins.

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        dry_run: Say what would be traded, on which broker and with how much capital, without trading.
        confirm_live: The explicit confirmation a real-money broker needs (with trading.live_enabled and
            the live role); without it a live broker is refused.
    """
    settings = settings_for(config)
    if emergency_stopped(settings):
        return "halted: emergency stop"
    try:
        return trade_tick(settings, dry_run, confirm_live)
    except Exception as exc:  # tell the operators, then fail the run as before
        from cappuccino_core.notify.events import trader_error
        from tasks.notify import notify_safely

        notify_safely(settings, trader_error("flow:trade", f"{type(exc).__name__}: {exc}"))
        raise
