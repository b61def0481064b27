"""Notifications (apprise: Discord, Telegram, email, desktop, webhooks): events, delivery, secrets."""

from cappuccino_core.notify import events
from cappuccino_core.notify.events import Event
from cappuccino_core.notify.notifier import (
    AppriseNotifier,
    Notifier,
    NullNotifier,
    notifier_from_settings,
    recent_notifications,
)
from cappuccino_core.notify.secrets import env_resolver, mask

__all__ = [
    "AppriseNotifier",
    "Event",
    "Notifier",
    "NullNotifier",
    "env_resolver",
    "events",
    "mask",
    "notifier_from_settings",
    "recent_notifications",
]
