"""Setting or clearing the emergency stop, with its notification (every caller goes through here: the CLI,
the dashboard's stop control)."""

from __future__ import annotations

from cappuccino_core.notify.events import emergency_stop
from cappuccino_core.notify.notifier import Notifier
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore


def set_emergency_stop(
    store: StateStore, active: bool, who: str, reason: str, notifier: Notifier | None = None
) -> None:
    """Set (``active``) or clear the stop flag (audited by the store), then tell the operators."""
    store.set_flag(EMERGENCY_STOP, active, who, reason)
    if notifier is not None:
        notifier.notify(emergency_stop(active, who, reason))
