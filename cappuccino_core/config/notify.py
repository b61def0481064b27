"""Notification settings: targets (their URLs are secrets, named here, read from the environment or a Prefect
Secret block), which events go where, the rate limit and the deduplication window.

The section sits in :class:`cappuccino_core.config.Settings` as ``notify``. A target's apprise URL never
appears in the configuration: ``url_env`` names the environment variable holding it, ``secret_block`` the
Prefect Secret block (read by the flow layer only).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from cappuccino_core.config.base import Section

EventKind = Literal[
    "gate_passed",
    "gate_failed",
    "promotion",
    "demotion",
    "emergency_stop",
    "degradation",
    "trader_error",
    "missed_heartbeat",
    "stale_data",
    "daily_summary",
    "retrain_triggered",
    "high_tier_signal",
]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)


def _all_events() -> list[EventKind]:
    return list(EVENT_KINDS)


def _stop_only() -> list[EventKind]:
    return ["emergency_stop"]


class TargetConfig(Section):
    """One destination. ``kind`` is documentation and a check on the URL's scheme; the URL is a secret."""

    name: str = Field(..., min_length=1, description="label used in logs and the notification table")
    kind: Literal["discord", "telegram", "email", "desktop", "json", "other"] = Field(
        ..., description="discord | telegram | email | desktop | json (webhook) | other apprise URL"
    )
    url_env: str | None = Field(None, description="environment variable holding the apprise URL")
    secret_block: str | None = Field(None, description="Prefect Secret block holding the apprise URL")
    events: list[EventKind] = Field(
        default_factory=_all_events, description="events sent to this target (default: all)"
    )

    @model_validator(mode="after")
    def _has_source(self) -> TargetConfig:
        if not self.url_env and not self.secret_block and self.kind != "desktop":
            raise ValueError(f"target {self.name!r}: set url_env or secret_block (its URL is a secret)")
        return self


class NotifyConfig(Section):
    """``[notify]``: notification targets (their URLs are secrets), rate limit, dedupe and heartbeats."""

    enabled: bool = Field(True, description="send notifications (recorded in the state store either way)")
    targets: list[TargetConfig] = Field(default_factory=list, description="where notifications go")
    rate_limit: int = Field(
        20, ge=1, description="at most this many deliveries per event kind per rate_window_s"
    )
    rate_window_s: float = Field(3600.0, gt=0, description="window of the rate limit (seconds)")
    dedupe_window_s: float = Field(
        3600.0, ge=0, description="an event with the same kind and key inside this window is not re-sent"
    )
    always_deliver: list[EventKind] = Field(
        default_factory=_stop_only,
        description="event kinds exempt from the rate limit (still deduplicated)",
    )
    timeout_s: float = Field(5.0, gt=0, description="connect/read timeout of one delivery (seconds)")
    heartbeat_max_age_s: float = Field(
        7200.0, gt=0, description="a trader heartbeat older than this is a missed heartbeat"
    )
    daily_summary_hour_utc: int = Field(
        7, ge=0, le=23, description="the monitor sends the daily summary on its first run at/after this hour"
    )
