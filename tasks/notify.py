"""The notifier for flows: target URLs from the environment or from Prefect Secret blocks; progress
artifacts for long work. Core modules receive the notifier (and progress callback) as collaborators."""

from __future__ import annotations

import contextlib
from typing import Any

from cappuccino_core.config import Settings
from cappuccino_core.config.notify import TargetConfig
from cappuccino_core.notify import Notifier, env_resolver, notifier_from_settings


def prefect_resolver(target: TargetConfig) -> str | None:
    """The target's URL: its Prefect Secret block when named (and readable), else its environment variable."""
    if target.secret_block:
        try:
            from prefect.blocks.system import Secret

            block: Any = Secret.load(target.secret_block)
            value = block.get()
            if value:
                return str(value)
        except Exception:  # no such block / no API: fall back to the environment, never log the value
            pass
    return env_resolver(target)


def flow_notifier(settings: Settings) -> Notifier:
    """The notifier a flow hands to the core (state-store backed: dedupe and rate limit across runs)."""
    return notifier_from_settings(settings, prefect_resolver)


def notify_safely(settings: Settings, event: Any) -> None:
    """Send ``event``; nothing a notification does may fail the caller."""
    with contextlib.suppress(Exception):  # already logged (masked) by the notifier
        flow_notifier(settings).notify(event)
